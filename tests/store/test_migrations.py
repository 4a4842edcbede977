"""Alembic migrations build exactly the schema the table definitions describe, on every back end."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from cairn.store.sql import schema
from cairn.store.sql.engine import create_store_engine
from cairn.store.sql.tables import metadata


def _diff(url: str) -> list[object]:
    engine = create_store_engine(url)
    schema.upgrade(engine)
    dialect = engine.dialect.name

    def for_this_dialect(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": for_this_dialect}
        )
        diffs: list[object] = compare_metadata(context, metadata)
    engine.dispose()
    return diffs


def test_sqlite_migrations_match_tables(tmp_path: Path) -> None:
    assert _diff(f"sqlite:///{tmp_path / 'm.db'}") == []


@pytest.mark.postgres
def test_postgres_migrations_match_tables(postgres_url: str) -> None:
    assert _diff(postgres_url) == []


def test_head_revision_constant_matches_the_scripts() -> None:
    script = ScriptDirectory(str(Path(schema.__file__).parent / "migrations"))
    assert script.get_current_head() == schema.HEAD_REVISION


def test_upgrade_from_the_first_schema_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_store_engine(url)
    schema.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time,"
            " last_update_time) VALUES (7, 'kept', 'file:///x', 'active', 1, 1)"
        )
    schema.upgrade(engine)
    with create_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM experiments WHERE experiment_id = 7").scalar() == "kept"
        assert (
            conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == schema.HEAD_REVISION
        )
    engine.dispose()


def test_upgrade_from_the_registry_schema_adds_dataset_tables_and_keeps_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    engine = create_store_engine(url)
    schema.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO registered_models (name, creation_time, last_updated_time, user_id, description,"
            " next_version) VALUES ('kept-model', 1, 1, 'alice', '', 4)"
        )
        assert not inspect(conn).has_table("dataset_versions")
    schema.upgrade(engine)
    with create_engine(url).connect() as conn:
        row = conn.exec_driver_sql("SELECT name, next_version FROM registered_models").one()
        assert tuple(row) == ("kept-model", 4)
        tables = set(inspect(conn).get_table_names())
        assert {
            "dataset_names",
            "dataset_versions",
            "dataset_aliases",
            "dataset_validations",
            "dataset_blobs",
        } <= tables
        assert (
            conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == schema.HEAD_REVISION
        )
    engine.dispose()
