"""Searching logged models, and recording which logged models a run produced (its outputs)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.registry_validation import MAX_RESULTS_SEARCH_LOGGED_MODELS, validate_logged_model_id
from cairn._internal.validation import (
    validate_experiment_id,
    validate_max_results,
    validate_run_id,
    validate_step,
)
from cairn.entities import LifecycleStage, PagedList
from cairn.entities.registry import LoggedModel
from cairn.errors import InvalidArgument, NotFound
from cairn.store.search import LOGGED_MODEL_SEARCH, parse_filter
from cairn.store.sql.base import SqlBase
from cairn.store.sql.logged_model_loading import load_logged_models, require_logged_model
from cairn.store.sql.metrics import require_active_runs
from cairn.store.sql.registry_search_sql import logged_model_order, logged_model_where
from cairn.store.sql.registry_tables import logged_models, run_outputs
from cairn.store.sql.tables import runs
from cairn.store.sql.upsert import insert_for


def _experiment_ids(experiment_ids: Sequence[str]) -> list[int]:
    if isinstance(experiment_ids, str):
        raise InvalidArgument(f"experiment_ids must be a list of ids, not the string {experiment_ids!r}")
    if not experiment_ids:
        raise InvalidArgument("experiment_ids must name at least one experiment")
    return list(dict.fromkeys(int(validate_experiment_id(e)) for e in experiment_ids))


def _outputs(outputs: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    checked: list[tuple[str, int]] = []
    for output in outputs:
        if not isinstance(output, tuple | list) or len(output) != 2:
            raise InvalidArgument(f"each output must be a (model_id, step) pair, got {output!r}")
        model_id = validate_logged_model_id(output[0])
        checked.append((model_id, validate_step(f"output {model_id}", output[1])))
    return list(dict.fromkeys(checked))


class SqlLoggedModelSearch(SqlBase):
    """Search logged models; log and read a run's model outputs."""

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 50,
        order_by: Sequence[tuple[str, bool]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of active logged models in the experiments; newest first unless `order_by` says otherwise.

        Args:
            experiment_ids: The experiments to search (at least one).
            filter_string: Attributes (`name`, `model_id`, `model_type`, `status`, `source_run_id`,
                `creation_timestamp`, `last_updated_timestamp`), `params.<key>` and `tags.<key>`.
            max_results: Page size, at most 1000.
            order_by: (attribute, ascending) pairs.
            page_token: The token of the page before.
        """
        ids = _experiment_ids(experiment_ids)
        max_results = validate_max_results(max_results, MAX_RESULTS_SEARCH_LOGGED_MODELS)
        comparisons = parse_filter(filter_string, LOGGED_MODEL_SEARCH)
        ordering = logged_model_order(order_by)
        offset = decode_page_token(page_token)

        def work(conn: Connection) -> tuple[list[LoggedModel], bool]:
            stmt = select(logged_models.c.model_id).where(
                logged_models.c.experiment_id.in_(ids),
                logged_models.c.lifecycle_stage == LifecycleStage.ACTIVE.value,
                *logged_model_where(comparisons, self.dialect),
            )
            stmt = stmt.order_by(*ordering).offset(offset).limit(max_results + 1)
            found = [row[0] for row in conn.execute(stmt)]
            return load_logged_models(conn, found[:max_results]), len(found) > max_results

        models, more = self._read(work)
        return PagedList(models, encode_page_token(offset + max_results) if more else None)

    def log_run_outputs(self, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record (model_id, step) pairs as outputs of an active run; logging one again is a no-op.

        Raises:
            NotFound: the run or a logged model does not exist.
            InvalidArgument: the run is deleted, or a pair is malformed.
        """
        run_id = validate_run_id(run_id)
        checked = _outputs(outputs)

        def work(conn: Connection) -> None:
            require_active_runs(conn, [run_id])
            for model_id, _ in checked:
                require_logged_model(conn, model_id)
            stmt = insert_for(conn, run_outputs).on_conflict_do_nothing()
            conn.execute(stmt, [{"run_uuid": run_id, "model_id": m, "step": s} for m, s in checked])

        if checked:
            self._write(work)

    def get_run_outputs(self, run_id: str) -> list[tuple[str, int]]:
        """The (model_id, step) outputs recorded for the run, by step then model id; `NotFound` for no run."""
        run_id = validate_run_id(run_id)

        def work(conn: Connection) -> list[tuple[str, int]]:
            if conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None:
                raise NotFound(f"run {run_id} does not exist")
            rows = conn.execute(
                select(run_outputs.c.model_id, run_outputs.c.step)
                .where(run_outputs.c.run_uuid == run_id)
                .order_by(run_outputs.c.step, run_outputs.c.model_id)
            )
            return [(model_id, int(step)) for model_id, step in rows]

        return self._read(work)
