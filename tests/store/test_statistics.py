"""SQLite planner statistics are created when a store grows large, and refreshed when it doubles."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text

from cairn.store.sql import SqlStore
from cairn.store.sql.engine import write_transaction
from cairn.store.sql.tables import runs


def _add_runs(store: SqlStore, count: int) -> None:
    rows = [
        {
            "run_uuid": uuid.uuid4().hex,
            "name": "r",
            "experiment_id": 0,
            "user_id": "u",
            "status": "FINISHED",
            "start_time": 1,
            "end_time": 2,
            "artifact_uri": "x",
            "lifecycle_stage": "active",
            "heartbeat_time": None,
        }
        for _ in range(count)
    ]
    with write_transaction(store.engine) as conn:
        conn.execute(runs.insert(), rows)


def _has_statistics(store: SqlStore) -> bool:
    with store.engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first()
        return found is not None


def test_statistics_follow_the_size_of_the_store(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 's.db'}", (tmp_path / "a").as_uri())
    _add_runs(store, 100)
    assert store.refresh_statistics_if_stale(force_check=True) is False  # small stores plan fine
    assert not _has_statistics(store)
    _add_runs(store, 1_500)
    assert store.refresh_statistics_if_stale(force_check=True) is True
    assert _has_statistics(store)
    assert store.refresh_statistics_if_stale(force_check=True) is False  # fresh: nothing to do
    assert store.refresh_statistics_if_stale() is False  # checked a moment ago
    _add_runs(store, 3_000)
    assert store.refresh_statistics_if_stale(force_check=True) is True
    store.close()
    reopened = SqlStore(f"sqlite:///{tmp_path / 's.db'}", (tmp_path / "a").as_uri())
    assert reopened.refresh_statistics_if_stale(force_check=True) is False
    reopened.close()
