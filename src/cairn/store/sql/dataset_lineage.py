"""Which runs used a dataset version: their dataset inputs carry its name and (the start of) its digest."""

from __future__ import annotations

from sqlalchemy import Connection, select

from cairn._internal.dataset_validation import validate_dataset_name, validate_digest_prefix
from cairn.store.sql.base import SqlBase
from cairn.store.sql.tables import datasets, run_inputs


class SqlDatasetLineage(SqlBase):
    """Follow dataset versions to the runs that logged them as inputs."""

    def runs_using_dataset(self, name: str, digest_prefix: str) -> list[str]:
        """Ids (sorted) of runs, deleted ones included, that logged an input with this name and digest."""
        name = validate_dataset_name(name)
        digest = validate_digest_prefix(digest_prefix)
        stmt = (
            select(run_inputs.c.run_uuid)
            .select_from(run_inputs.join(datasets, datasets.c.dataset_uuid == run_inputs.c.dataset_uuid))
            .where(datasets.c.name == name, datasets.c.digest == digest)
            .distinct()
            .order_by(run_inputs.c.run_uuid)
        )

        def work(conn: Connection) -> list[str]:
            return list(conn.execute(stmt).scalars())

        return self._read(work)
