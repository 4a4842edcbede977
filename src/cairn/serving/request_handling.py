"""What the scoring app's routes share: the served state, body reading, scoring and JSON error answers.

A request is scored on the model it read from the app's `ModelSlot` when it started (`score`); with a
`TrafficRouter` it is routed through the router instead (`score_routed`). Either way the prediction is
handed to the app's event recorder, if it has one. `answer` turns a request's failures into 400 (bad
input, including the model's own signature checks) or 500 (the model failed) answers.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cairn.errors import InvalidArgument
from cairn.serving.codecs import JSON_MEDIA_TYPE
from cairn.serving.events import EventRecorder, PredictionEvent

if TYPE_CHECKING:
    from prometheus_client import Counter

    from cairn.serving.alias_follower import AliasFollower, RegistryEventRecorder
    from cairn.serving.model_slot import ModelSlot, SlotEntry
    from cairn.serving.serving_metrics import ServingMetrics
    from cairn.serving.traffic import TrafficRouter

BAD_REQUEST = "BAD_REQUEST"
_MAX_REASON_CHARS = 500
log = logging.getLogger("cairn.serving")


class BodyTooLarge(Exception):
    """A request body exceeds the app's size limit (raised by `read_body`)."""


@dataclass(frozen=True)
class Served:
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


def too_large(limit: int, *, oip: bool) -> Response:
    """The 413 answer to a body over `limit` bytes."""
    return error_response(413, "REQUEST_TOO_LARGE", f"request body exceeds {limit} bytes", oip=oip)


def answer(metrics: ServingMetrics, work: Callable[[], bytes], oip: bool) -> Response:
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


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (`BodyTooLarge`) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def slot_of(served: Served, served_by: str) -> ModelSlot:
    """The slot of the arm `served_by` ("champion" or "challenger"); the app's slot without a router."""
    return served.slot if served.router is None else served.router.slot_of(served_by)


def score(served: Served, entry: SlotEntry, data: Any, params: Mapping[str, Any] | None) -> Any:
    """The one place a request's model predicts, on a worker thread; the prediction is then recorded."""
    started = time.perf_counter()
    predictions = entry.model.predict(data, params=params)
    record_event(served, entry, data, predictions, started)
    return predictions


def score_routed(
    served: Served, data: Any, params: Mapping[str, Any] | None, served_by: str | None
) -> tuple[Any, SlotEntry]:
    """Score through the router, routed now (`served_by` None) or on the arm given; count it, record it."""
    router, counter = served.router, served.served_by
    assert router is not None and counter is not None
    served_by = router.choose() if served_by is None else served_by
    entry = router.slot_of(served_by).current()
    started = time.perf_counter()
    predictions = router.predict(served_by, data, params, entry)
    counter.labels(served_by).inc()
    record_event(served, entry, data, predictions, started)
    return predictions, entry


def record_event(served: Served, entry: SlotEntry, data: Any, predictions: Any, started: float) -> None:
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
