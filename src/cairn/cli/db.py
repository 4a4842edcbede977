"""`cairn db`: show and upgrade the schema revision of the metadata database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cairn.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from sqlalchemy import Engine


@click.group("db")
def db_group() -> None:
    """Show and upgrade the schema revision of the metadata database."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="The Alembic revision to upgrade to.")
@pass_cli
def upgrade(state: CliContext, revision: str) -> None:
    """Migrate the database to REVISION, creating it if needed; prints the revision before and after."""
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    from cairn.store.sql import schema

    with _engine(state, create=True) as (engine, shown):
        assert engine is not None  # created on demand
        before = _revision(engine)
        try:
            schema.upgrade(engine, revision)
        except (CommandError, RevisionError) as error:
            raise click.ClickException(f"cannot upgrade {shown} to revision {revision!r}: {error}") from None
        after = _revision(engine)
    click.echo(f"Database {shown}: revision {before or 'none'} -> {after or 'none'}")


@db_group.command("current")
@pass_cli
def current(state: CliContext) -> None:
    """Print the schema revision the database is at ("none" for an empty or missing database)."""
    with _engine(state, create=False) as (engine, shown):
        revision = _revision(engine) if engine is not None else None
    click.echo(f"Database {shown}: revision {revision or 'none'}")


@contextmanager
def _engine(state: CliContext, create: bool) -> Iterator[tuple[Engine | None, str]]:
    """An engine on the tracking URI's database and a password-free name for it.

    With `create` false, a SQLite file that does not exist yet is not created: the engine is then None.
    """
    from sqlalchemy.engine import make_url

    from cairn.store.resolve import locate
    from cairn.store.sql.engine import create_store_engine

    location = locate(state.resolved_uri(), state.settings().artifact_root)
    shown = make_url(location.db_url).render_as_string(hide_password=True)
    sqlite_file = (
        Path(location.db_url.removeprefix("sqlite:///")) if location.db_url.startswith("sqlite:///") else None
    )
    if sqlite_file is not None and not sqlite_file.exists():
        if not create:
            yield None, shown
            return
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(location.db_url)
    try:
        yield engine, shown
    finally:
        engine.dispose()


def _revision(engine: Engine) -> str | None:
    from cairn.store.sql.schema import current_revision

    with engine.connect() as conn:
        return current_revision(conn)
