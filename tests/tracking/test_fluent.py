"""The fluent API: active runs, nesting, statuses at exit, search as a DataFrame, and the public surface."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import cairn
from cairn.entities import RunStatus
from cairn.errors import InvalidArgument
from cairn.settings import Settings
from cairn.tracking.client import TrackingClient


@pytest.fixture
def store(tmp_path: Path) -> str:
    uri = str(tmp_path / "store")
    cairn.set_tracking_uri(uri)
    return uri


def test_nested_runs_and_statuses(store: str) -> None:
    cairn.set_experiment("fluent")
    with cairn.start_run(run_name="parent") as parent:
        assert cairn.active_run() is parent
        with pytest.raises(InvalidArgument, match="nested=True"):
            cairn.start_run()
        with cairn.start_run(run_name="child", nested=True) as child:
            assert cairn.active_run() is child
            cairn.log_metric("loss", 0.5)
        assert cairn.active_run() is parent
        with pytest.raises(ZeroDivisionError), cairn.start_run(run_name="broken", nested=True) as broken:
            1 / 0  # noqa: B018
    assert cairn.active_run() is None
    assert cairn.get_run(parent.run_id).info.status is RunStatus.FINISHED
    assert cairn.get_run(broken.run_id).info.status is RunStatus.FAILED
    child_run = cairn.get_run(child.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.run_id
    assert child_run.data.metrics == {"loss": 0.5}


def test_end_run_status_and_resume(store: str) -> None:
    run = cairn.start_run(run_name="resumable")
    cairn.log_param("a", 1)
    cairn.end_run("KILLED")
    assert cairn.get_run(run.run_id).info.status is RunStatus.KILLED
    with cairn.start_run(run_id=run.run_id):
        cairn.log_param("b", 2)
    resumed = cairn.get_run(run.run_id)
    assert resumed.info.status is RunStatus.FINISHED and resumed.data.params == {"a": "1", "b": "2"}
    with pytest.raises(InvalidArgument, match="status"):
        cairn.end_run("DONE-ISH")


def test_logging_without_a_run_starts_one(store: str) -> None:
    cairn.log_param("auto", "yes")
    active = cairn.active_run()
    assert active is not None
    cairn.end_run()
    assert cairn.get_run(active.run_id).data.params == {"auto": "yes"}


def test_search_runs_dataframe_and_list(store: str) -> None:
    cairn.set_experiment("frames")
    for i in range(3):
        with cairn.start_run(run_name=f"r{i}"):
            cairn.log_metric("acc", i / 10)
            cairn.log_param("i", i)
            cairn.set_tag("even", i % 2 == 0)
    frame = cairn.search_runs(filter_string="metrics.acc >= 0.1", order_by=["metrics.acc DESC"])
    assert isinstance(frame, pd.DataFrame)
    assert frame["run_name"].tolist() == ["r2", "r1"]
    assert frame["params.i"].tolist() == ["2", "1"] and frame["tags.even"].tolist() == ["True", "False"]
    assert {"run_id", "status", "start_time", "metrics.acc"} <= set(frame.columns)
    runs = cairn.search_runs(experiment_names=["frames"], output_format="list", max_results=2)
    assert isinstance(runs, list) and len(runs) == 2
    assert len(cairn.search_experiments(filter_string="name = 'frames'")) == 1


def test_set_experiment_rejects_deleted(store: str) -> None:
    experiment = cairn.set_experiment("to-delete")
    TrackingClient().delete_experiment(experiment.experiment_id)
    with pytest.raises(InvalidArgument, match="deleted"):
        cairn.set_experiment("to-delete")


EXIT_SCRIPT = """
import json, sys
import cairn
cairn.set_tracking_uri(sys.argv[1])
run = cairn.start_run()
print(json.dumps({"run_id": run.run_id}), flush=True)
for step in range(500):
    cairn.log_metric("m", step, step=step)
mode = sys.argv[2]
if mode == "raise":
    raise RuntimeError("boom")
if mode == "hang":
    import time
    time.sleep(600)
"""


def _start(store: str, mode: str, tmp_path: Path) -> subprocess.Popen[str]:
    script = tmp_path / "exit_script.py"
    script.write_text(EXIT_SCRIPT)
    env = {**os.environ, "CAIRN_HEARTBEAT_INTERVAL": "0.2"}
    return subprocess.Popen(
        [sys.executable, str(script), store, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.parametrize(("mode", "status"), [("finish", RunStatus.FINISHED), ("raise", RunStatus.FAILED)])
def test_runs_are_ended_and_flushed_at_exit(store: str, tmp_path: Path, mode: str, status: RunStatus) -> None:
    proc = _start(store, mode, tmp_path)
    out, _ = proc.communicate(timeout=120)
    run_id = json.loads(out.splitlines()[0])["run_id"]
    run = cairn.get_run(run_id)
    assert run.info.status is status
    assert len(cairn.get_metric_history(run_id, "m")) == 500


def test_killed_process_leaves_a_run_that_fails_after_the_timeout(
    store: str, tmp_path: Path, settings: Settings
) -> None:
    proc = _start(store, "hang", tmp_path)
    assert proc.stdout is not None
    run_id = json.loads(proc.stdout.readline())["run_id"]
    client = TrackingClient(store, settings=settings)
    deadline = time.monotonic() + 60
    while len(client.store.get_metric_history(run_id, "m")) < 500 and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the background flush of the hanging process
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert client.get_run(run_id).info.status is RunStatus.RUNNING
    from cairn.store.sql import SqlStore

    strict = SqlStore(f"sqlite:///{Path(store) / 'cairn.db'}", "file:///unused", heartbeat_timeout=0.5)
    deadline = time.monotonic() + 30
    while strict.get_run(run_id).info.status is RunStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.1)
    assert strict.get_run(run_id).info.status is RunStatus.FAILED
    assert len(strict.get_metric_history(run_id, "m")) == 500
    strict.close()


def test_public_surface_is_sorted_and_resolves() -> None:
    assert cairn.__all__ == sorted(cairn.__all__)
    for name in cairn.__all__:
        assert getattr(cairn, name) is not None
    with pytest.raises(AttributeError):
        cairn.not_a_thing  # type: ignore[attr-defined]  # noqa: B018


def test_import_cairn_stays_light() -> None:
    heavy = ("sqlalchemy", "pandas", "numpy", "fsspec", "sklearn", "torch", "fastapi", "alembic")
    code = f"import sys, cairn; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_system_metrics_are_sampled_while_the_run_is_active(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_SYSTEM_METRICS_INTERVAL", "0.05")
    cairn.set_tracking_uri(store)  # re-read settings from the environment
    with cairn.start_run(log_system_metrics=True) as run:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cairn.flush()
            if len(cairn.get_metric_history(run.run_id, "system/cpu_utilization_percentage")) >= 2:
                break
            time.sleep(0.05)
    history = cairn.get_metric_history(run.run_id, "system/cpu_utilization_percentage")
    assert len(history) >= 2
    assert [m.step for m in history] == list(range(len(history)))
    assert "system/system_memory_usage_megabytes" in cairn.get_run(run.run_id).data.metrics
