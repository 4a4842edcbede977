"""SQLAlchemy table definitions of the metadata store (the schema Alembic migrations build)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("artifact_location", String(2000), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("name", String(250), nullable=False),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", String(256), nullable=False),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("artifact_uri", String(2000), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("heartbeat_time", BigInteger, nullable=True),
    Column("deleted_time", BigInteger, nullable=True),
    Index("ix_runs_experiment_stage_start", "experiment_id", "lifecycle_stage", "start_time"),
    Index("ix_runs_status_heartbeat", "status", "heartbeat_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    # SQLite: one covering index answers `key = ? AND value = ?`. PostgreSQL cannot put values of up to
    # 8,000 characters into a btree entry, so it gets a btree on key and a hash index on value instead.
    Index("ix_params_key_value_run", "key", "value", "run_uuid").ddl_if(dialect="sqlite"),
    Index("ix_params_key_run", "key", "run_uuid").ddl_if(dialect="postgresql"),
    Index("ix_params_value_hash", "value", postgresql_using="hash").ddl_if(dialect="postgresql"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    # SQLite: one covering index answers `key = ? AND value = ?`. PostgreSQL cannot put values of up to
    # 8,000 characters into a btree entry, so it gets a btree on key and a hash index on value instead.
    Index("ix_tags_key_value_run", "key", "value", "run_uuid").ddl_if(dialect="sqlite"),
    Index("ix_tags_key_run", "key", "run_uuid").ddl_if(dialect="postgresql"),
    Index("ix_tags_value_hash", "value", postgresql_using="hash").ddl_if(dialect="postgresql"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    # NULL when the value is NaN (SQLite cannot store NaN); is_nan says so.
    Column("value", Double, nullable=True),
    Column("is_nan", Boolean, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("step", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "is_nan", "value", "run_uuid"),
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("chunk_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("points", Integer, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("timestamps", LargeBinary, nullable=False),
    Column("metric_values", LargeBinary, nullable=False),
    Index("ix_metric_chunks_run_key", "run_uuid", "key", "chunk_id"),
)

artifact_files = Table(
    "artifact_files",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("file_size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("recorded_time", BigInteger, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(36), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("dataset_schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column(
        "dataset_uuid",
        String(36),
        ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_run_inputs_dataset", "dataset_uuid"),
)

input_tags = Table(
    "input_tags",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("dataset_uuid", String(36), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(500), nullable=False),
    ForeignKeyConstraint(
        ["run_uuid", "dataset_uuid"],
        ["run_inputs.run_uuid", "run_inputs.dataset_uuid"],
        ondelete="CASCADE",
        name="fk_input_tags_run_input",
    ),
)

# Ids of bulk-ingestion batches already applied, so that a retried batch is applied once.
ingest_batches = Table(
    "ingest_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("applied_time", BigInteger, nullable=False),
    Index("ix_ingest_batches_applied_time", "applied_time"),
)
