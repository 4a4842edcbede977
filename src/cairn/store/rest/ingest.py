"""Client side of bulk metric ingestion: chunks of at most 8 MB, batch ids, retries that never double-apply.

Every chunk carries a batch id; the server applies a chunk and records its id in one transaction, and
acknowledges a known id without applying it again. The id of a chunk is remembered (by the identity of
its column arrays and the point ranges it holds) until the call that sent it succeeds, so that the metric
buffer re-sending the same columns after a failure reuses the ids and cannot store a point twice:

* a transient failure (server unreachable after the session's own retries) leaves the buffer holding the
  same batch, which it sends again at the next flush;
* a refusal (say, one run was deleted) makes the buffer retry run by run. Chunking is planned per run when
  a batch needs several chunks, so each run's retry produces the very chunks sent before.
"""

from __future__ import annotations

import json
import threading
import uuid
import weakref
from array import array
from collections import OrderedDict
from dataclasses import dataclass

from cairn.errors import InvalidArgument
from cairn.store.rest.session import HttpSession
from cairn.store.wire_format import (
    BYTES_PER_POINT,
    INGEST_CONTENT_TYPE,
    Columns,
    MetricColumns,
    encode_ingest,
)

INGEST_PATH = "/api/v1/metrics/ingest"
MAX_INGEST_BODY_BYTES = 8 * 1024 * 1024
_HEADER_BASE_BYTES = 96
_REMEMBERED_CHUNKS = 256


@dataclass(frozen=True)
class _Slice:
    run_id: str
    key: str
    columns: Columns
    start: int
    end: int


Chunk = list[_Slice]


def plan_chunks(columns: MetricColumns, max_bytes: int = MAX_INGEST_BODY_BYTES) -> list[Chunk]:
    """Split metric columns into chunks whose encoded bodies stay under `max_bytes`.

    A batch that fits is one chunk. A larger one is planned run by run (sorted by run id), series in
    their given order, a series cut where a chunk fills up; the chunks of one run do not depend on the
    other runs in the batch.
    """
    everything = [_Slice(r, k, cols, 0, len(cols[2])) for (r, k), cols in columns.items() if len(cols[2])]
    total = _HEADER_BASE_BYTES + sum(_slice_bytes(s) for s in everything)
    if total <= max_bytes:
        return [everything] if everything else []
    chunks: list[Chunk] = []
    for run_id in sorted({s.run_id for s in everything}):
        current: Chunk = []
        size = _HEADER_BASE_BYTES
        for whole in (s for s in everything if s.run_id == run_id):
            start = 0
            while start < whole.end:
                room = (max_bytes - size - _series_header_bytes(whole)) // BYTES_PER_POINT
                if room <= 0:
                    if not current:
                        raise InvalidArgument(f"metric key {whole.key[:40]!r} is too long to send")
                    chunks.append(current)
                    current, size = [], _HEADER_BASE_BYTES
                    continue
                end = min(whole.end, start + room)
                piece = _Slice(run_id, whole.key, whole.columns, start, end)
                current.append(piece)
                size += _slice_bytes(piece)
                start = end
        if current:
            chunks.append(current)
    return chunks


class MetricSender:
    """Sends metric columns to `POST /api/v1/metrics/ingest`, chunked, with retry-safe batch ids."""

    def __init__(self, session: HttpSession, max_bytes: int = MAX_INGEST_BODY_BYTES) -> None:
        self._session = session
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._ids: OrderedDict[tuple[tuple[int, int, int], ...], _Remembered] = OrderedDict()

    def send(self, columns: MetricColumns) -> None:
        """Append the points; once this returns, every chunk was applied (exactly once) by the server."""
        for (_, key), (steps, timestamps, values) in columns.items():
            if not len(steps) == len(timestamps) == len(values):
                raise InvalidArgument(f"metric {key!r}: steps, timestamps and values differ in length")
        chunks = plan_chunks(columns, self._max_bytes)
        signatures = [_signature(chunk) for chunk in chunks]
        for chunk, signature in zip(chunks, signatures, strict=True):
            body = encode_ingest(self._batch_id(chunk, signature), _chunk_columns(chunk))
            self._session.request(
                "POST",
                INGEST_PATH,
                idempotent=True,
                content=body,
                headers={"Content-Type": INGEST_CONTENT_TYPE},
            )
        with self._lock:
            for signature in signatures:
                self._ids.pop(signature, None)

    def _batch_id(self, chunk: Chunk, signature: tuple[tuple[int, int, int], ...]) -> str:
        with self._lock:
            known = self._ids.get(signature)
            if known is not None and known.holds(chunk):
                self._ids.move_to_end(signature)
                return known.batch_id
            remembered = _Remembered(uuid.uuid4().hex, [weakref.ref(s.columns[2]) for s in chunk])
            self._ids[signature] = remembered
            while len(self._ids) > _REMEMBERED_CHUNKS:
                self._ids.popitem(last=False)
            return remembered.batch_id


@dataclass(frozen=True)
class _Remembered:
    batch_id: str
    arrays: list[weakref.ref[array[float]]]

    def holds(self, chunk: Chunk) -> bool:
        # The ids in a signature could be reused by new arrays once the old ones are freed; the weak
        # references tell the same arrays from newcomers at the same address.
        return len(chunk) == len(self.arrays) and all(
            ref() is piece.columns[2] for ref, piece in zip(self.arrays, chunk, strict=True)
        )


def _signature(chunk: Chunk) -> tuple[tuple[int, int, int], ...]:
    return tuple((id(piece.columns[2]), piece.start, piece.end) for piece in chunk)


def _chunk_columns(chunk: Chunk) -> dict[tuple[str, str], Columns]:
    out: dict[tuple[str, str], Columns] = {}
    for piece in chunk:
        steps, timestamps, values = piece.columns
        if piece.start == 0 and piece.end == len(values):
            out[(piece.run_id, piece.key)] = piece.columns
        else:
            window = slice(piece.start, piece.end)
            out[(piece.run_id, piece.key)] = (steps[window], timestamps[window], values[window])
    return out


def _series_header_bytes(piece: _Slice) -> int:
    return len(json.dumps([piece.run_id, piece.key])) + 24


def _slice_bytes(piece: _Slice) -> int:
    return _series_header_bytes(piece) + BYTES_PER_POINT * (piece.end - piece.start)
