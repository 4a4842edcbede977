"""The scoring app: an ASGI application that answers health checks, metadata, metrics and predictions.

Routes: `GET /ping` and `GET /health` (200 once the model is loaded, which it is when the app exists),
`GET /version`, `GET /metadata`, `GET /metrics` (Prometheus text), `POST /invocations`, which speaks
MLflow's scoring protocol (see `cairn.serving.codecs`), and the Open Inference Protocol (KServe v2):
`GET /v2`, `/v2/health/live`, `/v2/health/ready`, `/v2/models/{name}`, `/v2/models/{name}/ready` and
`POST /v2/models/{name}/infer`, and the same three under `/v2/models/{name}/versions/{version}` for a
version served now, the champion's or the challenger's (see `cairn.serving.oip`). Errors are JSON
`{"error_code", "message"}` (Open Inference Protocol routes add `"error"`, the field its clients read):
400 for bad input (including the model's own signature checks), 404 for a model name or version not
served, 413 for a body over the size limit, 415 for an unsupported content type, 500 when the model
fails. A request is scored on the model it read from the app's `ModelSlot` when it started (`_score`);
the slot can be swapped while the app serves (see `cairn.serving.alias_follower`). With a `TrafficRouter`
(see `cairn.serving.traffic`), `/invocations` and infer requests are routed through it instead
(`_score_routed`), and `/metrics` counts them by who answered. With batching too, each request is routed
before it is batched, and each arm (the champion's slot, the challenger's slot) has its own micro-batcher,
so a batch never mixes the two models.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import cairn
from cairn.errors import InvalidArgument
from cairn.serving.batching import MicroBatcher, ReleaseCallback, ServerBusy
from cairn.serving.codecs import (
    JSON_MEDIA_TYPE,
    SUPPORTED_MEDIA_TYPES,
    decode_request,
    encode_predictions,
    media_type_of,
)
from cairn.serving.events import EventRecorder, PredictionEvent
from cairn.serving.model_slot import ModelSlot, SlotEntry
from cairn.serving.oip import InferRequest, decode_infer_request, encode_infer_response, model_metadata
from cairn.serving.serving_metrics import UNVERSIONED, MetricsMiddleware, ServingMetrics
from cairn.serving.traffic import CHALLENGER, CHAMPION

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.serving.alias_follower import AliasFollower, RegistryEventRecorder
    from cairn.serving.codecs import ScoringInput
    from cairn.serving.traffic import TrafficRouter

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MODEL_NAME = "model"
BAD_REQUEST = "BAD_REQUEST"
_MAX_REASON_CHARS = 500
_BINARY_TENSOR_HEADER = "inference-header-content-length"
log = logging.getLogger("cairn.serving")


class _BodyTooLarge(Exception):
    pass


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


@dataclass(frozen=True)
class _Served:
    """What the routes of one app share: the model slot, how the model is named, limits, metrics, events."""

    slot: ModelSlot
    name: str
    uri: str | None
    max_body_bytes: int
    metrics: ServingMetrics
    events: EventRecorder | None = None
    follower: AliasFollower | None = None
    router: TrafficRouter | None = None
    served_by: Counter | None = None
    registry_events: RegistryEventRecorder | None = None


def error_response(status: int, error_code: str, message: str, *, oip: bool = False) -> JSONResponse:
    """A JSON error in the shape Cairn and MLflow share: `{"error_code", "message"}`.

    With `oip`, the body also holds `"error"`, the field Open Inference Protocol clients read.
    """
    content = {"error_code": error_code, "message": message}
    if oip:
        content["error"] = message
    return JSONResponse(content, status_code=status)


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
) -> FastAPI:
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
    """
    if max_body_bytes < 1:
        raise InvalidArgument(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    if not model_name or "/" in model_name:
        raise InvalidArgument(f"model_name must be a non-empty name without '/', got {model_name!r}")
    slot = model if isinstance(model, ModelSlot) else ModelSlot(model, model_version)
    if follower is not None and follower.slot is not slot:
        raise InvalidArgument("follower must follow the ModelSlot the app serves (pass that slot as model)")
    _check_router(router, slot)
    app = FastAPI(title="Cairn model server", version=cairn.__version__, docs_url=None, redoc_url=None)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    metrics = ServingMetrics(slot.current().version)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    slot.configure(_entry_factory(batching, metrics.observe_batch), lambda entry: _relabel(metrics, entry))
    served_by = _traffic_counters(router, metrics, batching)
    if registry_events is not None:
        metrics.registry.register(_RegistryEventCounts(registry_events))
    served = _Served(
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
    if follower is not None:
        app.router.add_event_handler("startup", follower.start)
    app.router.add_event_handler("shutdown", _closer(served))
    _add_info_routes(app, served)
    _add_invocations_route(app, served)
    _add_oip_routes(app, served)
    return app


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
        router.challenger.configure(_entry_factory(batching, lambda reason, *_: batches.labels(reason).inc()))
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
    batching: BatchingOptions | None, on_release: ReleaseCallback
) -> Callable[[LoadedModel, str | None], SlotEntry]:
    """How the slot turns a model into an entry: with a micro-batcher of its own when the app batches."""

    def prepare(model: LoadedModel, version: str | None) -> SlotEntry:
        if batching is None:
            return SlotEntry(model, version)
        batcher = MicroBatcher(
            lambda data, params: model.predict(data, params=params),
            max_batch_size=batching.max_batch_size,
            max_wait_ms=batching.max_wait_ms,
            max_queue=batching.max_queue,
            on_release=on_release,
        )
        return SlotEntry(model, version, batcher)

    return prepare


def _relabel(metrics: ServingMetrics, entry: SlotEntry) -> None:
    """After a swap, new series carry the new version."""
    metrics.model_version = entry.version or UNVERSIONED


def _metadata(served: _Served) -> dict[str, Any]:
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


def _add_info_routes(app: FastAPI, served: _Served) -> None:
    @app.get("/ping")
    @app.get("/health")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version")
    async def version_info() -> dict[str, Any]:
        return _version_body(served.slot.current().model)

    @app.get("/metadata")
    async def model_info() -> dict[str, Any]:
        return _metadata(served)

    @app.get("/metrics")
    async def metrics_text() -> Response:
        content, content_type = served.metrics.render()
        return Response(content, media_type=content_type)


def _add_invocations_route(app: FastAPI, served: _Served) -> None:
    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        media_type = media_type_of(request.headers.get("content-type"))
        if media_type is None:
            given = request.headers.get("content-type") or "none"
            message = f"content type must be one of {', '.join(SUPPORTED_MEDIA_TYPES)}; got {given}"
            return error_response(415, BAD_REQUEST, message)
        try:
            body = await _read_body(request, served.max_body_bytes)
        except _BodyTooLarge:
            return _too_large(served.max_body_bytes, oip=False)

        entry = served.slot.current()
        if served.router is not None and entry.batcher is None:
            return await run_in_threadpool(
                _answer, served.metrics, lambda: _routed(served, body, media_type), False
            )
        if entry.batcher is None:

            def work() -> bytes:
                decoded = decode_request(body, media_type)
                return encode_predictions(_score(served, entry, decoded.data, decoded.params))

            return await run_in_threadpool(_answer, served.metrics, work, False)
        return await _batched_answer(served, body, media_type)


def _add_oip_routes(app: FastAPI, served: _Served) -> None:
    @app.get("/v2")
    async def server_metadata() -> dict[str, Any]:
        return {"name": "cairn", "version": cairn.__version__, "extensions": []}

    @app.get("/v2/health/live")
    async def live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/v2/models/{name}")
    async def model_info(name: str) -> Response:
        if (refusal := _unknown_model(served, name)) is not None:
            return refusal
        entry = served.slot.current()
        metadata = model_metadata(name, entry.version, entry.model.flavor, entry.model.signature)
        metadata["versions"] = _served_versions(served)
        return JSONResponse(metadata)

    @app.get("/v2/models/{name}/ready")
    async def model_ready(name: str) -> Response:
        return _unknown_model(served, name) or JSONResponse({"name": name, "ready": True})

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> Response:
        return await _infer_answer(served, request, _unknown_model(served, name), None)

    _add_versioned_oip_routes(app, served)


def _add_versioned_oip_routes(app: FastAPI, served: _Served) -> None:
    """`/v2/models/{name}/versions/{version}[/ready|/infer]`, for the versions this app serves now."""
    base = "/v2/models/{name}/versions/{version}"

    @app.get(base)
    async def version_info(name: str, version: str) -> Response:
        served_by, refusal = _served_version(served, name, version)
        if refusal is not None:
            return refusal
        entry = _slot_of(served, served_by).current()
        return JSONResponse(model_metadata(name, version, entry.model.flavor, entry.model.signature))

    @app.get(base + "/ready")
    async def version_ready(name: str, version: str) -> Response:
        refusal = _served_version(served, name, version)[1]
        return refusal or JSONResponse({"name": name, "version": version, "ready": True})

    @app.post(base + "/infer")
    async def version_infer(name: str, version: str, request: Request) -> Response:
        served_by, refusal = _served_version(served, name, version)
        return await _infer_answer(served, request, refusal, served_by)


async def _infer_answer(
    served: _Served, request: Request, refusal: Response | None, served_by: str | None
) -> Response:
    """Answer an infer request: refuse it, or read its body and score it (routed, or on `served_by`)."""
    refusal = refusal or _unreadable_infer(request)
    if refusal is not None:
        return refusal
    try:
        body = await _read_body(request, served.max_body_bytes)
    except _BodyTooLarge:
        return _too_large(served.max_body_bytes, oip=True)
    return await run_in_threadpool(_answer, served.metrics, lambda: _infer(served, body, served_by), True)


def _slot_of(served: _Served, served_by: str) -> ModelSlot:
    return served.slot if served.router is None else served.router.slot_of(served_by)


def _served_versions(served: _Served) -> list[str]:
    """The versions answering now: the champion's, and the challenger's unless it was rolled back."""
    versions = [served.slot.current().version]
    router = served.router
    if router is not None and not router.rolled_back:
        versions.append(router.challenger.current().version)
    return list(dict.fromkeys(version for version in versions if version is not None))


def _served_version(served: _Served, name: str, version: str) -> tuple[str, Response | None]:
    """Who serves `version` of model `name` ("champion" or "challenger"), or an Open Inference 404."""
    refusal = _unknown_model(served, name)
    if refusal is not None:
        return CHAMPION, refusal
    if served.slot.current().version == version:
        return CHAMPION, None
    router = served.router
    if router is not None and not router.rolled_back and router.challenger.current().version == version:
        return CHALLENGER, None
    versions = ", ".join(_served_versions(served)) or "none (the model is not from the registry)"
    message = f"model {name!r} has no version {version!r} served here; versions served: {versions}"
    return CHAMPION, error_response(404, "RESOURCE_DOES_NOT_EXIST", message, oip=True)


async def _batched_answer(served: _Served, body: bytes, media_type: str) -> Response:
    """Decode on a worker thread, score through a micro-batcher, encode on a worker thread.

    With a router, the request is routed first and queued on its arm's batcher. The slot is read after
    decoding and routing, and the request is queued on that entry's batcher without an `await` in between,
    so a swap can never close the batcher between the two (the close runs on this event loop).
    """
    import pandas as pd

    try:
        decoded = await run_in_threadpool(decode_request, body, media_type)
    except InvalidArgument as error:
        served.metrics.count_prediction_error("bad_input")
        return error_response(400, BAD_REQUEST, error.message)
    if not isinstance(decoded.data, pd.DataFrame):  # tensors and free-form inputs are scored alone
        return await run_in_threadpool(_answer, served.metrics, _scored_alone(served, decoded), False)
    router = served.router
    served_by = CHAMPION if router is None else router.choose()
    slot = _slot_of(served, served_by)
    entry = slot.current()
    batcher = entry.batcher
    assert batcher is not None
    started = time.perf_counter()
    slot.note_loop(asyncio.get_running_loop())  # before submitting: lets a swap close this batcher
    try:
        predictions = await batcher.submit(decoded.data, decoded.params)
    except ServerBusy as error:
        return error_response(503, error.error_code, error.message)
    except Exception as error:  # the model's own failure, or its signature check: the same answers as alone
        failure = error
        _tell_router(served, served_by, decoded, started, failure)
        return await run_in_threadpool(_answer, served.metrics, _raiser(failure), False)
    _tell_router(served, served_by, decoded, started, None)
    _record_event(served, entry, decoded.data, predictions, started)
    return await run_in_threadpool(_answer, served.metrics, lambda: encode_predictions(predictions), False)


def _scored_alone(served: _Served, decoded: ScoringInput) -> Callable[[], bytes]:
    """The work of scoring one decoded request without the batcher (routed when there is a router)."""
    data, params = decoded.data, decoded.params
    if served.router is not None:
        return lambda: encode_predictions(_score_routed(served, data, params, None)[0])
    entry = served.slot.current()
    return lambda: encode_predictions(_score(served, entry, data, params))


def _tell_router(
    served: _Served, served_by: str, decoded: ScoringInput, started: float, error: Exception | None
) -> None:
    """After a batched request: count who answered; judge the challenger, or shadow-copy the champion's."""
    router, counter = served.router, served.served_by
    if router is None or counter is None:
        return
    if served_by == CHALLENGER:
        router.challenger_answered(started, error)
    elif error is None:
        router.champion_answered(decoded.data, decoded.params)
    if error is None:
        counter.labels(served_by).inc()


def _raiser(error: Exception) -> Callable[[], bytes]:
    def work() -> bytes:
        raise error

    return work


def _score(served: _Served, entry: SlotEntry, data: Any, params: Mapping[str, Any] | None) -> Any:
    """The one place a request's model predicts, on a worker thread; the prediction is then recorded."""
    started = time.perf_counter()
    predictions = entry.model.predict(data, params=params)
    _record_event(served, entry, data, predictions, started)
    return predictions


def _routed(served: _Served, body: bytes, media_type: str) -> bytes:
    """Decode, then score through the app's traffic router and encode."""
    decoded = decode_request(body, media_type)
    return encode_predictions(_score_routed(served, decoded.data, decoded.params, None)[0])


def _score_routed(
    served: _Served, data: Any, params: Mapping[str, Any] | None, served_by: str | None
) -> tuple[Any, SlotEntry]:
    """Score through the router, routed now (`served_by` None) or on the arm given; count it, record it."""
    router, counter = served.router, served.served_by
    assert router is not None and counter is not None
    served_by = router.choose() if served_by is None else served_by
    entry = router.slot_of(served_by).current()
    started = time.perf_counter()
    predictions = router.predict(served_by, data, params, entry)
    counter.labels(served_by).inc()
    _record_event(served, entry, data, predictions, started)
    return predictions, entry


def _record_event(served: _Served, entry: SlotEntry, data: Any, predictions: Any, started: float) -> None:
    """Hand the prediction to the event recorder (which never waits) when there is one."""
    events = served.events
    if events is not None:
        events.record(_event(data, predictions, started, served.name, entry.version))


def _event(
    data: Any, predictions: Any, started: float, model_name: str, model_version: str | None
) -> PredictionEvent:
    return PredictionEvent(
        request_id=uuid.uuid4().hex,
        timestamp_ms=int(time.time() * 1000),
        model_name=model_name,
        model_version=model_version or "unversioned",
        inputs=data,
        outputs=predictions,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def _closer(served: _Served) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
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

    return close


def _infer(served: _Served, body: bytes, served_by: str | None) -> bytes:
    """Decode an infer request, score it (routed, or on the arm `served_by`) and encode it, off the loop."""
    router = served.router
    if router is None:
        entry = served.slot.current()
        decoded = decode_infer_request(body, entry.model.signature)
        predictions = _score(served, entry, decoded.data, decoded.params)
    else:
        decoded, served_by = _decode_routed(router, body, served_by)
        predictions, entry = _score_routed(served, decoded.data, decoded.params, served_by)
    return encode_infer_response(
        predictions,
        model_name=served.name,
        model_version=entry.version,
        request_id=decoded.request_id,
        signature=entry.model.signature,
    )


def _decode_routed(router: TrafficRouter, body: bytes, served_by: str | None) -> tuple[InferRequest, str]:
    """Decode for the arm's signature; an unrouted request is decoded (checked) before it is routed."""
    first = router.slot_of(served_by or CHAMPION).current().model.signature
    decoded = decode_infer_request(body, first)
    if served_by is None:
        served_by = router.choose()
        signature = router.slot_of(served_by).current().model.signature
        if signature != first:
            decoded = decode_infer_request(body, signature)
    return decoded, served_by


def _unknown_model(served: _Served, name: str) -> Response | None:
    if name == served.name:
        return None
    message = f"model {name!r} is not served here; this server serves {served.name!r}"
    return error_response(404, "RESOURCE_DOES_NOT_EXIST", message, oip=True)


def _unreadable_infer(request: Request) -> Response | None:
    if _BINARY_TENSOR_HEADER in request.headers:
        message = "binary tensor data is not supported; send the tensors as JSON"
        return error_response(415, BAD_REQUEST, message, oip=True)
    content_type = request.headers.get("content-type")
    if content_type and content_type.split(";", 1)[0].strip().lower() != JSON_MEDIA_TYPE:
        message = f"content type must be {JSON_MEDIA_TYPE}; got {content_type}"
        return error_response(415, BAD_REQUEST, message, oip=True)
    return None


def _too_large(limit: int, *, oip: bool) -> Response:
    return error_response(413, "REQUEST_TOO_LARGE", f"request body exceeds {limit} bytes", oip=oip)


def _answer(metrics: ServingMetrics, work: Callable[[], bytes], oip: bool) -> Response:
    """Run `work` (decode, score, encode) and turn its failures into 400 or 500 answers."""
    try:
        content = work()
    except InvalidArgument as error:
        metrics.count_prediction_error("bad_input")
        return error_response(400, BAD_REQUEST, error.message, oip=oip)
    except Exception as error:
        metrics.count_prediction_error("model_error")
        request_id = uuid.uuid4().hex
        log.exception("scoring request %s failed", request_id)
        reason = f"{type(error).__name__}: {error}"[:_MAX_REASON_CHARS]
        message = f"the model failed to score the input ({reason}); request id {request_id}"
        return error_response(500, "INTERNAL_ERROR", message, oip=oip)
    return Response(content, media_type=JSON_MEDIA_TYPE)


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyTooLarge
    return bytes(body)


def _version_body(model: LoadedModel) -> dict[str, Any]:
    return {
        "cairn_version": cairn.__version__,
        "python_version": platform.python_version(),
        "flavor": model.spec.flavor,
    }


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code in (404, 405):
        message = f"No endpoint {request.method} {request.url.path}"
        return error_response(error.status_code, "ENDPOINT_NOT_FOUND", message)
    return error_response(error.status_code, BAD_REQUEST, str(error.detail))
