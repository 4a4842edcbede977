"""`cairn data ...`: dataset versions, profiles, diffs, validation, rule suggestions and erasure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cairn.cli import output
from cairn.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from cairn.data.client import DataClient
    from cairn.entities.dataset_version import DatasetVersion

OUTPUT_OPTION = click.option(
    "--output",
    "output_format",
    type=output.OUTPUT_CHOICE,
    default="table",
    show_default=True,
    help="A table for people or JSON for programs.",
)
VERSION_OPTION = click.option("--version", "version", metavar="N", help="A version number (default: latest).")
ALIAS_OPTION = click.option("--alias", metavar="NAME", help="A dataset alias instead of a version number.")


def data_client(state: CliContext) -> DataClient:
    """A data client on the command's store."""
    from cairn.data.client import DataClient

    return DataClient(tracking=state.client())


def version_dict(version: DatasetVersion, *, full: bool = False) -> dict[str, Any]:
    """A dataset version as a JSON-ready dict (profile, PII findings and reports only when `full`)."""
    data: dict[str, Any] = {
        "name": version.name,
        "version": version.version,
        "digest": version.digest,
        "status": version.status.value,
        "row_count": version.row_count,
        "file_count": version.file_count,
        "size_bytes": version.size_bytes,
        "storage": version.storage.value,
        "source": version.source,
        "source_type": version.source_type,
        "created_by": version.created_by,
        "creation_time": version.creation_time,
        "description": version.description,
        "tags": dict(version.tags),
        "aliases": list(version.aliases),
        "derived_from": version.derived_from,
        "schema": version.schema,
        "erasure": version.erasure,
    }
    if full:
        data.update(profile=version.profile, pii=version.pii, validations=list(version.validations))
    return data


@click.group("data")
def data_group() -> None:
    """Versioned datasets: list, show, diff, validate, suggest rules, erase."""


@data_group.command("list")
@pass_cli
@click.option("--name-like", metavar="PATTERN", help="Only names matching a LIKE pattern, e.g. 'churn%'.")
@OUTPUT_OPTION
def list_datasets(state: CliContext, name_like: str | None, output_format: str) -> None:
    """List datasets with their latest version and aliases."""
    summaries = data_client(state).list_datasets(name_like)
    if output_format == "json":
        output.echo_json([vars(s) for s in summaries])
        return
    rows = [
        (
            s.name,
            str(s.latest_version),
            ", ".join(f"{a}=v{v}" for a, v in sorted(s.aliases.items())),
            output.format_time(s.last_updated_time),
            (s.description or "")[:60],
        )
        for s in summaries
    ]
    output.print_table("Datasets", ["name", "latest", "aliases", "updated", "description"], rows)


@data_group.command("versions")
@pass_cli
@click.argument("name")
@OUTPUT_OPTION
def list_versions(state: CliContext, name: str, output_format: str) -> None:
    """List the versions of a dataset, newest first."""
    versions = data_client(state).versions(name)
    if output_format == "json":
        output.echo_json([version_dict(v) for v in versions])
        return
    rows = [
        (
            str(v.version),
            v.digest[:12],
            f"{v.row_count:,}",
            f"{v.file_count:,}",
            _size(v.size_bytes),
            v.status.value,
            ", ".join(v.aliases),
            output.format_time(v.creation_time),
            v.created_by,
        )
        for v in versions
    ]
    headers = ["version", "digest", "rows", "files", "size", "status", "aliases", "created", "by"]
    output.print_table(f"Versions of {name}", headers, rows)


@data_group.command("show")
@pass_cli
@click.argument("name")
@VERSION_OPTION
@ALIAS_OPTION
@OUTPUT_OPTION
def show_version(
    state: CliContext, name: str, version: str | None, alias: str | None, output_format: str
) -> None:
    """Show a version: schema, profile, PII findings and validation results."""
    from cairn.cli.data_render import print_version

    found = data_client(state).get(name, version, alias)
    if output_format == "json":
        output.echo_json(version_dict(found, full=True))
        return
    print_version(found)


@data_group.command("diff")
@pass_cli
@click.argument("name")
@click.argument("old")
@click.argument("new")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Columns to rank.")
@OUTPUT_OPTION
def diff_versions(state: CliContext, name: str, old: str, new: str, top: int, output_format: str) -> None:
    """Compare two versions: schema changes, row counts, and the columns whose distribution moved most."""
    from cairn.cli.data_render import print_diff

    diff = data_client(state).diff(name, old, new)
    if output_format == "json":
        output.echo_json(diff.to_dict())
        return
    print_diff(diff, top)


@data_group.command("validate")
@pass_cli
@click.argument("name")
@click.option(
    "--rules", "rules_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@VERSION_OPTION
@ALIAS_OPTION
@click.option("--run-id", metavar="ID", help="Also record the report on this run.")
@OUTPUT_OPTION
def validate_version(
    state: CliContext,
    name: str,
    rules_file: Path,
    version: str | None,
    alias: str | None,
    run_id: str | None,
    output_format: str,
) -> None:
    """Check a version against a YAML rules file; exits with status 1 when an error-level rule fails."""
    from cairn.cli.data_render import print_report

    report = data_client(state).validate(name, rules_file, version, alias, run_id=run_id)
    if output_format == "json":
        output.echo_json(report.to_dict())
    else:
        print_report(report)
    if not report.passed:
        raise SystemExit(1)


@data_group.command("suggest-rules")
@pass_cli
@click.argument("name")
@VERSION_OPTION
@ALIAS_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the YAML here.")
def suggest_rules(
    state: CliContext, name: str, version: str | None, alias: str | None, out: Path | None
) -> None:
    """Propose validation rules (YAML) from a trusted version's profile."""
    from cairn.data.rules_yaml import dump_rules

    text = dump_rules(data_client(state).suggest_rules(name, version, alias))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


@data_group.command("erase")
@pass_cli
@click.argument("name")
@click.option("--where", "where", required=True, help='Rows to erase, e.g. "user_id = 123".')
@click.option("--yes", is_flag=True, help="Purge the erased content without asking.")
@OUTPUT_OPTION
def erase_rows(state: CliContext, name: str, where: str, yes: bool, output_format: str) -> None:
    """Write new versions without matching rows, list what to retrain, and purge the old content."""
    from cairn.cli.data_render import print_erasure
    from cairn.data.erasure import purge_erased

    client = data_client(state)
    result = client.erase(name, where, purge=False)
    if output_format == "json":
        data = result.to_dict()
        if yes:
            data["purged_blobs"] = purge_erased(client, name)
        output.echo_json(data)
        return
    print_erasure(result)
    if yes or click.confirm("Purge the erased versions' content from the store now?", default=False):
        click.echo(f"purged {purge_erased(client, name)} stored file(s)")
    else:
        click.echo(f"not purged; run `cairn data erase {name} --where ... --yes` to purge")


@data_group.command("log")
@pass_cli
@click.argument("source")
@click.option("--name", required=True, help="The dataset's name.")
@click.option("--storage", type=click.Choice(["copy", "reference"]), default="copy", show_default=True)
@click.option("--description", help="Free text for a new version.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A privacy policy (YAML) applied before storing.",
)
@click.option(
    "--pii-column", "pii_columns", multiple=True, metavar="COLUMN", help="Tag a column as personal data."
)
@click.option("--run-id", metavar="ID", help="Link the version to this run as a training input.")
@OUTPUT_OPTION
def log_source(
    state: CliContext,
    source: str,
    name: str,
    storage: str,
    description: str | None,
    policy_file: Path | None,
    pii_columns: tuple[str, ...],
    run_id: str | None,
    output_format: str,
) -> None:
    """Version a file, folder or URI (CSV, Parquet, JSON lines) as dataset NAME."""
    from cairn.data.client import storage_mode
    from cairn.data.dataset_logging import LogOptions
    from cairn.data.privacy import load_policy

    options = LogOptions(
        storage=storage_mode(storage),
        description=description,
        policy=load_policy(policy_file) if policy_file is not None else None,
        pii_columns=pii_columns,
    )
    version = data_client(state).log_dataset(source, name, run_id=run_id, options=options)
    if output_format == "json":
        output.echo_json(version_dict(version))
        return
    click.echo(f"{name} version {version.version}: {version.row_count:,} rows, digest {version.digest[:12]}")


@data_group.command("skew")
@pass_cli
@click.argument("name")
@click.option("--serving", required=True, help="The serving sample or prediction log (file, folder or URI).")
@click.option("--column-prefix", help='Strip this prefix from serving columns (prediction logs: "input.").')
@VERSION_OPTION
@ALIAS_OPTION
@OUTPUT_OPTION
def check_skew(
    state: CliContext,
    name: str,
    serving: str,
    column_prefix: str | None,
    version: str | None,
    alias: str | None,
    output_format: str,
) -> None:
    """Compare serving data with a training version; exits with status 1 when a column fails."""
    from cairn.cli.data_render import print_skew

    report = data_client(state).check_skew(name, serving, version, alias, column_prefix=column_prefix)
    if output_format == "json":
        output.echo_json(report.to_dict())
    else:
        print_skew(report)
    if report.status == "fail":
        raise SystemExit(1)


@data_group.group("alias")
def alias_group() -> None:
    """Set or delete dataset aliases."""


@alias_group.command("set")
@pass_cli
@click.argument("name")
@click.argument("alias")
@click.argument("version")
def set_alias(state: CliContext, name: str, alias: str, version: str) -> None:
    """Point ALIAS of dataset NAME at VERSION."""
    data_client(state).set_alias(name, alias, version)
    click.echo(f"{name}@{alias} -> version {version}")


@alias_group.command("delete")
@pass_cli
@click.argument("name")
@click.argument("alias")
def delete_alias(state: CliContext, name: str, alias: str) -> None:
    """Delete ALIAS of dataset NAME."""
    data_client(state).delete_alias(name, alias)
    click.echo(f"deleted {name}@{alias}")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
