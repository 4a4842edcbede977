"""Small appends merge into a metric's newest chunk only while it is small, so no append rewrites much."""

from __future__ import annotations

from array import array
from pathlib import Path

from sqlalchemy import select

from cairn.settings import Settings
from cairn.store.resolve import open_tracking_store
from cairn.store.sql.metrics import MERGE_TAIL_LIMIT
from cairn.store.sql.store import SqlStore
from cairn.store.sql.tables import metric_chunks


def test_tails_stop_growing_at_the_merge_limit_and_history_stays_whole(tmp_path: Path) -> None:
    store = open_tracking_store(str(tmp_path / "store"), Settings())
    assert isinstance(store, SqlStore)
    run_id = store.create_run(store.create_experiment("chunks"), "u", 0, "r").info.run_id
    per_append, appends = 100, 40
    for n in range(appends):
        steps = array("q", range(n * per_append, (n + 1) * per_append))
        store.append_metric_columns(
            {(run_id, "loss"): (steps, array("q", [7] * per_append), array("d", steps))}
        )
    with store.engine.connect() as conn:
        sizes = [
            row.points
            for row in conn.execute(select(metric_chunks.c.points).order_by(metric_chunks.c.chunk_id))
        ]
    assert sum(sizes) == per_append * appends
    assert max(sizes) < MERGE_TAIL_LIMIT + per_append  # a tail past the limit is not rewritten again
    assert len(sizes) <= appends * per_append // MERGE_TAIL_LIMIT + 1  # but small appends do merge
    history = store.get_metric_history(run_id, "loss")
    assert list(history.steps) == list(range(per_append * appends))
    store.close()
