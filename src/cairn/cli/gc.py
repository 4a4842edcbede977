"""`cairn gc`: permanently delete soft-deleted runs (rows and artifacts) and experiments left empty."""

from __future__ import annotations

import click

from cairn.cli.context import CliContext, pass_cli

SHOWN_IDS = 20


def _split_ids(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids:
        raise click.BadParameter("give one or more run ids separated by commas")
    return list(dict.fromkeys(ids))


@click.command("gc")
@click.option(
    "--older-than",
    metavar="AGE",
    help="Only purge what was deleted at least AGE ago, e.g. 30d, 12h, 90m, 0s [default: any age].",
)
@click.option(
    "--run-ids",
    callback=_split_ids,
    metavar="ID,ID,...",
    help="Only purge these deleted runs (comma-separated) [default: every deleted run].",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
def gc_command(state: CliContext, older_than: str | None, run_ids: list[str] | None, yes: bool) -> None:
    """Permanently delete soft-deleted runs, with their artifacts, then deleted experiments left empty.

    Artifacts of a run are deleted before its rows, so an interrupted gc can simply be run again.
    """
    from cairn.tracking import gc

    store = state.client().store
    age_ms = gc.parse_duration(older_than) if older_than is not None else None
    plan = gc.plan_purge(store, age_ms, run_ids)
    if plan.is_empty:
        click.echo("Nothing to purge.")
        return
    click.echo(
        f"Will permanently delete {len(plan.runs)} run(s) with their artifacts "
        f"and {len(plan.experiment_ids)} experiment(s):"
    )
    _list_ids("run", [run_id for run_id, _ in plan.runs])
    _list_ids("experiment", list(plan.experiment_ids))
    if not yes:
        click.confirm("Purge them? This cannot be undone", abort=True)
    report = gc.execute_purge(store, plan, on_purged=lambda kind, item: click.echo(f"Purged {kind} {item}"))
    click.echo(f"Purged {len(report.run_ids)} run(s) and {len(report.experiment_ids)} experiment(s).")
    if report.skipped_run_ids or report.skipped_experiment_ids:
        click.echo(
            f"Skipped {len(report.skipped_run_ids)} run(s) and {len(report.skipped_experiment_ids)} "
            "experiment(s) restored or purged elsewhere since the plan was made."
        )


def _list_ids(kind: str, ids: list[str]) -> None:
    for item in ids[:SHOWN_IDS]:
        click.echo(f"  {kind} {item}")
    if len(ids) > SHOWN_IDS:
        click.echo(f"  ... and {len(ids) - SHOWN_IDS} more {kind}(s)")
