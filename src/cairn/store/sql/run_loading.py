"""Turning run rows and their params, tags, latest metrics and inputs into Run entities."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, select

from cairn.entities import LifecycleStage, Metric, Run, RunData, RunInfo, RunInputs, RunStatus
from cairn.store.sql.inputs import load_run_inputs
from cairn.store.sql.tables import latest_metrics, params, runs, tags

_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds


def run_info_from_row(row: Any) -> RunInfo:
    """A RunInfo from a `runs` row."""
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        user_id=row.user_id,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
    )


def plain_rows(conn: Connection, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """Every row of a query as plain tuples, fetched from the driver's cursor.

    For columns whose types need no result processing (strings, integers, floats, booleans) this gives
    the same values as SQLAlchemy's rows at a fraction of the cost, which matters when loading the tens of
    thousands of params, tags and metrics of a page of runs.
    """
    result = conn.execute(statement)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Load full runs, in the order of `run_ids`; ids with no run are skipped."""
    infos: dict[str, RunInfo] = {}
    run_params: dict[str, dict[str, str]] = {}
    run_tags: dict[str, dict[str, str]] = {}
    run_metrics: dict[str, dict[str, Metric]] = {}
    inputs: dict[str, RunInputs] = {}
    for start in range(0, len(run_ids), _IN_CHUNK):
        chunk = list(run_ids[start : start + _IN_CHUNK])
        for row in conn.execute(select(runs).where(runs.c.run_uuid.in_(chunk))).all():
            infos[row.run_uuid] = run_info_from_row(row)
        for run_id, key, value in plain_rows(
            conn, select(params.c.run_uuid, params.c.key, params.c.value).where(params.c.run_uuid.in_(chunk))
        ):
            run_params.setdefault(run_id, {})[key] = value
        for run_id, key, value in plain_rows(
            conn, select(tags.c.run_uuid, tags.c.key, tags.c.value).where(tags.c.run_uuid.in_(chunk))
        ):
            run_tags.setdefault(run_id, {})[key] = value
        metric_columns = (
            latest_metrics.c.run_uuid,
            latest_metrics.c.key,
            latest_metrics.c.value,
            latest_metrics.c.is_nan,
            latest_metrics.c.timestamp,
            latest_metrics.c.step,
        )
        for run_id, key, value, is_nan, timestamp, step in plain_rows(
            conn, select(*metric_columns).where(latest_metrics.c.run_uuid.in_(chunk))
        ):
            number = math.nan if is_nan else value
            run_metrics.setdefault(run_id, {})[key] = Metric(key, number, timestamp, step)
        inputs.update(load_run_inputs(conn, chunk))
    found = []
    for run_id in run_ids:
        info = infos.get(run_id)
        if info is None:
            continue
        latest = run_metrics.get(run_id, {})
        data = RunData(
            metrics={k: m.value for k, m in latest.items()},
            params=run_params.get(run_id, {}),
            tags=run_tags.get(run_id, {}),
            latest_metrics=latest,
        )
        found.append(Run(info=info, data=data, inputs=inputs.get(run_id, RunInputs())))
    return found
