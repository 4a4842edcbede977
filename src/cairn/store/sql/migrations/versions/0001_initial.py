"""The first schema: experiments, runs, params, tags, metrics and artifact records.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.run_uuid", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("artifact_location", sa.String(2000), nullable=False),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "experiment_tags",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("artifact_uri", sa.String(2000), nullable=False),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("heartbeat_time", sa.BigInteger, nullable=True),
        sa.Column("deleted_time", sa.BigInteger, nullable=True),
    )
    op.create_index(
        "ix_runs_experiment_stage_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"]
    )
    op.create_index("ix_runs_status_heartbeat", "runs", ["status", "heartbeat_time"])
    for name in ("params", "tags"):
        op.create_table(
            name,
            sa.Column("run_uuid", sa.String(32), _run_fk(), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
        if op.get_context().dialect.name == "postgresql":
            op.create_index(f"ix_{name}_key_run", name, ["key", "run_uuid"])
            op.create_index(f"ix_{name}_value_hash", name, ["value"], postgresql_using="hash")
        else:
            op.create_index(f"ix_{name}_key_value_run", name, ["key", "value", "run_uuid"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", sa.String(32), _run_fk(), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Double, nullable=True),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "is_nan", "value", "run_uuid"])
    op.create_table(
        "metric_chunks",
        sa.Column(
            "chunk_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_uuid", sa.String(32), _run_fk(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("steps", sa.LargeBinary, nullable=False),
        sa.Column("timestamps", sa.LargeBinary, nullable=False),
        sa.Column("metric_values", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_metric_chunks_run_key", "metric_chunks", ["run_uuid", "key", "chunk_id"])
    op.create_table(
        "artifact_files",
        sa.Column("run_uuid", sa.String(32), _run_fk(), primary_key=True),
        sa.Column("path", sa.String(1024), primary_key=True),
        sa.Column("file_size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("recorded_time", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "artifact_files",
        "metric_chunks",
        "latest_metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(name)
