"""Bulk metric ingestion (POST /api/v1/metrics/ingest): the binary body, idempotency, refusals, limits."""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cairn.store.sql import SqlStore
from cairn.store.wire_format import INGEST_CONTENT_TYPE, encode_ingest
from live_server import LiveServer, serve

INGEST = "/api/v1/metrics/ingest"
HEADERS = {"Content-Type": INGEST_CONTENT_TYPE}


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def _run_id(http: httpx.Client) -> str:
    body = {"experiment_id": "0", "user_id": "u", "start_time": 1, "run_name": "r"}
    run_id: str = http.post("/api/v1/runs", json=body).json()["info"]["run_id"]
    return run_id


def _columns(
    run_id: str, key: str, n: int
) -> dict[tuple[str, str], tuple[array[int], array[int], array[float]]]:
    return {(run_id, key): (array("q", range(n)), array("q", [7] * n), array("d", [i / 2 for i in range(n)]))}


def _history(http: httpx.Client, run_id: str, key: str) -> list[float]:
    values: list[float] = http.get(f"/api/v1/runs/{run_id}/metrics/{key}/history").json()["values"]
    return values


def test_a_batch_sent_twice_is_applied_once(http: httpx.Client, live_server: LiveServer) -> None:
    run_id = _run_id(http)
    batch_id = uuid.uuid4().hex
    body = encode_ingest(batch_id, _columns(run_id, "loss", 3))
    first = http.post(INGEST, content=body, headers=HEADERS)
    assert first.status_code == 200
    assert first.json() == {"batch_id": batch_id, "applied": True, "points": 3}
    second = http.post(INGEST, content=body, headers=HEADERS)
    assert second.json() == {"batch_id": batch_id, "applied": False, "points": 3}
    assert _history(http, run_id, "loss") == [0.0, 0.5, 1.0]
    other = http.post(
        INGEST, content=encode_ingest(uuid.uuid4().hex, _columns(run_id, "loss", 1)), headers=HEADERS
    )
    assert other.json()["applied"] is True
    assert _history(http, run_id, "loss") == [0.0, 0.5, 1.0, 0.0]
    store = live_server.services.store
    assert isinstance(store, SqlStore)
    assert store.prune_ingest_batches(older_than_ms=3_600_000) == 0  # recent ids are kept


def test_a_refused_batch_leaves_no_trace_and_can_be_retried(http: httpx.Client) -> None:
    alive, doomed = _run_id(http), _run_id(http)
    http.delete(f"/api/v1/runs/{doomed}")
    batch_id = uuid.uuid4().hex
    body = encode_ingest(batch_id, {**_columns(alive, "m", 2), **_columns(doomed, "m", 2)})
    refused = http.post(INGEST, content=body, headers=HEADERS)
    assert refused.status_code == 400 and "deleted" in refused.json()["message"]
    assert _history(http, alive, "m") == []  # all or nothing
    http.post(f"/api/v1/runs/{doomed}/restore")
    retried = http.post(INGEST, content=body, headers=HEADERS)
    assert retried.json()["applied"] is True  # the refused attempt did not record the id
    assert _history(http, alive, "m") == [0.0, 0.5] and _history(http, doomed, "m") == [0.0, 0.5]
    unknown = http.post(INGEST, content=encode_ingest("b2", _columns("f" * 32, "m", 1)), headers=HEADERS)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda body: b"XXXX" + body[4:], "magic"),
        (lambda body: body[:-1], "bytes"),
        (lambda body: body + b"\0" * 24, "bytes"),
        (lambda body: body[:8] + b"[" + body[9:], "JSON"),
        (lambda body: body[:4] + b"\xff\xff\xff\x00" + body[8:], "header length"),
    ],
)
def test_malformed_bodies_are_refused_with_the_problem_named(
    http: httpx.Client, mutate: object, fragment: str
) -> None:
    body = encode_ingest("b1", _columns(_run_id(http), "m", 2))
    response = http.post(INGEST, content=mutate(body), headers=HEADERS)  # type: ignore[operator]
    assert response.status_code == 400
    assert (
        response.json()["error_code"] == "INVALID_PARAMETER_VALUE" and fragment in response.json()["message"]
    )


def test_bad_ids_keys_and_content_types(http: httpx.Client) -> None:
    run_id = _run_id(http)
    bad_id = http.post(INGEST, content=encode_ingest("../x", _columns(run_id, "m", 1)), headers=HEADERS)
    assert bad_id.status_code == 400 and "batch_id" in bad_id.json()["message"]
    bad_key = http.post(INGEST, content=encode_ingest("b", _columns(run_id, "../m", 1)), headers=HEADERS)
    assert bad_key.status_code == 400 and "metric key" in bad_key.json()["message"]
    body = encode_ingest("b", _columns(run_id, "m", 1))
    as_json = http.post(INGEST, content=body, headers={"Content-Type": "application/json"})
    assert as_json.status_code == 415 and INGEST_CONTENT_TYPE in as_json.json()["message"]


def test_bodies_over_the_limit_get_413(tmp_path: Path) -> None:
    server = serve(str(tmp_path / "store"), tmp_path / "artifacts", max_body_bytes=4096)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            run_id = _run_id(http)
            small = http.post(INGEST, content=encode_ingest("s", _columns(run_id, "m", 10)), headers=HEADERS)
            assert small.status_code == 200
            big = encode_ingest("b", _columns(run_id, "m", 1000))
            declared = http.post(INGEST, content=big, headers=HEADERS)
            assert declared.status_code == 413 and declared.json()["error_code"] == "REQUEST_TOO_LARGE"

            def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
                yield big[:3000]
                yield big[3000:]

            streamed = http.post(INGEST, content=chunks(), headers=HEADERS)
            assert streamed.status_code == 413
            assert len(_history(http, run_id, "m")) == 10
    finally:
        server.stop()
