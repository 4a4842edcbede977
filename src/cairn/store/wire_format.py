"""Binary wire formats of the native API: metric ingestion batches and metric histories.

Metric ingestion (`POST /api/v1/metrics/ingest`, `Content-Type: application/x-cairn-metrics`)::

    4 bytes   magic b"CMB1"
    4 bytes   header length H, unsigned 32-bit little-endian
    H bytes   header, UTF-8 JSON: {"batch_id": "<1-64 of [0-9A-Za-z_-]>",
                                   "series": [["<run_id>", "<metric key>", <point count>], ...]}
    then, for each series in header order, its three packed little-endian columns:
              steps (int64 x count), timestamps in ms (int64 x count), values (float64 x count)

The body is exactly 8 + H + 24 * (total points) bytes. The batch id is chosen by the client; the server
applies a batch once and acknowledges a repeat of a known id without applying it again.

Why binary and not JSON with base64 columns: measured with 1,000,000 points in 10 series, the binary body
(24.0 MB) took 5 ms to encode and 3 ms to decode; JSON with base64 columns (32.0 MB) took 118 ms to encode
and 163 ms to decode. Base64 adds a third to the size and a pass over every byte at each end.

Metric history (`GET /api/v1/runs/{run_id}/metrics/{key}/history` with `Accept: application/octet-stream`)::

    4 bytes   magic b"CMH1"
    8 bytes   point count N, unsigned 64-bit little-endian
    then steps (int64 x N), timestamps (int64 x N), values (float64 x N), all little-endian

NaN and infinities travel bit for bit. In JSON bodies they are the strings "NaN", "Infinity" and
"-Infinity" (as protobuf's JSON mapping spells them), since JSON has no literal for them.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from array import array
from collections.abc import Mapping
from typing import Any

from cairn.entities import MetricHistory
from cairn.errors import InvalidArgument

INGEST_CONTENT_TYPE = "application/x-cairn-metrics"
HISTORY_CONTENT_TYPE = "application/octet-stream"
INGEST_MAGIC = b"CMB1"
HISTORY_MAGIC = b"CMH1"
BYTES_PER_POINT = 24
MAX_BATCH_ID_LENGTH = 64

Columns = tuple["array[int]", "array[int]", "array[float]"]
MetricColumns = Mapping[tuple[str, str], Columns]

_BIG_ENDIAN = sys.byteorder == "big"
_BATCH_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")
_JSON_SPECIALS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def validate_batch_id(batch_id: object) -> str:
    """Check a client-chosen batch id: 1-64 characters of letters, digits, `_` and `-`."""
    if (
        not isinstance(batch_id, str)
        or not 0 < len(batch_id) <= MAX_BATCH_ID_LENGTH
        or not set(batch_id) <= _BATCH_ID_CHARS
    ):
        raise InvalidArgument(
            f"batch_id {str(batch_id)[:80]!r} must be 1-64 characters of letters, digits, '_' and '-'"
        )
    return batch_id


def encoded_size(columns: MetricColumns) -> int:
    """The approximate size in bytes of the ingestion body for `columns` (header estimated)."""
    header = sum(len(run_id) + len(key) + 32 for run_id, key in columns)
    return 96 + header + BYTES_PER_POINT * sum(len(cols[2]) for cols in columns.values())


def encode_ingest(batch_id: str, columns: MetricColumns) -> bytes:
    """Encode a batch of metric columns as an `application/x-cairn-metrics` body."""
    series = []
    for (run_id, key), (steps, timestamps, values) in columns.items():
        if not len(steps) == len(timestamps) == len(values):
            raise InvalidArgument(f"metric {key!r}: steps, timestamps and values differ in length")
        series.append([run_id, key, len(values)])
    header = json.dumps({"batch_id": batch_id, "series": series}, separators=(",", ":")).encode()
    parts = [INGEST_MAGIC, struct.pack("<I", len(header)), header]
    for cols in columns.values():
        parts.extend(_little_endian(col) for col in cols)
    return b"".join(parts)


def decode_ingest(body: bytes) -> tuple[str, dict[tuple[str, str], Columns]]:
    """Decode an `application/x-cairn-metrics` body into its batch id and metric columns.

    Raises:
        InvalidArgument: naming what is malformed (magic, header, a series, or the body length).
    """
    if len(body) < 8 or body[:4] != INGEST_MAGIC:
        raise InvalidArgument("metric batch body must start with the magic bytes b'CMB1'")
    (header_length,) = struct.unpack_from("<I", body, 4)
    if 8 + header_length > len(body):
        raise InvalidArgument(f"metric batch header length {header_length} runs past the end of the body")
    batch_id, series = _parse_ingest_header(body[8 : 8 + header_length])
    expected = 8 + header_length + BYTES_PER_POINT * sum(count for _, _, count in series)
    if len(body) != expected:
        raise InvalidArgument(f"metric batch body is {len(body)} bytes; its header describes {expected}")
    view = memoryview(body)
    offset = 8 + header_length
    columns: dict[tuple[str, str], Columns] = {}
    for run_id, key, count in series:
        if (run_id, key) in columns:
            raise InvalidArgument(f"metric batch names run {run_id} metric {key!r} twice")
        size = 8 * count
        steps = _column("q", view[offset : offset + size])
        timestamps = _column("q", view[offset + size : offset + 2 * size])
        values = _column("d", view[offset + 2 * size : offset + 3 * size])
        columns[(run_id, key)] = (steps, timestamps, values)
        offset += 3 * size
    return batch_id, columns


def _parse_ingest_header(raw: bytes) -> tuple[str, list[tuple[str, str, int]]]:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise InvalidArgument("metric batch header is not UTF-8 JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("series"), list):
        raise InvalidArgument("metric batch header must be an object with 'batch_id' and 'series'")
    batch_id = validate_batch_id(header.get("batch_id"))
    series = []
    for index, item in enumerate(header["series"]):
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not isinstance(item[0], str)
            or not isinstance(item[1], str)
            or isinstance(item[2], bool)
            or not isinstance(item[2], int)
            or item[2] < 0
        ):
            raise InvalidArgument(f"metric batch series[{index}] must be [run_id, key, point count]")
        series.append((item[0], item[1], item[2]))
    return batch_id, series


def encode_history(history: MetricHistory) -> bytes:
    """Encode a metric history as the compact binary form."""
    return b"".join(
        [
            HISTORY_MAGIC,
            struct.pack("<Q", len(history)),
            _little_endian(history.steps),
            _little_endian(history.timestamps),
            _little_endian(history.values),
        ]
    )


def decode_history(key: str, body: bytes) -> MetricHistory:
    """Decode the compact binary form of a metric history.

    Raises:
        InvalidArgument: if the body is not a well-formed binary history.
    """
    if len(body) < 12 or body[:4] != HISTORY_MAGIC:
        raise InvalidArgument(f"metric {key!r}: the history body does not start with b'CMH1'")
    (count,) = struct.unpack_from("<Q", body, 4)
    if len(body) != 12 + BYTES_PER_POINT * count:
        raise InvalidArgument(f"metric {key!r}: the history body is {len(body)} bytes for {count} points")
    view = memoryview(body)
    size = 8 * count
    return MetricHistory(
        key,
        _column("q", view[12 : 12 + size]),
        _column("q", view[12 + size : 12 + 2 * size]),
        _column("d", view[12 + 2 * size :]),
    )


def float_to_json(value: float) -> float | str:
    """A float as JSON can carry it: NaN and infinities become "NaN", "Infinity" and "-Infinity"."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def float_from_json(value: Any, field: str) -> float:
    """Read a float written by `float_to_json` (a JSON number or one of the three special strings)."""
    if isinstance(value, str) and value in _JSON_SPECIALS:
        return _JSON_SPECIALS[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{field} must be a number, 'NaN', 'Infinity' or '-Infinity'; got {value!r}")
    return float(value)


def _little_endian(column: array[Any]) -> bytes:
    if not _BIG_ENDIAN:
        return column.tobytes()
    swapped = array(column.typecode, column)
    swapped.byteswap()
    return swapped.tobytes()


def _column(typecode: str, data: memoryview) -> array[Any]:
    column = array(typecode)
    column.frombytes(data)
    if _BIG_ENDIAN:
        column.byteswap()
    return column
