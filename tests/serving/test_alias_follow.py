"""Serving by alias: the server follows the registry, swapping versions atomically while requests flow."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest
from champion_registry import BODY, LABELS, NAME, WAIT_S, champion_registry, log_version, wait_until
from model_server_process import ModelServerProcess
from scoring_server import serving
from starlette.applications import Starlette

import cairn
import cairn.sklearn
from cairn.errors import InvalidArgument
from cairn.models.package import load_model
from cairn.models.remote import fetch_model
from cairn.registry.client import RegistryClient
from cairn.serving.alias_follower import AliasFollower
from cairn.serving.app import BatchingOptions, create_scoring_app
from cairn.serving.model_slot import ModelSlot


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryClient]:
    """An embedded store under tmp_path whose model `m` has version 1 (LABELS) and 2 (LABELS flipped)."""
    yield champion_registry(tmp_path, monkeypatch, "alias-follow")
    cairn.set_tracking_uri(None)


class _Traffic:
    """Client threads posting the features in a loop, keeping every answer (or failure) in order."""

    def __init__(self, url: str, threads: int = 3) -> None:
        self.url = url
        self.answers: list[list[tuple[int, ...]]] = [[] for _ in range(threads)]
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post, args=(i,)) for i in range(threads)]

    def _post(self, index: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                try:
                    response = client.post("/invocations", json=BODY)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text}")
                    continue
                self.answers[index].append(tuple(response.json()["predictions"]))

    def seen(self, predictions: np.ndarray) -> bool:
        return any(tuple(predictions) in answers for answers in self.answers)

    def __enter__(self) -> _Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=WAIT_S)


def _app(registry: RegistryClient, tmp_path: Path, batching: BatchingOptions | None) -> Starlette:
    slot = ModelSlot(load_model(fetch_model(f"models:/{NAME}/1", tracking_uri=_uri(registry))), "1")
    follower = AliasFollower(registry, NAME, "champion", slot, poll_seconds=0.1)
    return create_scoring_app(
        slot, model_name=NAME, model_uri=f"models:/{NAME}@champion", batching=batching, follower=follower
    )


def _uri(registry: RegistryClient) -> str:
    return registry.tracking.tracking_uri


@pytest.mark.parametrize("batching", [None, BatchingOptions(max_batch_size=16, max_wait_ms=1.0)])
def test_moving_the_alias_swaps_the_served_version_without_failing_a_request(
    registry: RegistryClient, tmp_path: Path, batching: BatchingOptions | None
) -> None:
    with (
        serving(_app(registry, tmp_path, batching), lifespan="on") as http,
        _Traffic(str(http.base_url)) as traffic,
    ):
        wait_until(lambda: traffic.seen(LABELS), "answers from version 1")
        assert http.get("/metadata").json()["model_version"] == "1"
        registry.set_alias(NAME, "champion", 2)
        wait_until(lambda: traffic.seen(1 - LABELS), "answers from version 2")
        metadata = http.get("/metadata").json()
        oip = http.get(f"/v2/models/{NAME}").json()
        metrics = http.get("/metrics").text
        after = http.post("/invocations", json=BODY).json()["predictions"]
    assert traffic.failures == []
    for answers in traffic.answers:  # each client saw version 1, then version 2, never back
        assert set(answers) <= {tuple(LABELS), tuple(1 - LABELS)}
        switched = [answer == tuple(1 - LABELS) for answer in answers]
        assert switched == sorted(switched)
    assert metadata["model_version"] == "2" and metadata["model_uri"] == f"models:/{NAME}@champion"
    assert metadata["follow"]["swaps"] == 1 and metadata["follow"]["failures"] == 0
    assert oip["versions"] == ["2"]
    assert 'model_version="2"' in metrics
    assert after == list(1 - LABELS)


def test_a_version_that_fails_to_load_leaves_the_old_one_serving(
    registry: RegistryClient, tmp_path: Path
) -> None:
    log_version(LABELS)  # version 3, as good as version 1
    tampered = next(Path(urlparse(registry.artifact_location(f"models:/{NAME}/2")).path).rglob("*.skops"))
    tampered.write_bytes(tampered.read_bytes() + b"x")
    with (
        serving(_app(registry, tmp_path, None), lifespan="on") as http,
        _Traffic(str(http.base_url)) as traffic,
    ):
        wait_until(lambda: traffic.seen(LABELS), "answers from version 1")
        registry.set_alias(NAME, "champion", 2)
        wait_until(lambda: http.get("/metadata").json()["follow"]["failures"] >= 1, "the failed load")
        during = http.get("/metadata").json()
        still = http.post("/invocations", json=BODY).json()["predictions"]
        registry.set_alias(NAME, "champion", 3)
        wait_until(lambda: http.get("/metadata").json()["model_version"] == "3", "version 3")
    assert traffic.failures == []
    assert not traffic.seen(1 - LABELS)
    assert during["model_version"] == "1"
    assert "version 2" in during["follow"]["last_error"] and tampered.name in during["follow"]["last_error"]
    assert still == list(LABELS)


def test_the_follower_checks_its_arguments(registry: RegistryClient) -> None:
    slot = ModelSlot(load_model(fetch_model(f"models:/{NAME}/1", tracking_uri=_uri(registry))), "1")
    with pytest.raises(InvalidArgument, match="poll_seconds"):
        AliasFollower(registry, NAME, "champion", slot, poll_seconds=0)
    other = ModelSlot(slot.current().model, "1")
    with pytest.raises(InvalidArgument, match="follower"):
        create_scoring_app(slot, follower=AliasFollower(registry, NAME, "champion", other))


def test_cli_serve_follow_alias_switches_versions(registry: RegistryClient, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "cairn.cli",
        "--tracking-uri",
        _uri(registry),
        "models",
        "serve",
        f"models:/{NAME}@champion",
        "--port",
        "0",
        "--follow-alias",
        "--poll-seconds",
        "0.1",
    ]
    with ModelServerProcess(sys.executable, tmp_path, command) as server:
        assert httpx.post(f"{server.url}/invocations", json=BODY).json()["predictions"] == list(LABELS)
        registry.set_alias(NAME, "champion", 2)
        wait_until(
            lambda: httpx.get(f"{server.url}/metadata").json()["model_version"] == "2", "the CLI to swap"
        )
        assert httpx.post(f"{server.url}/invocations", json=BODY).json()["predictions"] == list(1 - LABELS)
    assert any("now serving version 2" in line for line in server.stderr_lines())


def test_cli_follow_alias_needs_an_alias_uri(registry: RegistryClient) -> None:
    from click.testing import CliRunner

    from cairn.cli.main import cli

    result = CliRunner().invoke(
        cli, ["--tracking-uri", _uri(registry), "models", "serve", f"models:/{NAME}/1", "--follow-alias"]
    )
    assert result.exit_code == 1
    assert "--follow-alias needs a models:/<name>@<alias> URI" in result.output
