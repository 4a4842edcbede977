"""The `cairn` command: the top-level group, its global options and how errors are reported."""

from __future__ import annotations

from typing import Any

import click

from cairn.cli.context import CliContext
from cairn.cli.data import data_group
from cairn.cli.db import db_group
from cairn.cli.experiments import experiments_group
from cairn.cli.gc import gc_command
from cairn.cli.model_registry import add_registry_commands
from cairn.cli.models import models_group
from cairn.cli.models_predict import predict_command
from cairn.cli.runs import runs_group
from cairn.cli.server import server_command, ui_command
from cairn.errors import CairnError


class CairnGroup(click.Group):
    """A click group that reports Cairn's own errors as `Error: <message>` with exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the chosen command, turning a `CairnError` into a click error without a traceback."""
        try:
            return super().invoke(ctx)
        except CairnError as error:
            raise click.ClickException(error.message) from None


@click.group("cairn", cls=CairnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tracking-uri",
    envvar="CAIRN_TRACKING_URI",
    metavar="URI",
    help="Where runs are stored: a folder, sqlite:///file.db or postgresql://... "
    "[env: CAIRN_TRACKING_URI; default: ./cairn-store]",
)
@click.version_option(package_name="cairn", prog_name="cairn")
@click.pass_context
def cli(ctx: click.Context, tracking_uri: str | None) -> None:
    """Cairn: track experiments and runs, and manage the store that holds them."""
    state = CliContext(tracking_uri)
    ctx.obj = state
    ctx.call_on_close(state.close)


cli.add_command(experiments_group)
cli.add_command(runs_group)
cli.add_command(db_group)
cli.add_command(data_group)
cli.add_command(gc_command)
add_registry_commands(models_group)
models_group.add_command(predict_command)
cli.add_command(models_group)
cli.add_command(server_command)
cli.add_command(ui_command)


def main() -> None:
    """Entry point of the `cairn` console script."""
    cli.main(prog_name="cairn")


if __name__ == "__main__":
    main()
