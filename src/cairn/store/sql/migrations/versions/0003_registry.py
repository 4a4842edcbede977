"""The model registry (models, versions, tags, aliases, audit trail) and logged models with run outputs.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _model_name_column() -> sa.Column[str]:
    return sa.Column(
        "name",
        sa.String(256),
        sa.ForeignKey("registered_models.name", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    )


def _version_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        name=name,
        ondelete="CASCADE",
        onupdate="CASCADE",
    )


def _logged_model_column() -> sa.Column[str]:
    return sa.Column(
        "model_id",
        sa.String(64),
        sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    )


def _create_registry_tables() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "registered_model_tags",
        _model_name_column(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "model_versions",
        _model_name_column(),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(256), nullable=True),
        sa.Column("model_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.Column("run_link", sa.Text, nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index("ix_model_versions_model_id", "model_versions", ["model_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        _version_fk("fk_model_version_tags_version"),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        _version_fk("fk_registered_model_aliases_version"),
    )
    op.create_table(
        "registry_changes",
        sa.Column(
            "change_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("model_name", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("field_name", sa.String(300), nullable=False),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=True),
    )
    op.create_index("ix_registry_changes_model_name", "registry_changes", ["model_name", "change_id"])


def _create_logged_model_tables() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_uri", sa.Text, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.Column("model_type", sa.String(500), nullable=False),
        sa.Column("source_run_id", sa.String(256), nullable=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
    )
    op.create_index(
        "ix_logged_models_experiment_stage_created",
        "logged_models",
        ["experiment_id", "lifecycle_stage", "creation_time"],
    )
    op.create_index("ix_logged_models_source_run_id", "logged_models", ["source_run_id"])
    for name in ("logged_model_tags", "logged_model_params"):
        op.create_table(
            name,
            _logged_model_column(),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_table(
        "run_outputs",
        sa.Column(
            "run_uuid",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        _logged_model_column(),
        sa.Column("step", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    op.create_index("ix_run_outputs_model_id", "run_outputs", ["model_id"])


def upgrade() -> None:
    _create_registry_tables()
    _create_logged_model_tables()


def downgrade() -> None:
    for name in (
        "run_outputs",
        "logged_model_params",
        "logged_model_tags",
        "logged_models",
        "registry_changes",
        "registered_model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(name)
