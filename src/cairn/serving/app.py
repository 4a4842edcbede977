"""The scoring app: an ASGI application that answers health checks, metadata, metrics and predictions.

Routes: `GET /ping` and `GET /health` (200 once the model is loaded, which it is when the app exists),
`GET /version`, `GET /metadata`, `GET /metrics` (Prometheus text), `POST /invocations`, which speaks
MLflow's scoring protocol (see `cairn.serving.invocations_route`), and the Open Inference Protocol
(KServe v2, see `cairn.serving.oip_routes`). Errors are JSON `{"error_code", "message"}` (see
`cairn.serving.request_handling`, which also holds how a request is scored). `create_scoring_app` wires
them: the model slot (swappable while the app serves, see `cairn.serving.alias_follower`), an optional
`TrafficRouter` (see `cairn.serving.traffic`), whose requests `/metrics` counts by who answered, and
optional micro-batching, with a batcher for each arm so a batch never mixes the two models.
"""

from __future__ import annotations

import platform
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Lifespan

import cairn
from cairn.errors import InvalidArgument
from cairn.serving.batching import MicroBatcher, ReleaseCallback
from cairn.serving.events import EventRecorder
from cairn.serving.inline_gate import INLINE_LIMIT_S, InlineGate
from cairn.serving.invocations_route import invocations_route
from cairn.serving.model_slot import ModelSlot, SlotEntry
from cairn.serving.oip_routes import oip_routes
from cairn.serving.request_handling import BAD_REQUEST, Served, error_response
from cairn.serving.serving_metrics import UNVERSIONED, MetricsMiddleware, ServingMetrics

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.serving.alias_follower import AliasFollower, RegistryEventRecorder
    from cairn.serving.traffic import TrafficRouter

__all__ = [
    "BAD_REQUEST",
    "DEFAULT_INLINE_LIMIT_MS",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MODEL_NAME",
    "BatchingOptions",
    "create_scoring_app",
    "error_response",
]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_INLINE_LIMIT_MS = INLINE_LIMIT_S * 1000
DEFAULT_MODEL_NAME = "model"


@dataclass(frozen=True)
class BatchingOptions:
    """Adaptive micro-batching of `/invocations` requests whose input is a table.

    Attributes:
        max_batch_size: Most rows scored together.
        max_wait_ms: Longest a request waits for others to join its batch.
        max_queue: Requests waiting at most; beyond it the server answers 503.
    """

    max_batch_size: int = 64
    max_wait_ms: float = 2.0
    max_queue: int = 10_000


def create_scoring_app(
    model: LoadedModel | ModelSlot,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    model_name: str = DEFAULT_MODEL_NAME,
    model_uri: str | None = None,
    model_version: str | None = None,
    batching: BatchingOptions | None = None,
    events: EventRecorder | None = None,
    follower: AliasFollower | None = None,
    router: TrafficRouter | None = None,
    registry_events: RegistryEventRecorder | None = None,
    inline_limit_ms: float = DEFAULT_INLINE_LIMIT_MS,
) -> Starlette:
    """An app serving `model`: health checks, version, metadata, metrics and both scoring protocols.

    Args:
        model: The loaded model every request is scored with, or a `ModelSlot` whose current model each
            request is scored with (the slot carries the version; `model_version` is then ignored).
        max_body_bytes: Largest request body accepted; larger ones get 413 before the model sees them.
        model_name: The name the Open Inference Protocol routes answer to (`/v2/models/{name}`).
        model_uri: Where the model came from, shown by `/metadata`.
        model_version: The registered version, shown by `/metadata` and labelling every metric.
        batching: Group concurrent `/invocations` requests into batches (None: score each alone).
        events: Where every prediction is recorded (off the request path); closed when the app stops.
        follower: Keeps the slot on the version a registry alias points at; started when the app starts and
            stopped when it stops (needs `model` to be that follower's `ModelSlot`).
        router: Routes `/invocations` and infer requests between a champion and a challenger (needs `model`
            to be the router's champion slot); with `batching`, the challenger's slot gets a micro-batcher of
            its own. Closed when the app stops.
        registry_events: Where the follower's swaps and the router's decisions are recorded in the registry's
            audit trail (the caller wires them); its counts show in `/metrics`; closed when the app stops.
        inline_limit_ms: A small JSON request (without batching) or a whole batch (with it) is scored on
            the event loop instead of a worker thread while the model's average time for that work is at
            most this (see `cairn.serving.inline_gate`); 0 always uses a thread.
    """
    if not inline_limit_ms >= 0:
        raise InvalidArgument(f"inline_limit_ms must be zero or more, got {inline_limit_ms}")
    if max_body_bytes < 1:
        raise InvalidArgument(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    if not model_name or "/" in model_name:
        raise InvalidArgument(f"model_name must be a non-empty name without '/', got {model_name!r}")
    slot = model if isinstance(model, ModelSlot) else ModelSlot(model, model_version)
    if follower is not None and follower.slot is not slot:
        raise InvalidArgument("follower must follow the ModelSlot the app serves (pass that slot as model)")
    _check_router(router, slot)
    metrics = ServingMetrics(slot.current().version)
    prepare = _entry_factory(batching, inline_limit_ms / 1000, metrics.observe_batch)
    slot.configure(prepare, lambda entry: _relabel(metrics, entry))
    served_by = _traffic_counters(router, metrics, batching)
    if registry_events is not None:
        metrics.registry.register(_RegistryEventCounts(registry_events))
    served = Served(
        slot,
        model_name,
        model_uri,
        max_body_bytes,
        metrics,
        events,
        follower,
        router,
        served_by,
        registry_events,
    )
    return Starlette(
        routes=[invocations_route(served), *_info_routes(served), *oip_routes(served)],  # busiest first
        middleware=[Middleware(MetricsMiddleware, metrics=metrics)],
        exception_handlers={HTTPException: _http_error},
        lifespan=_lifespan(served),
    )


def _check_router(router: TrafficRouter | None, slot: ModelSlot) -> None:
    if router is not None and router.champion is not slot:
        raise InvalidArgument(
            "router's champion must be the ModelSlot the app serves (pass that slot as model)"
        )


def _traffic_counters(
    router: TrafficRouter | None, metrics: ServingMetrics, batching: BatchingOptions | None
) -> Counter | None:
    """With a router: a counter of scored requests by who scored them (challenger shadow copies included).

    With batching, the challenger's slot gets a micro-batcher too; its batches are counted by release
    reason in a counter of their own (the champion's are the app's `cairn_serving_batches`).
    """
    if router is None:
        return None
    counter = Counter(
        "cairn_serving_traffic_requests",
        "Requests scored under a traffic policy, by who scored them (champion, challenger, shadow copies).",
        ("served_by",),
        registry=metrics.registry,
    )
    router.on_served = lambda served_by: counter.labels(served_by).inc()
    if batching is not None:
        batches = Counter(
            "cairn_serving_challenger_batches",
            "Micro-batches the challenger scored under a canary policy, by why they were released.",
            ("reason",),
            registry=metrics.registry,
        )
        router.challenger.configure(
            _entry_factory(batching, 0.0, lambda reason, *_: batches.labels(reason).inc())
        )
    return counter


class _RegistryEventCounts(Collector):
    """`cairn_serving_registry_events_total{outcome}`: swaps and decisions recorded, failed or dropped."""

    def __init__(self, recorder: RegistryEventRecorder) -> None:
        self._recorder = recorder

    def collect(self) -> Iterable[Metric]:
        """The recorder's counts now."""
        family = CounterMetricFamily(
            "cairn_serving_registry_events",
            "Serving decisions sent to the registry's audit trail, by outcome (recorded, failed, dropped).",
            labels=("outcome",),
        )
        for outcome, count in self._recorder.counts().items():
            family.add_metric((outcome,), count)
        yield family


def _entry_factory(
    batching: BatchingOptions | None, inline_limit_s: float, on_release: ReleaseCallback
) -> Callable[[LoadedModel, str | None], SlotEntry]:
    """How the slot turns a model into an entry: with its micro-batcher when the app batches.

    Either way the entry's work gets an inline gate (unless the limit is 0): requests (unbatched) or batches
    the model scores quickly then run on the event loop.
    """

    def prepare(model: LoadedModel, version: str | None) -> SlotEntry:
        gate = InlineGate(model.flavor, inline_limit_s) if inline_limit_s > 0 else None
        if batching is None:
            return SlotEntry(model, version, inline=gate)
        batcher = MicroBatcher(
            lambda data, params: model.predict(data, params=params),
            max_batch_size=batching.max_batch_size,
            max_wait_ms=batching.max_wait_ms,
            max_queue=batching.max_queue,
            on_release=on_release,
            inline=gate,
        )
        return SlotEntry(model, version, batcher)

    return prepare


def _relabel(metrics: ServingMetrics, entry: SlotEntry) -> None:
    """After a swap, new series carry the new version."""
    metrics.model_version = entry.version or UNVERSIONED


def _metadata(served: Served) -> dict[str, Any]:
    entry = served.slot.current()
    signature = entry.model.signature
    metadata = {
        "model_name": served.name,
        "model_uri": served.uri,
        "model_version": entry.version,
        "flavor": entry.model.flavor,
        "signature": None if signature is None else signature.to_dict(),
        "cairn_version": cairn.__version__,
    }
    if served.follower is not None:
        metadata["follow"] = served.follower.status()
    if served.router is not None:
        metadata["traffic"] = served.router.status()
    return metadata


def _info_routes(served: Served) -> list[Route]:
    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def version_info(request: Request) -> Response:
        return JSONResponse(_version_body(served.slot.current().model))

    async def model_info(request: Request) -> Response:
        return JSONResponse(_metadata(served))

    async def metrics_text(request: Request) -> Response:
        content, content_type = served.metrics.render()
        return Response(content, media_type=content_type)

    return [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version_info, methods=["GET"]),
        Route("/metadata", model_info, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]


def _lifespan(served: Served) -> Lifespan[Starlette]:
    """Start the alias follower with the app; on shutdown stop it, drain the batchers, flush the recorders."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if served.follower is not None:
            served.follower.start()
        try:
            yield
        finally:
            await _close(served)

    return lifespan


async def _close(served: Served) -> None:
    if served.follower is not None:  # first, so no swap happens while the batchers close
        await run_in_threadpool(served.follower.stop)
    await served.slot.close()
    if served.router is not None:
        await served.router.challenger.close()
        await run_in_threadpool(served.router.close)
    if served.events is not None:
        await run_in_threadpool(served.events.close)
    if served.registry_events is not None:  # last: a rollback decided while closing is still written
        await run_in_threadpool(served.registry_events.close)


def _version_body(model: LoadedModel) -> dict[str, Any]:
    return {
        "cairn_version": cairn.__version__,
        "python_version": platform.python_version(),
        "flavor": model.spec.flavor,
    }


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code in (404, 405):
        message = f"No endpoint {request.method} {request.url.path}"
        return error_response(error.status_code, "ENDPOINT_NOT_FOUND", message)
    return error_response(error.status_code, BAD_REQUEST, str(error.detail))
