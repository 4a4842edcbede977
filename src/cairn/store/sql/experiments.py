"""Experiment operations of the SQL store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from cairn._internal.clock import now_ms
from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.validation import (
    MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    MAX_RESULTS_SEARCH_EXPERIMENTS,
    validate_experiment_id,
    validate_experiment_name,
    validate_key,
    validate_max_results,
    validate_string_value,
)
from cairn.entities import Experiment, LifecycleStage, PagedList, ViewType
from cairn.errors import AlreadyExists, InvalidArgument, NotFound
from cairn.store.search import EXPERIMENT_SEARCH, parse_filter, parse_order_by
from cairn.store.sql.base import SqlBase
from cairn.store.sql.search_sql import experiment_order_clauses, experiment_where_clauses
from cairn.store.sql.tables import experiment_tags, experiments, runs
from cairn.store.sql.upsert import insert_for

DEFAULT_EXPERIMENT_NAME = "Default"


class SqlExperiments(SqlBase):
    """Create, read, search, rename, delete and restore experiments."""

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] | None = None
    ) -> str:
        """Create an experiment and return its id; `AlreadyExists` if the name is taken."""
        name = validate_experiment_name(name)
        checked_tags = _checked_tags(tags or {})

        def work(conn: Connection) -> str:
            now = now_ms()
            try:
                with conn.begin_nested():
                    result = conn.execute(
                        experiments.insert().values(
                            name=name,
                            artifact_location=artifact_location or "",
                            lifecycle_stage=LifecycleStage.ACTIVE.value,
                            creation_time=now,
                            last_update_time=now,
                        )
                    )
            except IntegrityError:
                raise AlreadyExists(f"experiment {name!r} already exists") from None
            experiment_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            if not artifact_location:
                conn.execute(
                    update(experiments)
                    .where(experiments.c.experiment_id == experiment_id)
                    .values(artifact_location=f"{self._artifact_root}/{experiment_id}")
                )
            if checked_tags:
                conn.execute(
                    experiment_tags.insert(),
                    [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in checked_tags.items()],
                )
            return str(experiment_id)

        return self._write(work)

    def ensure_default_experiment(self) -> None:
        """Create experiment "0" named Default when the store has no experiment 0 yet."""

        def work(conn: Connection) -> None:
            if conn.execute(
                select(experiments.c.experiment_id).where(experiments.c.experiment_id == 0)
            ).first():
                return
            now = now_ms()
            stmt = insert_for(conn, experiments).values(
                experiment_id=0,
                name=DEFAULT_EXPERIMENT_NAME,
                artifact_location=f"{self._artifact_root}/0",
                lifecycle_stage=LifecycleStage.ACTIVE.value,
                creation_time=now,
                last_update_time=now,
            )
            conn.execute(stmt.on_conflict_do_nothing())

        self._write(work)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment; `NotFound` if there is none with that id."""
        experiment_id = validate_experiment_id(experiment_id)
        found = self._read(lambda conn: _load_experiments(conn, [int(experiment_id)]))
        if not found:
            raise NotFound(f"experiment {experiment_id} does not exist")
        return found[0]

    def find_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with that name (active or deleted), or None."""

        def work(conn: Connection) -> list[Experiment]:
            row = conn.execute(select(experiments.c.experiment_id).where(experiments.c.name == name)).first()
            return _load_experiments(conn, [row[0]]) if row else []

        found = self._read(work)
        return found[0] if found else None

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Return one page of experiments matching the filter, newest first by default."""
        view_type = ViewType.parse(view_type)
        max_results = validate_max_results(max_results, MAX_RESULTS_SEARCH_EXPERIMENTS)
        comparisons = parse_filter(filter_string, EXPERIMENT_SEARCH)
        order_keys = parse_order_by(order_by, EXPERIMENT_SEARCH)
        offset = decode_page_token(page_token)

        def work(conn: Connection) -> tuple[list[Experiment], bool]:
            stmt = select(experiments.c.experiment_id).where(
                experiments.c.lifecycle_stage.in_([s.value for s in view_type.stages]),
                *experiment_where_clauses(comparisons, conn.dialect.name),
            )
            stmt = stmt.order_by(*experiment_order_clauses(order_keys))
            ids = [row[0] for row in conn.execute(stmt.offset(offset).limit(max_results + 1))]
            return _load_experiments(conn, ids[:max_results]), len(ids) > max_results

        found, more = self._read(work)
        return PagedList(found, encode_page_token(offset + max_results) if more else None)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Give the experiment a new, unused name."""
        experiment_id = validate_experiment_id(experiment_id)
        new_name = validate_experiment_name(new_name)

        def work(conn: Connection) -> None:
            _require_experiment(conn, experiment_id)
            try:
                with conn.begin_nested():
                    conn.execute(
                        update(experiments)
                        .where(experiments.c.experiment_id == int(experiment_id))
                        .values(name=new_name, last_update_time=now_ms())
                    )
            except IntegrityError:
                raise AlreadyExists(f"experiment {new_name!r} already exists") from None

        self._write(work)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete the experiment and its active runs."""
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Undo a soft delete of the experiment and of the runs deleted with it."""
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: LifecycleStage) -> None:
        experiment_id = validate_experiment_id(experiment_id)

        def work(conn: Connection) -> None:
            _require_experiment(conn, experiment_id)
            now = now_ms()
            conn.execute(
                update(experiments)
                .where(experiments.c.experiment_id == int(experiment_id))
                .values(lifecycle_stage=stage.value, last_update_time=now)
            )
            other = LifecycleStage.ACTIVE if stage is LifecycleStage.DELETED else LifecycleStage.DELETED
            conn.execute(
                update(runs)
                .where(runs.c.experiment_id == int(experiment_id), runs.c.lifecycle_stage == other.value)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=now if stage is LifecycleStage.DELETED else None,
                )
            )

        self._write(work)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Set or replace a tag on the experiment."""
        experiment_id = validate_experiment_id(experiment_id)
        checked = _checked_tags({key: value})

        def work(conn: Connection) -> None:
            exp = _require_experiment(conn, experiment_id)
            if exp["lifecycle_stage"] != LifecycleStage.ACTIVE.value:
                raise InvalidArgument(f"experiment {experiment_id} is deleted; restore it to change its tags")
            stmt = insert_for(conn, experiment_tags).values(
                experiment_id=int(experiment_id), key=key, value=checked[key]
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["experiment_id", "key"], set_={"value": stmt.excluded.value}
                )
            )

        self._write(work)


def _checked_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {
        validate_key("experiment tag key", k): validate_string_value(
            f"experiment tag {k!r} value", v, MAX_EXPERIMENT_TAG_VALUE_LENGTH
        )
        for k, v in tags.items()
    }


def _require_experiment(conn: Connection, experiment_id: str) -> Any:
    row = conn.execute(select(experiments).where(experiments.c.experiment_id == int(experiment_id))).first()
    if row is None:
        raise NotFound(f"experiment {experiment_id} does not exist")
    return row._mapping


def _load_experiments(conn: Connection, ids: Sequence[int]) -> list[Experiment]:
    """Load experiments with their tags, in the order of `ids`."""
    if not ids:
        return []
    rows = {
        r.experiment_id: r
        for r in conn.execute(select(experiments).where(experiments.c.experiment_id.in_(ids)))
    }
    tags: dict[int, dict[str, str]] = {}
    for r in conn.execute(select(experiment_tags).where(experiment_tags.c.experiment_id.in_(ids))):
        tags.setdefault(r.experiment_id, {})[r.key] = r.value
    return [
        Experiment(
            experiment_id=str(i),
            name=rows[i].name,
            artifact_location=rows[i].artifact_location,
            lifecycle_stage=LifecycleStage(rows[i].lifecycle_stage),
            creation_time=rows[i].creation_time,
            last_update_time=rows[i].last_update_time,
            tags=tags.get(i, {}),
        )
        for i in ids
        if i in rows
    ]


def count_experiments(conn: Connection) -> int:
    """The number of experiments in the store, active or deleted."""
    return int(conn.execute(select(func.count()).select_from(experiments)).scalar_one())
