"""Native metric resources: a metric's history (JSON or compact binary) and idempotent bulk ingestion."""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from cairn.entities import MetricHistory
from cairn.errors import CairnError
from cairn.server.native.dependencies import ServicesDep
from cairn.server.native.models import IngestResult, MetricHistoryModel, error_responses
from cairn.server.services import Services
from cairn.store.wire_format import (
    HISTORY_CONTENT_TYPE,
    INGEST_CONTENT_TYPE,
    MetricColumns,
    decode_ingest,
    encode_history,
    float_to_json,
)

router = APIRouter(tags=["metrics"], responses=error_responses(400, 404))


@runtime_checkable
class IngestStore(Protocol):
    """A store that applies a metric batch exactly once per batch id (the SQL store does)."""

    def ingest_metric_batch(self, batch_id: str, columns: MetricColumns) -> bool:
        """Apply the batch unless its id was applied before; True if applied now."""
        ...


_HISTORY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The history as columns; binary (see the wire format) for Accept: "
        f"{HISTORY_CONTENT_TYPE}.",
        "content": {HISTORY_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
_INGEST_BODY = {
    "requestBody": {
        "required": True,
        "description": "A metric batch in the compact binary format (magic CMB1, JSON header, columns).",
        "content": {INGEST_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "/runs/{run_id}/metrics/{key:path}/history",
    response_model=MetricHistoryModel,
    responses=_HISTORY_RESPONSES,
)
def get_metric_history(run_id: str, key: str, request: Request, services: ServicesDep) -> Response:
    """Every point of a metric in logging order, as three columns (steps, timestamps, values)."""
    history = services.store.get_metric_history(run_id, key)
    if _accepts_binary(request.headers.get("accept", "")):
        return Response(encode_history(history), media_type=HISTORY_CONTENT_TYPE)
    return JSONResponse(_history_json(history))


@router.post("/metrics/ingest", openapi_extra=_INGEST_BODY, responses=error_responses(413, 415))
async def ingest_metrics(request: Request, services: ServicesDep) -> IngestResult:
    """Append a batch of metric columns in one transaction, once per client-chosen `batch_id`.

    A batch whose id was applied before is acknowledged with `applied: false` and changes nothing, so a
    client may retry a batch whose answer it never saw.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != INGEST_CONTENT_TYPE:
        raise HTTPException(
            415, f"Content-Type must be {INGEST_CONTENT_TYPE}, not {content_type or 'none'!r}"
        )
    body = await _read_body(request, services.config.max_body_bytes)
    batch_id, columns = decode_ingest(body)
    applied = await run_in_threadpool(_ingest_store(services).ingest_metric_batch, batch_id, columns)
    points = sum(len(cols[2]) for cols in columns.values())
    return IngestResult(batch_id=batch_id, applied=applied, points=points)


def _ingest_store(services: Services) -> IngestStore:
    store = services.store
    if not isinstance(store, IngestStore):
        raise CairnError("this server's store cannot ingest metric batches")
    return store


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise HTTPException(413, f"request body exceeds the limit of {limit} bytes")
        parts.append(part)
    return b"".join(parts)


def _accepts_binary(accept: str) -> bool:
    return any(item.split(";")[0].strip().lower() == HISTORY_CONTENT_TYPE for item in accept.split(","))


def _history_json(history: MetricHistory) -> dict[str, Any]:
    values: list[Any] = history.values.tolist()
    for index, value in enumerate(values):
        if not math.isfinite(value):
            values[index] = float_to_json(value)
    return {
        "key": history.key,
        "steps": history.steps.tolist(),
        "timestamps": history.timestamps.tolist(),
        "values": values,
    }
