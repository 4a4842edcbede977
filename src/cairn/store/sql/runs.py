"""Run operations of the SQL store: lifecycle, params, tags, heartbeats and search."""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, update

from cairn._internal.clock import now_ms
from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.validation import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_RESULTS_SEARCH_RUNS,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    validate_experiment_id,
    validate_key,
    validate_max_results,
    validate_metric_value,
    validate_run_id,
    validate_step,
    validate_string_value,
    validate_timestamp,
)
from cairn.entities import LifecycleStage, Metric, PagedList, Param, Run, RunInfo, RunStatus, RunTag, ViewType
from cairn.errors import Conflict, InvalidArgument, NotFound
from cairn.store.search import RUN_SEARCH, parse_filter, parse_order_by
from cairn.store.sql.metrics import append_columns, prepare_columns, require_active_runs
from cairn.store.sql.run_loading import load_runs, run_info_from_row
from cairn.store.sql.search_sql import apply_run_order, run_where_clauses
from cairn.store.sql.statistics import SqlStatistics
from cairn.store.sql.tables import experiments, runs
from cairn.store.sql.tables import params as params_table
from cairn.store.sql.tables import tags as tags_table
from cairn.store.sql.upsert import insert_for

RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_TAG = "mlflow.parentRunId"
STATUS_REASON_TAG = "cairn.status_reason"


class SqlRuns(SqlStatistics):
    """Create, change, log to and search runs (refreshing planner statistics before searches)."""

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        run_name: str,
        tags: Sequence[RunTag] = (),
        parent_run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment."""
        experiment_id = validate_experiment_id(experiment_id)
        run_name = validate_string_value("run_name", run_name, MAX_RUN_NAME_LENGTH)
        run_tags = {t.key: t.value for t in _checked_tags(tags)}
        run_tags.setdefault(RUN_NAME_TAG, run_name)
        if parent_run_id is not None:
            run_tags[PARENT_RUN_TAG] = validate_run_id(parent_run_id)
        run_id = uuid.uuid4().hex

        def work(conn: Connection) -> Run:
            exp = conn.execute(
                select(experiments).where(experiments.c.experiment_id == int(experiment_id))
            ).first()
            if exp is None:
                raise NotFound(f"experiment {experiment_id} does not exist")
            if exp.lifecycle_stage != LifecycleStage.ACTIVE.value:
                raise InvalidArgument(f"experiment {experiment_id} is deleted; runs cannot be created in it")
            if parent_run_id is not None:
                require_active_runs(conn, [parent_run_id])
            conn.execute(
                runs.insert().values(
                    run_uuid=run_id,
                    name=run_name,
                    experiment_id=int(experiment_id),
                    user_id=user_id,
                    status=RunStatus.RUNNING.value,
                    start_time=start_time,
                    end_time=None,
                    artifact_uri=f"{exp.artifact_location}/{run_id}/artifacts",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    heartbeat_time=now_ms(),
                )
            )
            conn.execute(
                tags_table.insert(), [{"run_uuid": run_id, "key": k, "value": v} for k, v in run_tags.items()]
            )
            return load_runs(conn, [run_id])[0]

        return self._write(work)

    def get_run(self, run_id: str) -> Run:
        """Return the run with its params, tags and latest metrics; `NotFound` if absent."""
        run_id = validate_run_id(run_id)
        found = self._read(lambda conn: load_runs(conn, [run_id]))
        if not found:
            raise NotFound(f"run {run_id} does not exist")
        run = found[0]
        if self._is_stale(run):
            self.fail_stale_runs(self._heartbeat_timeout_ms, now_ms())
            return self._read(lambda conn: load_runs(conn, [run_id]))[0]
        return run

    def _is_stale(self, run: Run) -> bool:
        return run.info.status is RunStatus.RUNNING and self._read(
            lambda conn: (
                conn.execute(
                    select(runs.c.run_uuid).where(
                        runs.c.run_uuid == run.info.run_id,
                        runs.c.status == RunStatus.RUNNING.value,
                        runs.c.heartbeat_time < now_ms() - self._heartbeat_timeout_ms,
                    )
                ).first()
                is not None
            )
        )

    def update_run(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change a run's status, end time or name and return the new info."""
        run_id = validate_run_id(run_id)
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = RunStatus.parse(status).value
        if end_time is not None:
            values["end_time"] = validate_timestamp("end_time", end_time)
        if run_name is not None:
            values["name"] = validate_string_value("run_name", run_name, MAX_RUN_NAME_LENGTH)

        def work(conn: Connection) -> RunInfo:
            require_active_runs(conn, [run_id])
            if values:
                conn.execute(update(runs).where(runs.c.run_uuid == run_id).values(**values))
            if run_name is not None:
                _upsert_tags(conn, run_id, {RUN_NAME_TAG: values["name"]})
            return run_info_from_row(conn.execute(select(runs).where(runs.c.run_uuid == run_id)).one())

        return self._write(work)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete the run."""
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Undo a soft delete of the run."""
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def _set_run_stage(self, run_id: str, stage: LifecycleStage) -> None:
        run_id = validate_run_id(run_id)

        def work(conn: Connection) -> None:
            result = conn.execute(
                update(runs)
                .where(runs.c.run_uuid == run_id)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=now_ms() if stage is LifecycleStage.DELETED else None,
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"run {run_id} does not exist")

        self._write(work)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log metrics, params and tags in one transaction: all of it is stored, or none."""
        run_id = validate_run_id(run_id)
        new_params = _checked_params(params)
        new_tags = {t.key: t.value for t in _checked_tags(tags)}
        columns = prepare_columns(_metric_columns(run_id, metrics))

        def work(conn: Connection) -> None:
            require_active_runs(conn, [run_id])
            if new_params:
                _insert_params(conn, run_id, new_params)
            if new_tags:
                _upsert_tags(conn, run_id, new_tags)
            if columns:
                append_columns(conn, columns)

        self._write(work)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from the run; `NotFound` if it has no such tag."""
        run_id = validate_run_id(run_id)

        def work(conn: Connection) -> None:
            require_active_runs(conn, [run_id])
            result = conn.execute(
                delete(tags_table).where(tags_table.c.run_uuid == run_id, tags_table.c.key == key)
            )
            if result.rowcount == 0:
                raise NotFound(f"run {run_id} has no tag {key!r}")

        self._write(work)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Return one page of runs of the given experiments that match the filter."""
        if isinstance(experiment_ids, str):
            raise InvalidArgument("experiment_ids must be a list of ids, not a single string")
        ids = [int(validate_experiment_id(e)) for e in experiment_ids]
        view_type = ViewType.parse(view_type)
        max_results = validate_max_results(max_results, MAX_RESULTS_SEARCH_RUNS)
        comparisons = parse_filter(filter_string, RUN_SEARCH)
        order_keys = parse_order_by(order_by, RUN_SEARCH)
        offset = decode_page_token(page_token)
        self.fail_stale_runs(self._heartbeat_timeout_ms, now_ms())
        self.refresh_statistics_if_stale()

        def work(conn: Connection) -> tuple[list[Run], bool]:
            stmt = select(runs.c.run_uuid).where(
                runs.c.experiment_id.in_(ids),
                runs.c.lifecycle_stage.in_([s.value for s in view_type.stages]),
                *run_where_clauses(comparisons, conn.dialect.name),
            )
            stmt = apply_run_order(stmt, order_keys).offset(offset).limit(max_results + 1)
            found = [row[0] for row in conn.execute(stmt)]
            return load_runs(conn, found[:max_results]), len(found) > max_results

        page, more = self._read(work) if ids else ([], False)
        return PagedList(page, encode_page_token(offset + max_results) if more else None)

    def record_heartbeat(self, run_ids: Sequence[str], now: int) -> None:
        """Note that the processes driving these runs are alive at `now` (ms)."""
        ids = [validate_run_id(r) for r in run_ids]
        if ids:
            self._write(
                lambda conn: conn.execute(
                    update(runs)
                    .where(runs.c.run_uuid.in_(ids), runs.c.status == RunStatus.RUNNING.value)
                    .values(heartbeat_time=now)
                )
            )

    def fail_stale_runs(self, timeout_ms: int, now: int) -> list[str]:
        """Mark RUNNING runs whose last heartbeat is older than `timeout_ms` as FAILED; return their ids."""
        stale_filter = (runs.c.status == RunStatus.RUNNING.value, runs.c.heartbeat_time < now - timeout_ms)
        # A cheap indexed read first, so that searches take no write lock when nothing is stale.
        if not self._read(
            lambda conn: conn.execute(select(runs.c.run_uuid).where(*stale_filter).limit(1)).first()
        ):
            return []

        def work(conn: Connection) -> list[str]:
            stale = conn.execute(select(runs.c.run_uuid, runs.c.heartbeat_time).where(*stale_filter)).all()
            for run_id, heartbeat in stale:
                conn.execute(
                    update(runs)
                    .where(runs.c.run_uuid == run_id, runs.c.status == RunStatus.RUNNING.value)
                    .values(status=RunStatus.FAILED.value, end_time=heartbeat)
                )
                _upsert_tags(conn, run_id, {STATUS_REASON_TAG: f"no heartbeat for {timeout_ms // 1000} s"})
            return [run_id for run_id, _ in stale]

        return self._write(work)


def _checked_params(items: Sequence[Param]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for param in items:
        key = validate_key("param key", param.key)
        value = validate_string_value(f"param {key!r} value", param.value, MAX_PARAM_VALUE_LENGTH)
        if checked.get(key, value) != value:
            raise Conflict(f"param {key!r} is given twice in one batch with different values")
        checked[key] = value
    return checked


def _checked_tags(items: Sequence[RunTag]) -> list[RunTag]:
    return [
        RunTag(
            validate_key("tag key", t.key),
            validate_string_value(f"tag {t.key!r} value", t.value, MAX_TAG_VALUE_LENGTH),
        )
        for t in items
    ]


def _metric_columns(
    run_id: str, metrics: Sequence[Metric]
) -> dict[tuple[str, str], tuple[array[int], array[int], array[float]]]:
    columns: dict[tuple[str, str], tuple[array[int], array[int], array[float]]] = {}
    for metric in metrics:
        key = validate_key("metric key", metric.key)
        steps, timestamps, values = columns.setdefault((run_id, key), (array("q"), array("q"), array("d")))
        steps.append(validate_step(key, metric.step))
        timestamps.append(validate_timestamp(key, metric.timestamp))
        values.append(validate_metric_value(key, metric.value))
    return columns


def _insert_params(conn: Connection, run_id: str, new: dict[str, str]) -> None:
    """Insert params; an existing param with another value is a `Conflict` and aborts the transaction."""
    stmt = insert_for(conn, params_table).on_conflict_do_nothing(index_elements=["run_uuid", "key"])
    conn.execute(stmt, [{"run_uuid": run_id, "key": k, "value": v} for k, v in new.items()])
    stored = conn.execute(
        select(params_table.c.key, params_table.c.value).where(
            params_table.c.run_uuid == run_id, params_table.c.key.in_(list(new))
        )
    ).all()
    for key, value in stored:
        if value != new[key]:
            raise Conflict(
                f"param {key!r} of run {run_id} is already {value!r}; "
                f"params cannot change (tried {new[key]!r})"
            )


def _upsert_tags(conn: Connection, run_id: str, new: dict[str, str]) -> None:
    stmt = insert_for(conn, tags_table)
    stmt = stmt.on_conflict_do_update(index_elements=["run_uuid", "key"], set_={"value": stmt.excluded.value})
    conn.execute(stmt, [{"run_uuid": run_id, "key": k, "value": v} for k, v in new.items()])
