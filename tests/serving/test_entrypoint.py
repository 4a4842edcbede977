"""`python -m cairn.serving.entrypoint` and `cairn models serve` as processes: serve, stop, refuse."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest
from model_server_process import ModelServerProcess, entrypoint_command

from cairn.models import LoadedModel


@pytest.mark.slow
def test_entrypoint_serves_the_package_and_stops_cleanly(
    sklearn_package: Path, sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    server = ModelServerProcess(sys.executable, sklearn_package).wait_ready()
    try:
        response = httpx.post(
            f"{server.url}/invocations",
            json={"dataframe_split": features.to_dict(orient="split")},
            timeout=30,
        )
        version = httpx.get(f"{server.url}/version", timeout=30)
    finally:
        status = server.stop()
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": sklearn_model.predict(features).tolist()}
    assert version.json()["flavor"] == "sklearn"
    assert status == 0
    assert any(
        "Cairn model server (sklearn) serving http://127.0.0.1:" in line for line in server.stderr_lines()
    )


def test_entrypoint_refuses_a_tampered_package(tmp_path: Path, sklearn_package: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sklearn_package, copy)
    (copy / "requirements.txt").write_text("scikit-learn==0.0.1\n")
    result = subprocess.run(
        [sys.executable, "-m", "cairn.serving.entrypoint", "--model", str(copy), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "cannot serve" in result.stderr
    assert "'requirements.txt' was altered" in result.stderr


def test_entrypoint_rejects_a_bad_port() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cairn.serving.entrypoint", "--model", "x", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "port must be between 0 and 65535, got 70000" in result.stderr


@pytest.mark.slow
def test_cli_serve_serves_the_package(sklearn_package: Path, features: pd.DataFrame) -> None:
    script = (
        "import sys; from cairn.cli.context import CliContext; from cairn.cli.models import models_group; "
        "models_group.main(sys.argv[1:], obj=CliContext(None))"
    )
    command = [sys.executable, "-c", script, "serve", str(sklearn_package), "--port", "0"]
    with ModelServerProcess(sys.executable, sklearn_package, command) as server:
        response = httpx.post(f"{server.url}/invocations", json={"inputs": features.to_dict(orient="list")})
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == len(features)


@pytest.mark.slow
def test_several_workers_share_the_port_and_stop_cleanly(
    sklearn_package: Path, features: pd.DataFrame
) -> None:
    import psutil

    command = [*entrypoint_command(sys.executable, sklearn_package), "--workers", "2"]
    server = ModelServerProcess(sys.executable, sklearn_package, command).wait_ready()
    try:
        answers = [
            httpx.post(
                f"{server.url}/invocations", json={"inputs": features.to_dict(orient="list")}, timeout=30
            )
            for _ in range(6)
        ]
        commands = []
        for child in psutil.Process(server.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                commands.append(" ".join(child.cmdline()))
    finally:
        status = server.stop()
    assert all(answer.status_code == 200 for answer in answers)
    assert len({tuple(answer.json()["predictions"]) for answer in answers}) == 1
    assert len([command for command in commands if "spawn_main" in command]) >= 2
    assert any("(sklearn, 2 workers) serving http://" in line for line in server.stderr_lines())
    assert status == 0


@pytest.mark.slow
def test_cli_serves_a_champion_with_a_shadow_challenger(
    sklearn_package: Path, features: pd.DataFrame, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    from cairn.models import save_model

    challenger = tmp_path / "challenger"
    save_model(LogisticRegression(C=0.01).fit(features, [0, 1, 0, 1, 0, 1]), challenger)
    policy = tmp_path / "policy.yaml"
    policy.write_text("mode: shadow\n")
    script = (
        "import sys; from cairn.cli.context import CliContext; from cairn.cli.models import models_group; "
        "models_group.main(sys.argv[1:], obj=CliContext(None))"
    )
    command = [sys.executable, "-c", script, "serve", str(sklearn_package), "--port", "0"]
    command += ["--challenger", str(challenger), "--traffic-policy", str(policy)]
    with ModelServerProcess(sys.executable, sklearn_package, command) as server:
        answers = [
            httpx.post(
                f"{server.url}/invocations", json={"inputs": features.to_dict(orient="list")}, timeout=30
            )
            for _ in range(3)
        ]
        traffic = httpx.get(f"{server.url}/metadata", timeout=30).json()["traffic"]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert traffic["mode"] == "shadow"
    assert traffic["requests"].get("champion") == 3
