"""The binary wire formats and the client's chunk planning, without a server."""

from __future__ import annotations

import math
import struct
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cairn.entities import MetricHistory
from cairn.errors import InvalidArgument
from cairn.store.rest.ingest import plan_chunks
from cairn.store.wire_format import (
    decode_history,
    decode_ingest,
    encode_history,
    encode_ingest,
    float_from_json,
    float_to_json,
    validate_batch_id,
)

Cols = tuple["array[int]", "array[int]", "array[float]"]
ODD = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]


def _cols(values: list[float], first_step: int = 0) -> Cols:
    n = len(values)
    return array("q", range(first_step, first_step + n)), array("q", [2**62] * n), array("d", values)


def test_ingest_body_round_trips_bit_for_bit() -> None:
    columns = {
        ("r1", "loss"): _cols(ODD),
        ("r2", "a/b c:d"): _cols([1.0], -(2**63)),
        ("r1", "empty"): _cols([]),
    }
    body = encode_ingest("batch-1", columns)
    assert body[:4] == b"CMB1"
    (header_length,) = struct.unpack_from("<I", body, 4)
    assert len(body) == 8 + header_length + 24 * (len(ODD) + 1)
    batch_id, decoded = decode_ingest(body)
    assert batch_id == "batch-1" and list(decoded) == list(columns)
    for pair, (steps, stamps, values) in columns.items():
        assert decoded[pair][0] == steps and decoded[pair][1] == stamps
        assert decoded[pair][2].tobytes() == values.tobytes()


def test_ingest_refuses_unequal_columns_and_repeated_series() -> None:
    with pytest.raises(InvalidArgument, match="differ in length"):
        encode_ingest("b", {("r", "m"): (array("q", [1]), array("q"), array("d", [1.0]))})
    once = encode_ingest("b", {("r", "m"): _cols([1.0])})
    header_length = struct.unpack_from("<I", once, 4)[0]
    twice_header = b'{"batch_id":"b","series":[["r","m",1],["r","m",1]]}'
    twice = b"CMB1" + struct.pack("<I", len(twice_header)) + twice_header + once[8 + header_length :] * 2
    with pytest.raises(InvalidArgument, match="twice"):
        decode_ingest(twice)


@pytest.mark.parametrize(
    "header",
    [
        b'{"batch_id":"b"}',
        b'{"batch_id":"b","series":[["r","m",-1]]}',
        b'{"batch_id":"b","series":[["r","m",true]]}',
        b'{"batch_id":"b","series":[["r",1,1]]}',
        b'{"batch_id":"","series":[]}',
        b'["b"]',
    ],
)
def test_ingest_refuses_malformed_headers(header: bytes) -> None:
    with pytest.raises(InvalidArgument, match="batch|series|header"):
        decode_ingest(b"CMB1" + struct.pack("<I", len(header)) + header)


@pytest.mark.parametrize("batch_id", ["a" * 65, "a b", "../x", "é", 5])
def test_batch_ids_are_short_and_plain(batch_id: object) -> None:
    with pytest.raises(InvalidArgument, match="batch_id"):
        validate_batch_id(batch_id)
    assert validate_batch_id("0" * 32) == "0" * 32


def test_history_round_trips_nan_and_infinities() -> None:
    history = MetricHistory("m", *_cols(ODD, first_step=-3))
    body = encode_history(history)
    assert body[:4] == b"CMH1" and struct.unpack_from("<Q", body, 4) == (len(ODD),)
    assert decode_history("m", body) == history  # MetricHistory compares floats bit for bit
    assert len(decode_history("e", encode_history(MetricHistory("e", *_cols([]))))) == 0
    with pytest.raises(InvalidArgument, match="'m'"):
        decode_history("m", body[:-8])
    with pytest.raises(InvalidArgument, match="CMH1"):
        decode_history("m", b"JUNK" + body[4:])


def test_json_floats() -> None:
    assert [float_to_json(v) for v in (math.nan, math.inf, -math.inf, 1.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
    ]
    assert math.isnan(float_from_json("NaN", "v")) and float_from_json(3, "v") == 3.0
    assert float_from_json("-Infinity", "v") == -math.inf
    for bad in ("1.5", True, None, "nan"):
        with pytest.raises(InvalidArgument, match="value"):
            float_from_json(bad, "value")


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.tuples(st.sampled_from(["r1", "r2", "r3"]), st.integers(0, 300)), max_size=8),
    limit=st.integers(600, 5000),
)
def test_chunks_stay_under_the_limit_and_keep_every_point_in_order(
    sizes: list[tuple[str, int]], limit: int
) -> None:
    columns = {(run, f"m{i}"): _cols([float(j) for j in range(n)]) for i, (run, n) in enumerate(sizes)}
    chunks = plan_chunks(columns, limit)
    rebuilt: dict[tuple[str, str], list[float]] = {}
    for chunk in chunks:
        body = encode_ingest("0" * 32, {(s.run_id, s.key): _slice(s.columns, s.start, s.end) for s in chunk})
        assert len(body) <= limit
        assert len({(s.run_id, s.key) for s in chunk}) == len(chunk)  # a series at most once per chunk
        for piece in chunk:
            rebuilt.setdefault((piece.run_id, piece.key), []).extend(
                piece.columns[2][piece.start : piece.end]
            )
    assert rebuilt == {pair: list(cols[2]) for pair, cols in columns.items() if len(cols[2])}


def test_a_large_batch_is_planned_per_run_so_a_runs_chunks_do_not_depend_on_the_others() -> None:
    columns = {
        ("r2", "a"): _cols([1.0] * 200),
        ("r1", "a"): _cols([2.0] * 150),
        ("r1", "b"): _cols([3.0] * 10),
    }
    limit = 3000
    together = plan_chunks(columns, limit)
    assert len(together) > 2
    assert all(len({s.run_id for s in chunk}) == 1 for chunk in together)  # no chunk mixes runs
    order = [chunk[0].run_id for chunk in together]
    assert order == sorted(order)
    for run in ("r1", "r2"):
        alone = plan_chunks({pair: cols for pair, cols in columns.items() if pair[0] == run}, limit)
        mine = [chunk for chunk in together if chunk[0].run_id == run]
        assert alone == mine
    small = {("r2", "a"): _cols([1.0]), ("r1", "a"): _cols([2.0])}
    assert len(plan_chunks(small, limit)) == 1  # a batch that fits is one chunk, one transaction
    assert plan_chunks({("r", "m"): _cols([])}, limit) == []


def _slice(cols: Cols, start: int, end: int) -> Cols:
    return cols[0][start:end], cols[1][start:end], cols[2][start:end]
