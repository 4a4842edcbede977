"""SqlStore: the metadata store for SQLite and PostgreSQL, assembled from its parts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from cairn._internal.clock import now_ms
from cairn._internal.validation import validate_run_id
from cairn.entities import ArtifactInfo
from cairn.store.sql import schema
from cairn.store.sql.dataset_aliases import SqlDatasetAliases
from cairn.store.sql.dataset_blobs import SqlDatasetBlobs
from cairn.store.sql.dataset_lineage import SqlDatasetLineage
from cairn.store.sql.dataset_versions import SqlDatasetVersions
from cairn.store.sql.engine import create_store_engine
from cairn.store.sql.experiment_tags import SqlExperimentTags
from cairn.store.sql.experiments import SqlExperiments
from cairn.store.sql.ingest import SqlIngest
from cairn.store.sql.inputs import SqlInputs
from cairn.store.sql.logged_model_search import SqlLoggedModelSearch
from cairn.store.sql.logged_models import SqlLoggedModels
from cairn.store.sql.metrics import SqlMetrics, require_active_runs
from cairn.store.sql.model_aliases import SqlModelAliases
from cairn.store.sql.model_version_search import SqlModelVersionSearch
from cairn.store.sql.model_versions import SqlModelVersions
from cairn.store.sql.purge import SqlPurge
from cairn.store.sql.registered_models import SqlRegisteredModels
from cairn.store.sql.runs import SqlRuns
from cairn.store.sql.tables import artifact_files
from cairn.store.sql.upsert import insert_for


class SqlStore(
    SqlExperiments,
    SqlExperimentTags,
    SqlRuns,
    SqlInputs,
    SqlMetrics,
    SqlIngest,
    SqlPurge,
    SqlRegisteredModels,
    SqlModelVersions,
    SqlModelVersionSearch,
    SqlModelAliases,
    SqlLoggedModels,
    SqlLoggedModelSearch,
    SqlDatasetVersions,
    SqlDatasetAliases,
    SqlDatasetBlobs,
    SqlDatasetLineage,
):
    """The tracking, registry and dataset stores on SQLAlchemy: SQLite embedded, PostgreSQL in production.

    Args:
        db_url: `sqlite:///path/to/file.db` or `postgresql://user@host/db`.
        artifact_root: URI under which new experiments get their artifact folders.
        heartbeat_timeout: Seconds without a heartbeat after which a RUNNING run counts as dead.
        upgrade: Bring the schema to the current revision on open (the embedded default does).
    """

    def __init__(
        self, db_url: str, artifact_root: str, heartbeat_timeout: float = 300.0, upgrade: bool = True
    ) -> None:
        engine = create_store_engine(db_url)
        super().__init__(engine, artifact_root, int(heartbeat_timeout * 1000))
        if upgrade:
            schema.ensure_current(engine)
        self.ensure_default_experiment()
        self.refresh_statistics_if_stale()

    def record_artifacts(self, run_id: str, infos: Sequence[ArtifactInfo]) -> None:
        """Store (or replace) the size and digest of these artifact files."""
        run_id = validate_run_id(run_id)
        files = [i for i in infos if not i.is_dir and i.sha256 is not None and i.file_size is not None]
        if not files:
            return

        def work(conn: Connection) -> None:
            require_active_runs(conn, [run_id])
            now = now_ms()
            stmt = insert_for(conn, artifact_files)
            stmt = stmt.on_conflict_do_update(
                index_elements=["run_uuid", "path"],
                set_={
                    "file_size": stmt.excluded.file_size,
                    "sha256": stmt.excluded.sha256,
                    "recorded_time": stmt.excluded.recorded_time,
                },
            )
            conn.execute(
                stmt,
                [
                    {
                        "run_uuid": run_id,
                        "path": i.path,
                        "file_size": i.file_size,
                        "sha256": i.sha256,
                        "recorded_time": now,
                    }
                    for i in files
                ],
            )

        self._write(work)

    def get_artifact_records(self, run_id: str, prefix: str = "") -> dict[str, ArtifactInfo]:
        """Return recorded files under `prefix`, keyed by path."""
        run_id = validate_run_id(run_id)
        stmt = select(artifact_files.c.path, artifact_files.c.file_size, artifact_files.c.sha256).where(
            artifact_files.c.run_uuid == run_id
        )
        if prefix:
            stmt = stmt.where(artifact_files.c.path.startswith(prefix.rstrip("/") + "/", autoescape=True))
        rows = self._read(lambda conn: conn.execute(stmt).all())
        return {path: ArtifactInfo(path, False, size, sha) for path, size, sha in rows}

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()
