"""SQLAlchemy tables of the model registry and of logged models (on the store's shared metadata).

Registered models are keyed by name; their versions, tags and aliases refer to that name with
ON UPDATE CASCADE, so a rename carries everything in one statement. Version run ids and logged
model source runs are plain indexed columns, not foreign keys: purging a run must not break
the registry's lineage records.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from cairn.store.sql.tables import metadata

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("description", Text, nullable=False),
    # The number the next version gets; only ever grows, so deleted numbers are never reused.
    Column("next_version", Integer, nullable=False),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("description", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("run_id", String(256), nullable=True),
    Column("model_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=False),
    Column("run_link", Text, nullable=False),
    Column("stage", String(20), nullable=False),
    Index("ix_model_versions_run_id", "run_id"),
    Index("ix_model_versions_model_id", "model_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name="fk_model_version_tags_version",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name="fk_registered_model_aliases_version",
        ondelete="CASCADE",
        onupdate="CASCADE",
    ),
)

# The audit trail: one row per change, kept when the model is renamed or deleted (no foreign key).
registry_changes = Table(
    "registry_changes",
    metadata,
    Column("change_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("action", String(50), nullable=False),
    Column("model_name", String(256), nullable=False),
    Column("version", Integer, nullable=True),
    Column("field_name", String(300), nullable=False),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Index("ix_registry_changes_model_name", "model_name", "change_id"),
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(64), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("status_message", Text, nullable=False),
    Column("model_type", String(500), nullable=False),
    Column("source_run_id", String(256), nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Index("ix_logged_models_experiment_stage_created", "experiment_id", "lifecycle_stage", "creation_time"),
    Index("ix_logged_models_source_run_id", "source_run_id"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column(
        "model_id", String(64), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column(
        "model_id", String(64), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

run_outputs = Table(
    "run_outputs",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column(
        "model_id", String(64), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("step", BigInteger, primary_key=True, autoincrement=False),
    Index("ix_run_outputs_model_id", "model_id"),
)
