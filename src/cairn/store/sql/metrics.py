"""Metric histories stored as packed column chunks, plus the latest value of each metric for search."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, select, tuple_, update

from cairn._internal.validation import validate_run_id
from cairn.entities import LifecycleStage, MetricHistory
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.metric_codec import pack_floats, pack_ints, unpack_floats, unpack_ints
from cairn.store.sql.tables import latest_metrics, metric_chunks, runs
from cairn.store.sql.upsert import insert_for

# A flush appends to the newest chunk of a metric while that chunk holds fewer than MERGE_TAIL_LIMIT points
# and the result stays within MERGE_LIMIT; otherwise it starts a new chunk. Slow loggers thus end with chunks
# of about a thousand points, and an append rewrites at most ~25 KB per metric: rewriting a larger tail on
# every request made steady log_batch traffic slow down as the tail grew.
MERGE_LIMIT = 16_384
MERGE_TAIL_LIMIT = 1_024
_SMALL = 64  # below this, finding the latest point in Python beats importing numpy

MetricColumns = Mapping[tuple[str, str], tuple["array[int]", "array[int]", "array[float]"]]


class SqlMetrics(SqlBase):
    """Append and read metric histories."""

    def append_metric_columns(self, columns: MetricColumns) -> None:
        """Append points per (run_id, key) in one transaction: all of them are stored, or none."""
        for (_, key), (steps, timestamps, values) in columns.items():
            if not len(steps) == len(timestamps) == len(values):
                raise InvalidArgument(f"metric {key!r}: steps, timestamps and values differ in length")
        if columns:
            prepared = prepare_columns(columns)
            self._write(lambda conn: append_columns(conn, prepared))

    def get_metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Return every point logged for the metric, in logging order (empty if none)."""
        run_id = validate_run_id(run_id)

        def work(conn: Connection) -> MetricHistory:
            if conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None:
                raise NotFound(f"run {run_id} does not exist")
            rows = conn.execute(
                select(metric_chunks.c.steps, metric_chunks.c.timestamps, metric_chunks.c.metric_values)
                .where(metric_chunks.c.run_uuid == run_id, metric_chunks.c.key == key)
                .order_by(metric_chunks.c.chunk_id)
            ).all()
            return MetricHistory(
                key,
                unpack_ints([r[0] for r in rows]),
                unpack_ints([r[1] for r in rows]),
                unpack_floats([r[2] for r in rows]),
            )

        return self._read(work)


def require_active_runs(conn: Connection, run_ids: Iterable[str]) -> None:
    """Raise `NotFound` for an unknown run and `InvalidArgument` for a deleted one."""
    wanted = set(run_ids)
    stages = dict(
        conn.execute(select(runs.c.run_uuid, runs.c.lifecycle_stage).where(runs.c.run_uuid.in_(wanted))).all()
    )
    for run_id in sorted(wanted):
        stage = stages.get(run_id)
        if stage is None:
            raise NotFound(f"run {run_id} does not exist")
        if stage != LifecycleStage.ACTIVE.value:
            raise InvalidArgument(f"run {run_id} is deleted; restore it before logging to it")


@dataclass(frozen=True)
class PreparedMetric:
    """One metric's new points, packed, with its latest point worked out (done outside any transaction)."""

    points: int
    steps: bytes
    timestamps: bytes
    values: bytes
    latest: dict[str, Any]


PreparedColumns = dict[tuple[str, str], PreparedMetric]


def prepare_columns(columns: MetricColumns) -> PreparedColumns:
    """Pack columns and find latest points before a transaction, so the write lock is held briefly."""
    prepared = {}
    for (run_id, key), (steps, timestamps, values) in columns.items():
        if not len(values):
            continue
        step, timestamp, value = latest_point(steps, timestamps, values)
        is_nan = value != value
        latest = {
            "run_uuid": run_id,
            "key": key,
            "value": None if is_nan else value,
            "is_nan": is_nan,
            "timestamp": timestamp,
            "step": step,
        }
        prepared[(run_id, key)] = PreparedMetric(
            len(values), pack_ints(steps), pack_ints(timestamps), pack_floats(values), latest
        )
    return prepared


def append_columns(conn: Connection, columns: MetricColumns | PreparedColumns) -> None:
    """Append metric columns inside the caller's write transaction (prepare them first where possible)."""
    prepared = _as_prepared(columns)
    if not prepared:
        return
    require_active_runs(conn, {run_id for run_id, _ in prepared})
    tails = _mergeable_tails(conn, prepared)
    new_chunks = []
    for pair, metric in prepared.items():
        tail = tails.get(pair)
        if tail is not None:
            conn.execute(
                update(metric_chunks)
                .where(metric_chunks.c.chunk_id == tail.chunk_id)
                .values(
                    points=tail.points + metric.points,
                    steps=tail.steps + metric.steps,
                    timestamps=tail.timestamps + metric.timestamps,
                    metric_values=tail.metric_values + metric.values,
                )
            )
        else:
            new_chunks.append(
                {
                    "run_uuid": pair[0],
                    "key": pair[1],
                    "points": metric.points,
                    "steps": metric.steps,
                    "timestamps": metric.timestamps,
                    "metric_values": metric.values,
                }
            )
    if new_chunks:
        conn.execute(metric_chunks.insert(), new_chunks)
    _upsert_latest(conn, [metric.latest for metric in prepared.values()])


def _as_prepared(columns: MetricColumns | PreparedColumns) -> PreparedColumns:
    if all(isinstance(value, PreparedMetric) for value in columns.values()):
        return dict(columns)  # type: ignore[arg-type]
    return prepare_columns(columns)  # type: ignore[arg-type]


def _mergeable_tails(conn: Connection, columns: PreparedColumns) -> dict[tuple[str, str], Any]:
    """The newest chunk of each metric when the new points still fit into it, locked for update."""
    run_ids = sorted({run_id for run_id, _ in columns})
    newest = (
        select(func.max(metric_chunks.c.chunk_id))
        .where(metric_chunks.c.run_uuid.in_(run_ids))
        .group_by(metric_chunks.c.run_uuid, metric_chunks.c.key)
    )
    candidates = [
        row.chunk_id
        for row in conn.execute(
            select(
                metric_chunks.c.chunk_id,
                metric_chunks.c.run_uuid,
                metric_chunks.c.key,
                metric_chunks.c.points,
            ).where(metric_chunks.c.chunk_id.in_(newest))
        )
        if (row.run_uuid, row.key) in columns
        and row.points < MERGE_TAIL_LIMIT
        and row.points + columns[(row.run_uuid, row.key)].points <= MERGE_LIMIT
    ]
    if not candidates:
        return {}
    stmt = select(metric_chunks).where(metric_chunks.c.chunk_id.in_(candidates))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    tails = {}
    for row in conn.execute(stmt):
        # Re-check after the lock: a concurrent writer may have grown the chunk meanwhile.
        if (
            row.points < MERGE_TAIL_LIMIT
            and row.points + columns[(row.run_uuid, row.key)].points <= MERGE_LIMIT
        ):
            tails[(row.run_uuid, row.key)] = row
    return tails


def latest_point(steps: array[int], timestamps: array[int], values: array[float]) -> tuple[int, int, float]:
    """The point that counts as the metric's latest: highest step, then timestamp, then value (NaN lowest)."""
    if len(steps) <= _SMALL:
        best = max(
            range(len(steps)),
            key=lambda i: (steps[i], timestamps[i], values[i] if values[i] == values[i] else -math.inf),
        )
        return steps[best], timestamps[best], values[best]
    highest = max(steps)
    if steps.count(highest) == 1:  # the usual case, rising steps: no tie to break, no numpy needed
        best = steps.index(highest)
        return steps[best], timestamps[best], values[best]
    import numpy as np

    step_arr = np.frombuffer(steps, dtype=np.int64)
    candidates = np.flatnonzero(step_arr == step_arr.max())
    if len(candidates) > 1:
        ts = np.frombuffer(timestamps, dtype=np.int64)[candidates]
        candidates = candidates[ts == ts.max()]
    if len(candidates) > 1:
        vals = np.frombuffer(values, dtype=np.float64)[candidates]
        if not np.isnan(vals).all():
            candidates = candidates[[int(np.nanargmax(vals))]]
    index = int(candidates[0])
    return steps[index], timestamps[index], values[index]


def _upsert_latest(conn: Connection, rows: list[dict[str, Any]]) -> None:
    stmt = insert_for(conn, latest_metrics)
    current, incoming = latest_metrics.c, stmt.excluded
    newer = tuple_(incoming.step, incoming.timestamp, func.coalesce(incoming.value, float("-inf"))) > tuple_(
        current.step, current.timestamp, func.coalesce(current.value, float("-inf"))
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_uuid", "key"],
        set_={
            "value": incoming.value,
            "is_nan": incoming.is_nan,
            "timestamp": incoming.timestamp,
            "step": incoming.step,
        },
        where=and_(newer),
    )
    conn.execute(stmt, rows)
