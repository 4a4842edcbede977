"""The scoring app's `POST /invocations` route: MLflow's scoring protocol, alone, routed or micro-batched.

The body is decoded by `cairn.serving.codecs`; 415 answers an unsupported content type and 413 a body
over the size limit. With a `TrafficRouter` (see `cairn.serving.traffic`) requests are routed between a
champion and a challenger. With batching too, each request is routed before it is batched, and each arm
(the champion's slot, the challenger's slot) has its own micro-batcher, so a batch never mixes the two
models; inputs that are not tables are scored alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cairn.errors import InvalidArgument
from cairn.serving.batching import ServerBusy
from cairn.serving.codecs import (
    JSON_MEDIA_TYPE,
    SUPPORTED_MEDIA_TYPES,
    decode_request,
    encode_predictions,
    media_type_of,
)
from cairn.serving.request_handling import (
    BAD_REQUEST,
    BodyTooLarge,
    Served,
    answer,
    error_response,
    read_body,
    record_event,
    score,
    score_routed,
    slot_of,
    too_large,
)
from cairn.serving.traffic import CHALLENGER, CHAMPION

if TYPE_CHECKING:
    from cairn.serving.codecs import ScoringInput
    from cairn.serving.inline_gate import InlineGate


INLINE_BODY_BYTES = 64 * 1024
"""JSON bodies up to this size may be handled on the event loop: with batching, they are decoded (and their
answers encoded) there, since a thread hand-off costs more than that work (a 40 KiB, 100-row body decodes
in about 0.3 ms); without, the whole request is scored there when the model's `InlineGate` allows it."""


def invocations_route(served: Served) -> Route:
    """`POST /invocations`, scoring on the slot's current model (routed or batched when configured)."""

    async def invocations(request: Request) -> Response:
        media_type = media_type_of(request.headers.get("content-type"))
        if media_type is None:
            given = request.headers.get("content-type") or "none"
            message = f"content type must be one of {', '.join(SUPPORTED_MEDIA_TYPES)}; got {given}"
            return error_response(415, BAD_REQUEST, message)
        try:
            body = await read_body(request, served.max_body_bytes)
        except BodyTooLarge:
            return too_large(served.max_body_bytes, oip=False)

        entry = served.slot.current()
        if served.router is not None and entry.batcher is None:
            return await run_in_threadpool(
                answer, served.metrics, lambda: _routed(served, body, media_type), False
            )
        if entry.batcher is None:

            def work() -> bytes:
                decoded = decode_request(body, media_type)
                return encode_predictions(score(served, entry, decoded.data, decoded.params))

            return await _answer_alone(entry.inline, work, served, small=_is_small(body, media_type))
        return await _batched_answer(served, body, media_type)

    return Route("/invocations", invocations, methods=["POST"])


def _is_small(body: bytes, media_type: str) -> bool:
    return media_type == JSON_MEDIA_TYPE and len(body) <= INLINE_BODY_BYTES


async def _answer_alone(
    gate: InlineGate | None, work: Callable[[], bytes], served: Served, *, small: bool
) -> Response:
    """Run one request's `work` on the loop (small body, gate allows) or on a thread; time it for the gate."""
    if gate is None:
        return await run_in_threadpool(answer, served.metrics, work, False)
    if small and gate.allows():
        started = time.perf_counter()
        try:
            return answer(served.metrics, work, False)
        finally:
            gate.observe(time.perf_counter() - started)

    def timed_work() -> bytes:
        started = time.thread_time()
        try:
            return work()
        finally:
            gate.observe(time.thread_time() - started)

    return await run_in_threadpool(answer, served.metrics, timed_work, False)


async def _batched_answer(served: Served, body: bytes, media_type: str) -> Response:
    """Decode, score through a micro-batcher and encode (small bodies on the loop, others on a thread).

    JSON bodies up to `INLINE_BODY_BYTES` are decoded, and their answers encoded, on the event loop.
    With a router, the request is routed first and queued on its arm's batcher. The slot is read after
    decoding and routing, and the request is queued on that entry's batcher without an `await` in between,
    so a swap can never close the batcher between the two (the close runs on this event loop).
    """
    import pandas as pd

    small = _is_small(body, media_type)
    try:
        decoded = (
            decode_request(body, media_type)
            if small
            else await run_in_threadpool(decode_request, body, media_type)
        )
    except InvalidArgument as error:
        served.metrics.count_prediction_error("bad_input")
        return error_response(400, BAD_REQUEST, error.message)
    if not isinstance(decoded.data, pd.DataFrame):  # tensors and free-form inputs are scored alone
        return await run_in_threadpool(answer, served.metrics, _scored_alone(served, decoded), False)
    router = served.router
    served_by = CHAMPION if router is None else router.choose()
    slot = slot_of(served, served_by)
    entry = slot.current()
    batcher = entry.batcher
    assert batcher is not None
    started = time.perf_counter()
    slot.note_loop(asyncio.get_running_loop())  # before submitting: lets a swap close this batcher
    try:
        predictions = await batcher.submit(decoded.data, decoded.params, decoded.layout)
    except ServerBusy as error:
        return error_response(503, error.error_code, error.message)
    except Exception as error:  # the model's own failure, or its signature check: the same answers as alone
        failure = error
        _tell_router(served, served_by, decoded, started, failure)
        return await run_in_threadpool(answer, served.metrics, _raiser(failure), False)
    _tell_router(served, served_by, decoded, started, None)
    record_event(served, entry, decoded.data, predictions, started)
    if small:
        return answer(served.metrics, lambda: encode_predictions(predictions), False)
    return await run_in_threadpool(answer, served.metrics, lambda: encode_predictions(predictions), False)


def _scored_alone(served: Served, decoded: ScoringInput) -> Callable[[], bytes]:
    """The work of scoring one decoded request without the batcher (routed when there is a router)."""
    data, params = decoded.data, decoded.params
    if served.router is not None:
        return lambda: encode_predictions(score_routed(served, data, params, None)[0])
    entry = served.slot.current()
    return lambda: encode_predictions(score(served, entry, data, params))


def _tell_router(
    served: Served, served_by: str, decoded: ScoringInput, started: float, error: Exception | None
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


def _routed(served: Served, body: bytes, media_type: str) -> bytes:
    """Decode, then score through the app's traffic router and encode."""
    decoded = decode_request(body, media_type)
    return encode_predictions(score_routed(served, decoded.data, decoded.params, None)[0])
