"""A run records its code version and environment without being asked, and both can be turned off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.settings import Settings
from cairn.tracking.client import TrackingClient

SCRIPT = """
import json, sys
import cairn
cairn.set_tracking_uri(sys.argv[1])
with cairn.start_run() as run:
    cairn.log_metric("m", 1.0)
print(json.dumps({"run_id": run.run_id}))
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _run_script(repo: Path, store: Path, capture: str) -> str:
    env = {**os.environ, "CAIRN_CAPTURE_CODE": capture, "CAIRN_CAPTURE_ENVIRONMENT": capture}
    out = subprocess.run(
        [sys.executable, str(repo / "train.py"), str(store)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    run_id: str = json.loads(out.strip().splitlines()[-1])["run_id"]
    return run_id


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "T")
    (repo / "train.py").write_text(SCRIPT)
    (repo / "model.py").write_text("LAYERS = 2\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    _git(repo, "remote", "add", "origin", "https://user:secret@example.invalid/team/project.git")
    return repo


def test_code_version_and_environment_are_recorded(repo: Path, tmp_path: Path, settings: Settings) -> None:
    (repo / "model.py").write_text("LAYERS = 3\n")
    store = tmp_path / "store"
    run_id = _run_script(repo, store, "true")
    client = TrackingClient(str(store), settings=settings)
    tags = client.get_run(run_id).data.tags
    assert tags["mlflow.source.git.commit"] == _git(repo, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.git.repoURL"] == "https://example.invalid/team/project.git"
    assert tags["mlflow.source.name"] == "train.py"
    assert tags["cairn.git.dirty"] == "true"
    assert tags["cairn.python.version"] == ".".join(map(str, sys.version_info[:3]))
    diff = Path(client.download_artifacts(run_id, "code/uncommitted.diff", tmp_path / "d")).read_text()
    assert "+LAYERS = 3" in diff
    requirements = Path(client.download_artifacts(run_id, "environment/requirements.txt", tmp_path / "e"))
    assert any(line.startswith("sqlalchemy==") for line in requirements.read_text().splitlines())


def test_capture_can_be_turned_off(repo: Path, tmp_path: Path, settings: Settings) -> None:
    store = tmp_path / "store"
    run_id = _run_script(repo, store, "false")
    client = TrackingClient(str(store), settings=settings)
    tags = client.get_run(run_id).data.tags
    assert not any(key.startswith(("mlflow.source.git", "cairn.python")) for key in tags)
    assert client.list_artifacts(run_id) == []
