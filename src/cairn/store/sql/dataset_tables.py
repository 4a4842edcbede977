"""SQLAlchemy tables of dataset versions, their aliases and validation reports, and content blobs.

A dataset is keyed by name; its versions, aliases and validations refer to it with ON DELETE
CASCADE. JSON values (schema, profile, tags, PII findings, reports, erasure records) are stored
as text: the store never queries inside them.
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

dataset_names = Table(
    "dataset_names",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("description", Text, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    # The number the next version gets; only ever grows, and is read under the row's lock.
    Column("next_version", Integer, nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("dataset_names.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("dataset_schema", Text, nullable=False),
    Column("profile", Text, nullable=True),
    Column("source", Text, nullable=False),
    Column("source_type", String(64), nullable=False),
    Column("storage", String(16), nullable=False),
    Column("manifest_digest", String(64), nullable=False),
    Column("file_count", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
    Column("tags", Text, nullable=False),
    Column("pii", Text, nullable=True),
    Column("derived_from", Integer, nullable=True),
    Column("created_by", String(256), nullable=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("erasure", Text, nullable=True),
    Index("ix_dataset_versions_name_digest", "name", "digest"),
)


def _version_fk(name: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["name", "version"],
        ["dataset_versions.name", "dataset_versions.version"],
        name=name,
        ondelete="CASCADE",
    )


dataset_aliases = Table(
    "dataset_aliases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    _version_fk("fk_dataset_aliases_version"),
)

dataset_validations = Table(
    "dataset_validations",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("report", Text, nullable=False),
    Column("time", BigInteger, nullable=False),
    _version_fk("fk_dataset_validations_version"),
)

dataset_blobs = Table(
    "dataset_blobs",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("creation_time", BigInteger, nullable=False),
)
