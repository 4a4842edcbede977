"""SQLAlchemy table definitions of the metadata store (the schema Alembic migrations build)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
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
