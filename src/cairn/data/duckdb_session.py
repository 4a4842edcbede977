"""A private in-memory DuckDB connection with a memory limit, used by the profile and the rule checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import duckdb


@contextmanager
def duckdb_session(memory_limit: str, threads: int | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection (time zone UTC), closed on exit.

    Raises:
        InvalidArgument: naming `memory_limit` and `threads` when DuckDB refuses them.
    """
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit}
    if threads is not None:
        config["threads"] = threads
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as error:
        raise InvalidArgument(
            f"memory_limit {memory_limit!r} or threads {threads!r} not accepted: {error}"
        ) from error
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()
