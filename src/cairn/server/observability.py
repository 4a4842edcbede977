"""Prometheus metrics and one JSON access-log line per request, as pure ASGI middleware.

Metrics are labelled by route template (`/api/v1/runs/{run_id}`), never the raw path, so their number stays
bounded. Under several uvicorn workers `PROMETHEUS_MULTIPROC_DIR` is set (by `cairn.server.runtime`) before
any worker starts: each worker writes its samples there and `/metrics` on any worker reports the sum over all
of them. Without it, metrics live in a registry of their own per app.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cairn.server.errors import error_body

ACCESS_LOGGER = "cairn.server.access"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "X-Request-ID"
UNMATCHED_ROUTE = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

access_log = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger("cairn.server")


def multiprocess_mode() -> bool:
    """True when metrics are shared between worker processes through `PROMETHEUS_MULTIPROC_DIR`."""
    return bool(os.environ.get(MULTIPROC_ENV))


class ServerMetrics:
    """The Prometheus metrics of one app: requests, latency, requests in flight, database pool use."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        if self.multiprocess:
            retire_dead_workers(os.environ[MULTIPROC_ENV])
        self.registry = None if self.multiprocess else CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "cairn_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "cairn_http_request_duration_seconds",
            "Time from request to the end of the response.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "cairn_http_requests_in_flight",
            "HTTP requests being served.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "cairn_db_pool_size",
            "Connections the database pools keep (summed over workers).",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.pool_checked_out = Gauge(
            "cairn_db_pool_checked_out",
            "Database connections in use by requests (summed over workers).",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

    def watch_engine(self, engine: Engine) -> None:
        """Track the connection pool of a SQLAlchemy engine: its size and connections checked out."""
        size = getattr(engine.pool, "size", None)
        if callable(size):
            self.pool_size.inc(size())

        def checked_out(*_: object) -> None:
            self.pool_checked_out.inc()

        def checked_in(*_: object) -> None:
            self.pool_checked_out.dec()

        event.listen(engine, "checkout", checked_out)
        event.listen(engine, "checkin", checked_in)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        labels = (method if method in _METHODS else "OTHER", route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The metrics in Prometheus text format, and its content type."""
        if self.registry is not None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """Retire this process's live gauges (pool, in flight) when the worker exits."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def retire_dead_workers(folder: str) -> None:
    """Drop the live gauges left by workers that died without shutting down (a restarted worker's)."""
    for path in Path(folder).glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), folder)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def request_id_of(headers: Headers) -> str:
    """The client's `X-Request-ID` when it is a sane token, else a fresh one."""
    given = headers.get(REQUEST_ID_HEADER)
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The full path template of the route that served the request, or a fixed label when none matched.

    FastAPI hands over the route as declared in its router (`/runs/{run_id}`), without the prefix it was
    included under (`/api/v1`), and one route may be included under several prefixes. The prefix is the
    part of the path before the shortest tail the route's pattern matches: always a prefix of the static
    include prefix, so labels stay bounded whatever the client sends.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str) or not isinstance(pattern, re.Pattern):
        return UNMATCHED_ROUTE
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    start = 0
    while start != -1:
        if pattern.match(path[start:]):
            return path[:start] + template
        start = path.find("/", start + 1)
    return template


@dataclass
class _Exchange:
    """What was seen of one response."""

    status: int = 0
    bytes_sent: int = 0
    complete: bool = False


class ObservabilityMiddleware:
    """Times and counts every request, logs it as one JSON line and echoes its request id.

    It sits outside the error handlers, so it also sees (and logs) every refusal and every 500.
    """

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request through the app, recording what happened."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        exchange = _Exchange()

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            elif message["type"] == "http.response.body":
                exchange.bytes_sent += len(message.get("body", b""))
                exchange.complete = not message.get("more_body", False)
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            if exchange.complete:
                return  # the error handler already answered 500 and logged the failure
            if exchange.status:
                raise  # a response broke off midway: let the server drop the connection
            log.exception("request %s failed before any response (request id %s)", scope["path"], request_id)
            message = f"Internal error; quote request id {request_id} when reporting it"
            await JSONResponse(error_body("INTERNAL_ERROR", message), 500)(scope, receive, send_observed)
        finally:
            self.metrics.in_flight.dec()
            self._record(scope, exchange, request_id, time.perf_counter() - started)

    def _record(self, scope: Scope, exchange: _Exchange, request_id: str, seconds: float) -> None:
        route = route_template(scope)
        status = exchange.status or 500
        self.metrics.observe(scope["method"], route, status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(access_line(scope, route, status, seconds, exchange.bytes_sent, request_id))


def access_line(scope: Scope, route: str, status: int, seconds: float, size: int, request_id: str) -> str:
    """One access-log record as a JSON line."""
    client = scope.get("client")
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "method": scope["method"],
        "path": scope["path"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "bytes": size,
        "request_id": request_id,
        "client": f"{client[0]}:{client[1]}" if client else None,
    }
    return json.dumps(record, separators=(",", ":"))
