"""`cairn models list|show|versions|alias|lineage|history`: the registry from the command line."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from cairn.cli import output
from cairn.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from cairn.entities.registry import ModelVersion, RegisteredModel
    from cairn.registry.client import RegistryClient
    from cairn.registry.lineage import Lineage

OUTPUT_OPTION = click.option(
    "--output",
    "output_format",
    type=output.OUTPUT_CHOICE,
    default="table",
    show_default=True,
    help="A table for people or JSON for programs.",
)


def registry(state: CliContext) -> RegistryClient:
    """A registry client on the command's store."""
    from cairn.registry.client import RegistryClient

    return RegistryClient(tracking=state.client())


def version_dict(version: ModelVersion) -> dict[str, Any]:
    """A model version as a JSON-ready dict."""
    data = asdict(version)
    data["status"] = version.status.value
    data["stage"] = version.stage.value
    data["tags"] = dict(version.tags)
    data["aliases"] = list(version.aliases)
    return data


def model_dict(model: RegisteredModel) -> dict[str, Any]:
    """A registered model as a JSON-ready dict (its latest versions by stage included)."""
    return {
        "name": model.name,
        "creation_time": model.creation_time,
        "last_updated_time": model.last_updated_time,
        "user_id": model.user_id,
        "description": model.description,
        "tags": dict(model.tags),
        "aliases": dict(model.aliases),
        "latest_versions": [version_dict(v) for v in model.latest_versions],
    }


@pass_cli
@click.option("--filter", "filter_string", metavar="F", help="e.g. \"name LIKE 'fraud%'\".")
@click.option("--max-results", type=click.IntRange(min=1), default=100, show_default=True, metavar="N")
@OUTPUT_OPTION
def list_models(state: CliContext, filter_string: str | None, max_results: int, output_format: str) -> None:
    """List registered models."""
    models = registry(state).search_registered_models(filter_string, max_results)
    if output_format == "json":
        output.echo_json([model_dict(m) for m in models])
        return
    rows = [
        (
            m.name,
            str(max((v.version for v in m.latest_versions), default="-")),
            ", ".join(f"{a}=v{v}" for a, v in sorted(m.aliases.items())),
            output.format_time(m.last_updated_time),
            m.description[:60],
        )
        for m in models
    ]
    output.print_table("Registered models", ["name", "latest", "aliases", "updated", "description"], rows)


@pass_cli
@click.argument("name")
@OUTPUT_OPTION
def show_model(state: CliContext, name: str, output_format: str) -> None:
    """Show one registered model with its tags and aliases."""
    model = registry(state).get_registered_model(name)
    if output_format == "json":
        output.echo_json(model_dict(model))
        return
    output.print_mapping(
        f"Registered model {model.name}",
        {
            "description": model.description or "-",
            "created": output.format_time(model.creation_time),
            "updated": output.format_time(model.last_updated_time),
            "created by": model.user_id or "-",
        },
    )
    if model.aliases:
        output.print_mapping("Aliases", {a: f"version {v}" for a, v in sorted(model.aliases.items())})
    if model.tags:
        output.print_mapping("Tags", dict(sorted(model.tags.items())))


@pass_cli
@click.argument("name")
@click.option("--max-results", type=click.IntRange(min=1), default=1000, show_default=True, metavar="N")
@OUTPUT_OPTION
def list_versions(state: CliContext, name: str, max_results: int, output_format: str) -> None:
    """List the versions of a registered model, newest first."""
    client = registry(state)
    client.get_registered_model(name)  # NotFound naming the model, rather than an empty list
    versions = client.search_model_versions(
        f"name = '{name.replace(chr(39), chr(39) * 2)}'", max_results, ["version_number DESC"]
    )
    if output_format == "json":
        output.echo_json([version_dict(v) for v in versions])
        return
    rows = [
        (
            str(v.version),
            ", ".join(v.aliases) or "-",
            v.status.value,
            v.run_id or "-",
            v.source,
            output.format_time(v.creation_time),
        )
        for v in versions
    ]
    output.print_table(
        f"Versions of {name}", ["version", "aliases", "status", "run", "source", "created"], rows
    )


@click.group("alias")
def alias_group() -> None:
    """Set or delete aliases (champion, challenger, ...)."""


@alias_group.command("set")
@pass_cli
@click.argument("name")
@click.argument("alias")
@click.argument("version")
def set_alias(state: CliContext, name: str, alias: str, version: str) -> None:
    """Point ALIAS of model NAME at VERSION (moving it if set)."""
    client = registry(state)
    client.set_alias(name, alias, version)
    click.echo(f"{name}@{alias} -> version {client.get_version_by_alias(name, alias).version}")


@alias_group.command("delete")
@pass_cli
@click.argument("name")
@click.argument("alias")
def delete_alias(state: CliContext, name: str, alias: str) -> None:
    """Remove ALIAS from model NAME."""
    registry(state).delete_alias(name, alias)
    click.echo(f"deleted alias {alias!r} of {name}")


@pass_cli
@click.argument("model_uri")
@OUTPUT_OPTION
def show_lineage(state: CliContext, model_uri: str, output_format: str) -> None:
    """Print where a model came from: version -> logged model -> run -> datasets and code version."""
    from cairn.registry.lineage import lineage_of

    found = lineage_of(registry(state), model_uri)
    if output_format == "json":
        output.echo_json(lineage_dict(found))
        return
    for title, values in lineage_sections(found):
        output.print_mapping(title, values)


def lineage_dict(found: Lineage) -> dict[str, Any]:
    """A lineage as a JSON-ready dict."""
    run = found.run
    return {
        "version": version_dict(found.version) if found.version else None,
        "logged_model": (
            {
                "model_id": found.logged_model.model_id,
                "name": found.logged_model.name,
                "artifact_uri": found.logged_model.artifact_uri,
            }
            if found.logged_model
            else None
        ),
        "run": output.run_dict(run) if run else None,
        "datasets": [
            {"name": d.dataset.name, "digest": d.dataset.digest, "context": d.context} for d in found.datasets
        ],
        "code": dict(found.code),
        "versions_from_run": [f"{v.name}/{v.version}" for v in found.sibling_versions],
    }


def lineage_sections(found: Lineage) -> list[tuple[str, dict[str, str]]]:
    """The lineage as titled key/value sections, in chain order."""
    sections: list[tuple[str, dict[str, str]]] = []
    if found.version:
        v = found.version
        sections.append(
            (
                f"Model version {v.name}/{v.version}",
                {"source": v.source, "aliases": ", ".join(v.aliases) or "-"},
            )
        )
    if found.logged_model:
        lm = found.logged_model
        sections.append((f"Logged model {lm.model_id}", {"name": lm.name, "artifact_uri": lm.artifact_uri}))
    if found.run:
        info = found.run.info
        sections.append(
            (
                f"Run {info.run_id}",
                {"name": info.run_name, "experiment": info.experiment_id, "status": info.status},
            )
        )
    else:
        sections.append(("Run", {"run": "unknown or no longer stored"}))
    for index, item in enumerate(found.datasets, 1):
        sections.append(
            (
                f"Dataset {index}",
                {"name": item.dataset.name, "digest": item.dataset.digest, "context": item.context or "-"},
            )
        )
    sections.append(("Code version", dict(found.code) or {"code": "not recorded"}))
    if found.sibling_versions:
        names = ", ".join(f"{v.name}/{v.version}" for v in found.sibling_versions)
        sections.append(("Versions made from this run", {"versions": names}))
    return sections


@pass_cli
@click.argument("name", required=False)
@OUTPUT_OPTION
def show_history(state: CliContext, name: str | None, output_format: str) -> None:
    """Show the audit trail of registry changes (for one model, or all)."""
    changes = registry(state).changes(name)
    if output_format == "json":
        output.echo_json([asdict(c) for c in changes])
        return
    rows = [
        (
            output.format_time(c.time),
            c.actor,
            c.action,
            c.model_name + (f"/{c.version}" if c.version else ""),
            c.field_name or "-",
            "-" if c.old_value is None else c.old_value,
            "-" if c.new_value is None else c.new_value,
        )
        for c in changes
    ]
    output.print_table("Registry changes", ["time", "who", "action", "model", "field", "old", "new"], rows)


def add_registry_commands(group: click.Group) -> None:
    """Attach the registry commands to the `cairn models` group."""
    group.add_command(click.command("list")(list_models))
    group.add_command(click.command("show")(show_model))
    group.add_command(click.command("versions")(list_versions))
    group.add_command(alias_group)
    group.add_command(click.command("lineage")(show_lineage))
    group.add_command(click.command("history")(show_history))
