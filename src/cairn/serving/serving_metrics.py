"""Prometheus metrics of one scoring app: requests, latency and prediction errors, by route and model version.

Every app owns its own `CollectorRegistry`, so several apps in one process never share counters. The
`MetricsMiddleware` records each request when its last body chunk is sent, so a client that has read a
response can already see it counted.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "unmatched"
UNVERSIONED = "unversioned"


BATCH_ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class ServingMetrics:
    """The metrics of one scoring app, in a registry of their own.

    Attributes:
        registry: The registry `/metrics` renders.
        model_version: The label value every series carries (`"unversioned"` when unknown).
    """

    def __init__(self, model_version: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.model_version = model_version or UNVERSIONED
        self._requests = Counter(
            "cairn_serving_requests",
            "HTTP requests answered, by route template, status code and model version.",
            ("route", "status", "model_version"),
            registry=self.registry,
        )
        self._latency = Histogram(
            "cairn_serving_request_seconds",
            "Time from receiving a request to sending its last byte, by route template and model version.",
            ("route", "model_version"),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self._prediction_errors = Counter(
            "cairn_serving_prediction_errors",
            "Scoring requests that failed: kind is bad_input (4xx) or model_error (the model raised).",
            ("kind", "model_version"),
            registry=self.registry,
        )

        self._batches = Counter(
            "cairn_serving_batches",
            "Micro-batches scored, by why they were released (full, timeout, alone, drain).",
            ("reason", "model_version"),
            registry=self.registry,
        )
        self._batch_rows = Histogram(
            "cairn_serving_batch_rows",
            "Rows per scored micro-batch.",
            ("model_version",),
            buckets=BATCH_ROW_BUCKETS,
            registry=self.registry,
        )
        self._batch_wait = Histogram(
            "cairn_serving_batch_wait_seconds",
            "How long the oldest request of a micro-batch waited before the batch was released.",
            ("model_version",),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    def observe_batch(self, reason: str, rows: int, requests: int, seconds: float) -> None:
        """Count one released micro-batch: why it was released, its rows and its oldest request's wait."""
        del requests  # the row count is what sizes a batch; requests are counted by route
        self._batches.labels(reason, self.model_version).inc()
        self._batch_rows.labels(self.model_version).observe(rows)
        self._batch_wait.labels(self.model_version).observe(seconds)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self._requests.labels(route, str(status), self.model_version).inc()
        self._latency.labels(route, self.model_version).observe(seconds)

    def count_prediction_error(self, kind: str) -> None:
        """Count one failed scoring request of `kind` ("bad_input" or "model_error")."""
        self._prediction_errors.labels(kind, self.model_version).inc()

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request into a `ServingMetrics`."""

    def __init__(self, app: ASGIApp, metrics: ServingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, recording it as its response completes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                self.metrics.observe_request(_route_of(scope), status, time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed_send)


def _route_of(scope: Scope) -> str:
    """The matched route's path template (bounded label values), or "unmatched"."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE
