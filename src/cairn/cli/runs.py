"""`cairn runs`: list, show, delete and restore runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cairn.cli import output
from cairn.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from cairn.tracking.client import TrackingClient

DEFAULT_EXPERIMENT_ID = "0"


@click.group("runs")
def runs_group() -> None:
    """List, show, delete and restore runs."""


@runs_group.command("list")
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    metavar="ID_OR_NAME",
    help="Experiment id or name to search (repeatable) [default: the Default experiment, 0].",
)
@click.option(
    "--filter",
    "filter_string",
    metavar="F",
    help="A search filter, e.g. \"metrics.acc > 0.9 and params.model = 'cnn'\".",
)
@click.option(
    "--order-by",
    "order_by",
    multiple=True,
    metavar="CLAUSE",
    help='Sort clause, e.g. "metrics.acc DESC" (repeatable) [default: newest first].',
)
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    metavar="N",
    help="Show at most N runs.",
)
@click.option(
    "--view",
    type=click.Choice(list(output.VIEW_CHOICES), case_sensitive=False),
    default="active",
    show_default=True,
    help="Which runs to show: active ones, deleted ones, or all.",
)
@click.option(
    "--output",
    "output_format",
    type=output.OUTPUT_CHOICE,
    default="table",
    show_default=True,
    help="A table for people or JSON (full runs with params, metrics and tags) for programs.",
)
@pass_cli
def list_runs(
    state: CliContext,
    experiments: tuple[str, ...],
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    view: str,
    output_format: str,
) -> None:
    """List runs of one or more experiments."""
    client = state.client()
    ids = [_experiment_id(client, ref) for ref in experiments or (DEFAULT_EXPERIMENT_ID,)]
    page = client.search_runs(
        ids, filter_string, output.VIEW_CHOICES[view.lower()], max_results, list(order_by) or None
    )
    if output_format.lower() == "json":
        output.echo_json([output.run_dict(run) for run in page])
    else:
        output.runs_table(page, order_by)
    if page.token:
        click.echo(f"More runs match; showing the first {max_results} (raise --max-results).", err=True)


@runs_group.command("show")
@click.argument("run_id")
@click.option(
    "--output",
    "output_format",
    type=output.OUTPUT_CHOICE,
    default="table",
    show_default=True,
    help="Tables for people or JSON for programs.",
)
@pass_cli
def show_run(state: CliContext, run_id: str, output_format: str) -> None:
    """Show RUN_ID with its params, latest metrics and tags."""
    run = state.client().get_run(run_id)
    if output_format.lower() == "json":
        output.echo_json(output.run_dict(run))
    else:
        output.run_details(run)


@runs_group.command("delete")
@click.argument("run_id")
@pass_cli
def delete_run(state: CliContext, run_id: str) -> None:
    """Soft-delete RUN_ID (restorable until `cairn gc` purges it)."""
    state.client().delete_run(run_id)
    click.echo(f"Deleted run {run_id} (restore it with `cairn runs restore {run_id}`)")


@runs_group.command("restore")
@click.argument("run_id")
@pass_cli
def restore_run(state: CliContext, run_id: str) -> None:
    """Restore soft-deleted RUN_ID."""
    state.client().restore_run(run_id)
    click.echo(f"Restored run {run_id}")


def _experiment_id(client: TrackingClient, ref: str) -> str:
    """The id of the experiment `ref` names: an existing id, else an experiment name."""
    from cairn.errors import NotFound

    if ref.isdigit():
        try:
            return client.get_experiment(ref).experiment_id
        except NotFound:
            pass
    found = client.get_experiment_by_name(ref)
    if found is None:
        raise NotFound(f"experiment {ref!r} does not exist (looked it up by id and by name)")
    return found.experiment_id
