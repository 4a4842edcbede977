"""The scoring app: an ASGI application that answers health checks, metadata, metrics and predictions.

Routes: `GET /ping` and `GET /health` (200 once the model is loaded, which it is when the app exists),
`GET /version`, `GET /metadata`, `GET /metrics` (Prometheus text), `POST /invocations`, which speaks
MLflow's scoring protocol (see `cairn.serving.codecs`), and the Open Inference Protocol (KServe v2):
`GET /v2`, `/v2/health/live`, `/v2/health/ready`, `/v2/models/{name}`, `/v2/models/{name}/ready` and
`POST /v2/models/{name}/infer` (see `cairn.serving.oip`). Errors are JSON `{"error_code", "message"}`
(Open Inference Protocol routes add `"error"`, the field its clients read): 400 for bad input (including
the model's own signature checks), 404 for a model name not served, 413 for a body over the size limit,
415 for an unsupported content type, 500 when the model fails. Every prediction goes through one
function, `_score`, on the model the request read from the app's `ModelSlot` when it started; the slot
can be swapped while the app serves (see `cairn.serving.alias_follower`). With a `TrafficRouter` (see
`cairn.serving.traffic`), unbatched `/invocations` requests are scored through it instead, and `/metrics`
counts them by who answered.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import cairn
from cairn.errors import InvalidArgument
from cairn.serving.batching import MicroBatcher, ServerBusy
from cairn.serving.codecs import (
    JSON_MEDIA_TYPE,
    SUPPORTED_MEDIA_TYPES,
    decode_request,
    encode_predictions,
    media_type_of,
)
from cairn.serving.events import EventRecorder, PredictionEvent
from cairn.serving.model_slot import ModelSlot, SlotEntry
from cairn.serving.oip import decode_infer_request, encode_infer_response, model_metadata
from cairn.serving.serving_metrics import UNVERSIONED, MetricsMiddleware, ServingMetrics

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.serving.alias_follower import AliasFollower
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
        router: Scores `/invocations` between a champion and a challenger (needs `model` to be the router's
            champion slot; not with `batching`); closed when the app stops.
    """
    if max_body_bytes < 1:
        raise InvalidArgument(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    if not model_name or "/" in model_name:
        raise InvalidArgument(f"model_name must be a non-empty name without '/', got {model_name!r}")
    slot = model if isinstance(model, ModelSlot) else ModelSlot(model, model_version)
    if follower is not None and follower.slot is not slot:
        raise InvalidArgument("follower must follow the ModelSlot the app serves (pass that slot as model)")
    _check_router(router, slot, batching)
    app = FastAPI(title="Cairn model server", version=cairn.__version__, docs_url=None, redoc_url=None)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    metrics = ServingMetrics(slot.current().version)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    slot.configure(_entry_factory(batching, metrics), lambda entry: _relabel(metrics, entry))
    served_by = _served_by_counter(router, metrics)
    served = _Served(
        slot, model_name, model_uri, max_body_bytes, metrics, events, follower, router, served_by
    )
    if follower is not None:
        app.router.add_event_handler("startup", follower.start)
    app.router.add_event_handler("shutdown", _closer(served))
    _add_info_routes(app, served)
    _add_invocations_route(app, served)
    _add_oip_routes(app, served)
    return app


def _check_router(router: TrafficRouter | None, slot: ModelSlot, batching: BatchingOptions | None) -> None:
    if router is None:
        return
    if router.champion is not slot:
        raise InvalidArgument(
            "router's champion must be the ModelSlot the app serves (pass that slot as model)"
        )
    if batching is not None:
        raise InvalidArgument("router cannot be combined with batching; pass batching=None")


def _served_by_counter(router: TrafficRouter | None, metrics: ServingMetrics) -> Counter | None:
    """With a router: a counter of scored requests by who scored them (challenger shadow copies included)."""
    if router is None:
        return None
    counter = Counter(
        "cairn_serving_traffic_requests",
        "Requests scored under a traffic policy, by who scored them (champion, challenger, shadow copies).",
        ("served_by",),
        registry=metrics.registry,
    )
    router.on_served = lambda served_by: counter.labels(served_by).inc()
    return counter


def _entry_factory(
    batching: BatchingOptions | None, metrics: ServingMetrics
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
            on_release=metrics.observe_batch,
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
        if served.router is not None:
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
        return JSONResponse(model_metadata(name, entry.version, entry.model.flavor, entry.model.signature))

    @app.get("/v2/models/{name}/ready")
    async def model_ready(name: str) -> Response:
        return _unknown_model(served, name) or JSONResponse({"name": name, "ready": True})

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> Response:
        refusal = _unknown_model(served, name) or _unreadable_infer(request)
        if refusal is not None:
            return refusal
        try:
            body = await _read_body(request, served.max_body_bytes)
        except _BodyTooLarge:
            return _too_large(served.max_body_bytes, oip=True)
        entry = served.slot.current()
        return await run_in_threadpool(_answer, served.metrics, lambda: _infer(served, entry, body), True)


async def _batched_answer(served: _Served, body: bytes, media_type: str) -> Response:
    """Decode on a worker thread, score through the current entry's micro-batcher, encode on a worker thread.

    The slot is read after decoding, and the request is queued on that entry's batcher without an `await` in
    between, so a swap can never close the batcher between the two (the close runs on this event loop).
    """
    import pandas as pd

    try:
        decoded = await run_in_threadpool(decode_request, body, media_type)
    except InvalidArgument as error:
        served.metrics.count_prediction_error("bad_input")
        return error_response(400, BAD_REQUEST, error.message)
    entry = served.slot.current()
    batcher = entry.batcher
    assert batcher is not None
    if not isinstance(decoded.data, pd.DataFrame):  # tensors and free-form inputs are scored alone
        data, params = decoded.data, decoded.params
        return await run_in_threadpool(
            _answer, served.metrics, lambda: encode_predictions(_score(served, entry, data, params)), False
        )
    started = time.perf_counter()
    served.slot.note_loop(asyncio.get_running_loop())  # before submitting: lets a swap close this batcher
    try:
        predictions = await batcher.submit(decoded.data, decoded.params)
    except ServerBusy as error:
        return error_response(503, error.error_code, error.message)
    except Exception as error:  # the model's own failure, or its signature check: the same answers as alone
        failure = error
        return await run_in_threadpool(_answer, served.metrics, _raiser(failure), False)
    _record_event(served, entry, decoded.data, predictions, started)
    return await run_in_threadpool(_answer, served.metrics, lambda: encode_predictions(predictions), False)


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
    """Decode, score through the app's traffic router, count who answered, record the event, encode."""
    router, counter = served.router, served.served_by
    assert router is not None and counter is not None
    decoded = decode_request(body, media_type)
    started = time.perf_counter()
    predictions, served_by = router.score(decoded.data, decoded.params)
    counter.labels(served_by).inc()
    events = served.events
    if events is not None:
        version = router.version_of(served_by)
        events.record(_event(decoded.data, predictions, started, served.name, version))
    return encode_predictions(predictions)


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
            await run_in_threadpool(served.router.close)
        if served.events is not None:
            await run_in_threadpool(served.events.close)

    return close


def _infer(served: _Served, entry: SlotEntry, body: bytes) -> bytes:
    """Decode an infer request, score it and encode the response, off the event loop."""
    signature = entry.model.signature
    decoded = decode_infer_request(body, signature)
    predictions = _score(served, entry, decoded.data, decoded.params)
    return encode_infer_response(
        predictions,
        model_name=served.name,
        model_version=entry.version,
        request_id=decoded.request_id,
        signature=signature,
    )


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
