"""Hard deletion of soft-deleted runs and experiments in the SQL store (the rows behind `cairn gc`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Connection, Table, delete, func, select

from cairn._internal.clock import now_ms
from cairn._internal.validation import validate_experiment_id, validate_run_id
from cairn.entities import LifecycleStage
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.tables import (
    artifact_files,
    experiment_tags,
    experiments,
    latest_metrics,
    metric_chunks,
    params,
    runs,
    tags,
)

T = TypeVar("T")

_IN_CHUNK = 500  # ids per IN list, well under SQLite's bound-parameter limit
_RUN_CHILD_TABLES: tuple[Table, ...] = (params, tags, latest_metrics, metric_chunks, artifact_files)


class SqlPurge(SqlBase):
    """Find and permanently delete soft-deleted runs and experiments."""

    def find_deleted_runs(self, older_than_ms: int | None = None) -> list[tuple[str, str]]:
        """Return (run_id, artifact_uri) of deleted runs, oldest deletion first.

        Args:
            older_than_ms: Only runs deleted at least this many milliseconds ago; runs with no recorded
                deletion time are then left out. None returns every deleted run.
        """
        stmt = select(runs.c.run_uuid, runs.c.artifact_uri).where(
            runs.c.lifecycle_stage == LifecycleStage.DELETED.value
        )
        if older_than_ms is not None:
            if isinstance(older_than_ms, bool) or not isinstance(older_than_ms, int) or older_than_ms < 0:
                raise InvalidArgument(f"older_than_ms must be a non-negative integer, got {older_than_ms!r}")
            stmt = stmt.where(runs.c.deleted_time <= now_ms() - older_than_ms)
        stmt = stmt.order_by(runs.c.deleted_time, runs.c.run_uuid)
        return [(run_id, uri) for run_id, uri in self._read(lambda conn: conn.execute(stmt).all())]

    def purge_runs(self, run_ids: Sequence[str]) -> None:
        """Delete these deleted runs with their params, tags, metrics and artifact records, all at once.

        Raises:
            NotFound: if a run does not exist.
            InvalidArgument: if a run is active (only soft-deleted runs can be purged).
        """
        ids = list(dict.fromkeys(validate_run_id(r) for r in _id_list("run_ids", run_ids)))

        def work(conn: Connection) -> None:
            for chunk in _chunks(ids):
                query = select(runs.c.run_uuid, runs.c.lifecycle_stage).where(runs.c.run_uuid.in_(chunk))
                stages = {run_id: stage for run_id, stage in conn.execute(query)}
                for run_id in chunk:
                    if run_id not in stages:
                        raise NotFound(f"run {run_id} does not exist")
                    if stages[run_id] != LifecycleStage.DELETED.value:
                        raise InvalidArgument(f"run {run_id} is active; delete it before purging it")
                for table in _RUN_CHILD_TABLES:
                    conn.execute(delete(table).where(table.c.run_uuid.in_(chunk)))
                conn.execute(delete(runs).where(runs.c.run_uuid.in_(chunk)))

        if ids:
            self._write(work)

    def purge_experiments(self, experiment_ids: Sequence[str]) -> None:
        """Delete these deleted experiments and their tags, in one transaction.

        Raises:
            NotFound: if an experiment does not exist.
            InvalidArgument: if an experiment is active or still has runs (purge those first).
        """
        ids = list(
            dict.fromkeys(int(validate_experiment_id(e)) for e in _id_list("experiment_ids", experiment_ids))
        )

        def work(conn: Connection) -> None:
            for chunk in _chunks(ids):
                _check_purgeable_experiments(conn, chunk)
                conn.execute(delete(experiment_tags).where(experiment_tags.c.experiment_id.in_(chunk)))
                conn.execute(delete(experiments).where(experiments.c.experiment_id.in_(chunk)))

        if ids:
            self._write(work)


def _check_purgeable_experiments(conn: Connection, chunk: Sequence[int]) -> None:
    stage_query = select(experiments.c.experiment_id, experiments.c.lifecycle_stage).where(
        experiments.c.experiment_id.in_(chunk)
    )
    stages = {experiment_id: stage for experiment_id, stage in conn.execute(stage_query)}
    count_query = (
        select(runs.c.experiment_id, func.count())
        .where(runs.c.experiment_id.in_(chunk))
        .group_by(runs.c.experiment_id)
    )
    run_counts = {experiment_id: int(count) for experiment_id, count in conn.execute(count_query)}
    for experiment_id in chunk:
        if experiment_id not in stages:
            raise NotFound(f"experiment {experiment_id} does not exist")
        if stages[experiment_id] != LifecycleStage.DELETED.value:
            raise InvalidArgument(f"experiment {experiment_id} is active; delete it before purging it")
        if run_counts.get(experiment_id, 0):
            raise InvalidArgument(
                f"experiment {experiment_id} still has {run_counts[experiment_id]} run(s); purge them first"
            )


def _id_list(field: str, ids: Sequence[str]) -> Sequence[str]:
    if isinstance(ids, str):
        raise InvalidArgument(f"{field} must be a list of ids, not a single string")
    return ids


def _chunks(ids: Sequence[T]) -> list[list[T]]:
    return [list(ids[start : start + _IN_CHUNK]) for start in range(0, len(ids), _IN_CHUNK)]
