"""MLflow REST calls with pre-encoded JSON over one keep-alive connection: a server measured without a client.

The MLflow Python client spends milliseconds of CPU per request (protobuf messages, JSON, `requests`) on the
same two cores as the server. These calls cost microseconds, so what they time is mostly the server.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

API = "/api/2.0/mlflow"


class RestCalls:
    """POST JSON bodies to one server over a single HTTP/1.1 keep-alive connection."""

    def __init__(self, port: int, timeout: float = 300.0) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self._headers = {"Content-Type": "application/json"}

    def post_raw(self, path: str, body: bytes) -> bytes:
        """POST a body; return the response body. Raises on any status but 200."""
        self._conn.request("POST", API + path, body=body, headers=self._headers)
        response = self._conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path} answered {response.status}: {data[:300]!r}")
        return data

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST a payload as JSON; return the decoded JSON answer."""
        return json.loads(self.post_raw(path, json.dumps(payload).encode()))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def metric_batches(run_id: str, keys: list[str], points: int, per_call: int) -> list[bytes]:
    """log-batch bodies for `points` points over `keys` in turn, `per_call` metrics each, encoded up front."""
    stamp = int(time.time() * 1000)
    bodies = []
    for first in range(0, points, per_call):
        metrics = [
            {"key": keys[i % len(keys)], "value": 0.5, "timestamp": stamp, "step": i // len(keys)}
            for i in range(first, min(points, first + per_call))
        ]
        bodies.append(json.dumps({"run_id": run_id, "metrics": metrics}).encode())
    return bodies


def create_experiment(calls: RestCalls, name: str) -> str:
    """Create an experiment; return its id."""
    return str(calls.post("/experiments/create", {"name": name})["experiment_id"])


def create_run(calls: RestCalls, experiment_id: str) -> str:
    """Create a run; return its id."""
    answer = calls.post(
        "/runs/create", {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)}
    )
    return str(answer["run"]["info"]["run_id"])


def full_run(
    calls: RestCalls,
    experiment_id: str,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
) -> str:
    """create, log-batch (params, metrics, tags), update to FINISHED: the MLflow client's three requests."""
    run_id = create_run(calls, experiment_id)
    stamp = int(time.time() * 1000)
    body = {
        "run_id": run_id,
        "metrics": [{"key": k, "value": v, "timestamp": stamp, "step": 0} for k, v in metrics.items()],
        "params": [{"key": k, "value": v} for k, v in params.items()],
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    calls.post_raw("/runs/log-batch", json.dumps(body).encode())
    calls.post("/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
    return run_id


def page_through(calls: RestCalls, experiment_id: str, page_size: int, max_pages: int) -> tuple[int, int]:
    """Follow next_page_token through every run of an experiment; return (runs seen, pages)."""
    seen, pages, token = 0, 0, None
    while pages < max_pages:
        payload: dict[str, Any] = {"experiment_ids": [experiment_id], "max_results": page_size}
        if token:
            payload["page_token"] = token
        answer = calls.post("/runs/search", payload)
        pages += 1
        seen += len(answer.get("runs", []))
        token = answer.get("next_page_token")
        if not token:
            break
    return seen, pages
