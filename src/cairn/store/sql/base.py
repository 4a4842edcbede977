"""Shared state of the SQL store's parts: the engine and transaction helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine

from cairn.store.sql.engine import read_transaction, with_retries, write_transaction

T = TypeVar("T")


class SqlBase:
    """Holds the engine; parts of the store run their work through `_write` and `_read`."""

    def __init__(self, engine: Engine, artifact_root: str, heartbeat_timeout_ms: int) -> None:
        self._engine = engine
        self._artifact_root = artifact_root.rstrip("/")
        self._heartbeat_timeout_ms = heartbeat_timeout_ms

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine behind this store."""
        return self._engine

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction, retried on transient errors."""

        def attempt() -> T:
            with write_transaction(self._engine) as conn:
                return work(conn)

        return with_retries(attempt)

    def _read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one read transaction, retried on transient errors."""

        def attempt() -> T:
            with read_transaction(self._engine) as conn:
                return work(conn)

        return with_retries(attempt)
