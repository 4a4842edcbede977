"""Dataset versions: names with their version counter, versions, aliases, validation reports and blobs.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _version_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["name", "version"],
        ["dataset_versions.name", "dataset_versions.version"],
        name=name,
        ondelete="CASCADE",
    )


def _create_versions() -> None:
    op.create_table(
        "dataset_names",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "dataset_versions",
        sa.Column(
            "name",
            sa.String(256),
            sa.ForeignKey("dataset_names.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("dataset_schema", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_type", sa.String(64), nullable=False),
        sa.Column("storage", sa.String(16), nullable=False),
        sa.Column("manifest_digest", sa.String(64), nullable=False),
        sa.Column("file_count", sa.BigInteger, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("pii", sa.Text, nullable=True),
        sa.Column("derived_from", sa.Integer, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("erasure", sa.Text, nullable=True),
    )
    op.create_index("ix_dataset_versions_name_digest", "dataset_versions", ["name", "digest"])


def _create_version_children() -> None:
    op.create_table(
        "dataset_aliases",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        _version_fk("fk_dataset_aliases_version"),
    )
    op.create_table(
        "dataset_validations",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        _version_fk("fk_dataset_validations_version"),
    )
    op.create_table(
        "dataset_blobs",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
    )


def upgrade() -> None:
    _create_versions()
    _create_version_children()


def downgrade() -> None:
    for name in (
        "dataset_blobs",
        "dataset_validations",
        "dataset_aliases",
        "dataset_versions",
        "dataset_names",
    ):
        op.drop_table(name)
