"""Many processes logging into one store at once: nothing lost, no "database is locked"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cairn.settings import Settings
from cairn.tracking.client import TrackingClient

WORKER = textwrap.dedent(
    """
    import json, sys
    import cairn
    uri, worker, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    cairn.set_tracking_uri(uri)
    cairn.set_experiment("shared")
    with cairn.start_run(run_name=f"worker-{worker}") as run:
        cairn.log_params({f"p{i}": worker for i in range(20)})
        for step in range(points):
            cairn.log_metric("loss", step * 0.5, step=step)
            cairn.log_metric("acc", worker + step * 1e-6, step=step)
            if step % 1000 == 0:
                cairn.set_tag("progress", step)
    print(json.dumps({"run_id": run.run_id}))
    """
)


def _spawn(uri: str, workers: int, points: int, tmp_path: Path) -> list[str]:
    env = {**os.environ, "CAIRN_CAPTURE_CODE": "false", "CAIRN_CAPTURE_ENVIRONMENT": "false"}
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), uri, str(w), str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(workers)
    ]
    run_ids = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
            assert "locked" not in err
            run_ids.append(json.loads(out.strip().splitlines()[-1])["run_id"])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    return run_ids


@pytest.mark.slow
def test_sixteen_processes_share_a_fresh_embedded_store(tmp_path: Path, settings: Settings) -> None:
    uri = str(tmp_path / "shared-store")
    points = 5_000
    run_ids = _spawn(uri, 16, points, tmp_path)
    client = TrackingClient(uri, settings=settings)
    assert len(set(run_ids)) == 16
    for worker, run_id in enumerate(run_ids):
        run = client.get_run(run_id)
        assert run.info.status.value == "FINISHED"
        assert run.data.params == {f"p{i}": str(worker) for i in range(20)}
        loss = client.get_metric_history(run_id, "loss")
        acc = client.get_metric_history(run_id, "acc")
        assert [m.step for m in loss] == list(range(points))
        assert len(acc) == points and acc[-1].value == pytest.approx(worker + (points - 1) * 1e-6)
    assert len(client.search_runs([client.get_experiment_by_name("shared").experiment_id])) == 16  # type: ignore[union-attr]


@pytest.mark.postgres
def test_processes_share_a_postgres_store(tmp_path: Path, postgres_url: str, settings: Settings) -> None:
    run_ids = _spawn(postgres_url, 6, 2_000, tmp_path)
    client = TrackingClient(postgres_url, settings=settings)
    for run_id in run_ids:
        assert len(client.get_metric_history(run_id, "loss")) == 2_000
