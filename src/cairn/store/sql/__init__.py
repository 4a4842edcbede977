"""The SQLAlchemy metadata store for SQLite and PostgreSQL."""

from cairn.store.sql.store import SqlStore

__all__ = ["SqlStore"]
