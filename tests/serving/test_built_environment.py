"""End to end: a build context's model gets its own environment from the lock, and serves from it.

No container engine runs here, so the test does what the Dockerfile does, outside Docker: build a virtual
environment from the context's lock plus Cairn (venv + pip, from the machine's package index), start the
entrypoint with that environment's Python, and compare its predictions with in-process ones.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pandas as pd
import pytest
from model_server_process import ModelServerProcess

from cairn.models import LoadedModel
from cairn.models.build_context import write_build_context
from cairn.models.environment_builder import build_environment


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_build_context_environment_serves_like_in_process(
    tmp_path: Path, sklearn_package: Path, sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    context = write_build_context(sklearn_package, tmp_path / "context")
    output: list[str] = []
    env_python = build_environment(
        context / "model", tmp_path / "env", installer="pip", on_output=output.append
    )

    installed = subprocess.run(
        [str(env_python), "-m", "pip", "freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for pin in (context / "requirements.lock").read_text().split():
        assert pin in installed, (pin, installed)

    with ModelServerProcess(env_python, context / "model") as server:
        response = httpx.post(
            f"{server.url}/invocations",
            json={"dataframe_records": features.to_dict(orient="records")},
            timeout=60,
        )
        csv = httpx.post(
            f"{server.url}/invocations",
            content=features.to_csv(index=False),
            headers={"Content-Type": "text/csv"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    expected = sklearn_model.predict(features).tolist()
    assert response.json() == {"predictions": expected}
    assert csv.json() == {"predictions": expected}
    assert not any("EnvironmentMismatchWarning" in line for line in server.stderr_lines())
