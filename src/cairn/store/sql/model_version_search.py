"""Reading model versions in bulk: search, the latest version per stage, and the versions made from a run."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.registry_validation import MAX_RESULTS_SEARCH_MODEL_VERSIONS, validate_model_name
from cairn._internal.validation import validate_max_results, validate_run_id
from cairn.entities import PagedList
from cairn.entities.registry import ModelStage, ModelVersion
from cairn.errors import InvalidArgument
from cairn.store.search import MODEL_VERSION_SEARCH, parse_filter, parse_order_by
from cairn.store.sql.base import SqlBase
from cairn.store.sql.registry_loading import latest_versions, require_model, versions_from_rows
from cairn.store.sql.registry_search_sql import model_version_order, model_version_where
from cairn.store.sql.registry_tables import logged_models, model_versions


def _stages(stages: Sequence[ModelStage | str]) -> list[ModelStage]:
    if isinstance(stages, str):
        raise InvalidArgument(f"stages must be a list of stage names, not the string {stages!r}")
    return [stage if isinstance(stage, ModelStage) else ModelStage.parse(stage) for stage in stages]


class SqlModelVersionSearch(SqlBase):
    """Search versions, find the newest per stage, and list the versions made from a run."""

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions matching MLflow's model-version filter grammar.

        Ordered as asked, then by name ascending and version number descending.
        """
        max_results = validate_max_results(max_results, MAX_RESULTS_SEARCH_MODEL_VERSIONS)
        comparisons = parse_filter(filter_string, MODEL_VERSION_SEARCH)
        order_keys = parse_order_by(order_by, MODEL_VERSION_SEARCH)
        offset = decode_page_token(page_token)

        def work(conn: Connection) -> tuple[list[ModelVersion], bool]:
            stmt = select(model_versions).where(*model_version_where(comparisons, self.dialect))
            stmt = stmt.order_by(*model_version_order(order_keys)).offset(offset).limit(max_results + 1)
            rows = conn.execute(stmt).all()
            return versions_from_rows(conn, rows[:max_results]), len(rows) > max_results

        found, more = self._read(work)
        return PagedList(found, encode_page_token(offset + max_results) if more else None)

    def get_latest_versions(self, name: str, stages: Sequence[ModelStage] = ()) -> list[ModelVersion]:
        """The newest version in each of the stages asked for (every stage that has one when empty).

        Raises:
            NotFound: the model does not exist.
            InvalidArgument: a stage name is unknown.
        """
        name = validate_model_name(name)
        wanted = _stages(stages)

        def work(conn: Connection) -> list[ModelVersion]:
            require_model(conn, name)
            return latest_versions(conn, [name]).get(name, [])

        newest = self._read(work)
        if not wanted:
            return newest
        by_stage = {version.stage: version for version in newest}
        return [by_stage[stage] for stage in dict.fromkeys(wanted) if stage in by_stage]

    def find_versions_for_run(self, run_id: str) -> list[ModelVersion]:
        """Versions made from the run: recorded with its id, or from a logged model the run produced.

        Sorted by model name, then version number. A run with no versions (or unknown) gives [].
        """
        run_id = validate_run_id(run_id)
        from_run = select(logged_models.c.model_id).where(logged_models.c.source_run_id == run_id)
        stmt = (
            select(model_versions)
            .where(or_(model_versions.c.run_id == run_id, model_versions.c.model_id.in_(from_run)))
            .order_by(model_versions.c.name, model_versions.c.version)
        )
        return self._read(lambda conn: versions_from_rows(conn, conn.execute(stmt).all()))
