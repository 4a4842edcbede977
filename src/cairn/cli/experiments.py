"""`cairn experiments`: list, create, rename, delete and restore experiments."""

from __future__ import annotations

import click

from cairn.cli import output
from cairn.cli.context import CliContext, pass_cli


@click.group("experiments")
def experiments_group() -> None:
    """List, create, rename, delete and restore experiments."""


@experiments_group.command("list")
@click.option(
    "--view",
    type=click.Choice(list(output.VIEW_CHOICES), case_sensitive=False),
    default="active",
    show_default=True,
    help="Which experiments to show: active ones, deleted ones, or all.",
)
@click.option("--filter", "filter_string", metavar="F", help="A search filter, e.g. \"name LIKE 'fraud%'\".")
@click.option(
    "--max-results",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    metavar="N",
    help="Show at most N experiments.",
)
@click.option(
    "--output",
    "output_format",
    type=output.OUTPUT_CHOICE,
    default="table",
    show_default=True,
    help="A table for people or JSON for programs.",
)
@pass_cli
def list_experiments(
    state: CliContext, view: str, filter_string: str | None, max_results: int, output_format: str
) -> None:
    """List experiments, newest first."""
    page = state.client().search_experiments(output.VIEW_CHOICES[view.lower()], max_results, filter_string)
    if output_format.lower() == "json":
        output.echo_json([output.experiment_dict(e) for e in page])
    else:
        output.experiments_table(page)
    if page.token:
        click.echo(
            f"More experiments match; showing the first {max_results} (raise --max-results).", err=True
        )


@experiments_group.command("create")
@click.argument("name")
@click.option("--artifact-location", metavar="URI", help="Where the experiment's runs store artifacts.")
@pass_cli
def create_experiment(state: CliContext, name: str, artifact_location: str | None) -> None:
    """Create an experiment called NAME and print its id."""
    experiment_id = state.client().create_experiment(name, artifact_location)
    click.echo(f"Created experiment {name!r} with id {experiment_id}")


@experiments_group.command("rename")
@click.argument("experiment_id", metavar="ID")
@click.argument("new_name")
@pass_cli
def rename_experiment(state: CliContext, experiment_id: str, new_name: str) -> None:
    """Rename experiment ID to NEW_NAME."""
    state.client().rename_experiment(experiment_id, new_name)
    click.echo(f"Renamed experiment {experiment_id} to {new_name!r}")


@experiments_group.command("delete")
@click.argument("experiment_id", metavar="ID")
@pass_cli
def delete_experiment(state: CliContext, experiment_id: str) -> None:
    """Soft-delete experiment ID and its runs (restorable until `cairn gc` purges them)."""
    state.client().delete_experiment(experiment_id)
    click.echo(
        f"Deleted experiment {experiment_id} (restore it with `cairn experiments restore {experiment_id}`)"
    )


@experiments_group.command("restore")
@click.argument("experiment_id", metavar="ID")
@pass_cli
def restore_experiment(state: CliContext, experiment_id: str) -> None:
    """Restore soft-deleted experiment ID and the runs deleted with it."""
    state.client().restore_experiment(experiment_id)
    click.echo(f"Restored experiment {experiment_id}")
