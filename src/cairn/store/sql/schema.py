"""Bringing a database to the current schema with Alembic, safely from many processes at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from cairn.store.sql.engine import write_transaction

HEAD_REVISION = "0004"
_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x6361_6972_6E


def current_revision(conn: Connection) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    """True when the database is already at the head revision (a cheap check, no Alembic import)."""
    with engine.connect() as conn:
        return current_revision(conn) == HEAD_REVISION


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to `revision`, serialising concurrent callers on a database lock."""
    from alembic import command
    from alembic.config import Config

    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        if revision == "head" and current_revision(conn) == HEAD_REVISION:
            return
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def ensure_current(engine: Engine) -> None:
    """Upgrade the database to the head revision unless it is there already."""
    if not is_current(engine):
        upgrade(engine)
