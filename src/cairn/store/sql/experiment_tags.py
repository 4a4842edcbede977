"""Removing experiment tags in the SQL store (setting them lives with the other experiment operations)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from cairn._internal.validation import validate_experiment_id
from cairn.entities import LifecycleStage
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.tables import experiment_tags, experiments


class SqlExperimentTags(SqlBase):
    """Delete a tag from an experiment."""

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an active experiment.

        Raises:
            NotFound: the experiment does not exist or has no tag `key`.
            InvalidArgument: the experiment is deleted.
        """
        experiment_id = validate_experiment_id(experiment_id)

        def work(conn: Connection) -> None:
            stage = conn.execute(
                select(experiments.c.lifecycle_stage).where(experiments.c.experiment_id == int(experiment_id))
            ).scalar_one_or_none()
            if stage is None:
                raise NotFound(f"experiment {experiment_id} does not exist")
            if stage != LifecycleStage.ACTIVE.value:
                raise InvalidArgument(f"experiment {experiment_id} is deleted; restore it to change its tags")
            result = conn.execute(
                delete(experiment_tags).where(
                    experiment_tags.c.experiment_id == int(experiment_id), experiment_tags.c.key == key
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"experiment {experiment_id} has no tag {key!r}")

        self._write(work)
