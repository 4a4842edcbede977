"""`cairn models`: build a model's environment or container context, and serve a model over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cairn.cli.context import CliContext, pass_cli
from cairn.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    from cairn.serving.alias_follower import FollowOptions
    from cairn.serving.entrypoint import ServeSettings


@click.group("models")
def models_group() -> None:
    """Model packages and the model registry."""


def local_package(state: CliContext, model_uri: str) -> Path:
    """The local folder of a model: a folder path as given, else the package a URI names, fetched."""
    if model_uri.startswith("file://"):
        model_uri = model_uri.removeprefix("file://")
    path = Path(model_uri).expanduser()
    if path.is_dir():
        return path
    if ":/" not in model_uri:
        raise NotFound(f"model {model_uri!r}: no such folder, and not a runs:/ or models:/ URI")
    from cairn.models.remote import fetch_model

    return fetch_model(model_uri, tracking_uri=state.resolved_uri())


@models_group.command("env")
@click.argument("model_uri")
@click.option(
    "--target",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the new virtual environment (must not exist or be empty).",
)
@click.option("--python", metavar="PYTHON", help="Interpreter for the environment [default: this one].")
@click.option(
    "--installer",
    type=click.Choice(["uv", "pip"]),
    help="Tool that builds the environment [default: uv when on PATH, else venv + pip].",
)
@click.option("--quiet", is_flag=True, help="Do not show the installer's output.")
@pass_cli
def env_command(
    state: CliContext, model_uri: str, target: Path, python: str | None, installer: str | None, quiet: bool
) -> None:
    """Build a virtual environment from a model's requirements lock, with Cairn to serve it.

    MODEL_URI is a package folder, runs:/<run_id>/<path>, models:/<name>/<version> or models:/<name>@<alias>.
    """
    from cairn.models.environment_builder import build_environment

    model_dir = local_package(state, model_uri)
    env_python = build_environment(
        model_dir,
        target,
        python=python,
        installer=installer,
        on_output=None if quiet else lambda line: click.echo(line, err=True),
    )
    click.echo(f"Environment ready at {target}; its interpreter is {env_python}")


@models_group.command("build")
@click.argument("model_uri")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the build context (must not exist or be empty).",
)
@pass_cli
def build_command(state: CliContext, model_uri: str, out_dir: Path) -> None:
    """Write a container build context (model, lock, Dockerfile, entrypoint) that serves a model.

    MODEL_URI is a package folder, runs:/<run_id>/<path>, models:/<name>/<version> or models:/<name>@<alias>.
    """
    from cairn.models.build_context import write_build_context

    written = write_build_context(local_package(state, model_uri), out_dir)
    click.echo(f"Wrote the build context to {written}; build it with: docker build -t <image> {written}")


@models_group.command("serve")
@click.argument("model_uri")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--max-body-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Largest request body accepted [default: 64 MiB].",
)
@click.option(
    "--max-batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Batch concurrent /invocations requests up to this many rows [default: no batching].",
)
@click.option(
    "--max-batch-wait-ms",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Longest a request waits for others to join its batch.",
)
@click.option(
    "--inline-limit-ms",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Score small requests (with batching: whole batches) on the event loop, with no thread "
    "hand-off, while the model averages at most this for them; 0: always on a thread.",
)
@click.option(
    "--events-uri",
    metavar="URI",
    default=None,
    help="Record every prediction as partitioned Parquet under this folder, file: or s3:// location.",
)
@click.option(
    "--events-sample-rate",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Share of predictions recorded.",
)
@click.option(
    "--follow-alias/--no-follow-alias",
    default=False,
    show_default=True,
    help="For models:/<name>@<alias>: load, warm and switch to each version the alias moves to.",
)
@click.option(
    "--challenger",
    "challenger_uri",
    metavar="MODEL_URI",
    default=None,
    help="A second model to send canary or shadow traffic to (needs --traffic-policy).",
)
@click.option(
    "--traffic-policy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="YAML file: mode (canary|shadow), challenger_share, rollback bounds.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the port; each loads the model.",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="How often --follow-alias looks at the alias.",
)
@click.option(
    "--env-manager",
    type=click.Choice(["local", "venv"]),
    default="local",
    show_default=True,
    help="local: serve in this environment; venv: in a virtual environment built from the model's lock "
    "(once, then reused from a cache).",
)
@click.option(
    "--env-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the cached environments of --env-manager venv "
    "[env: CAIRN_ENV_CACHE; default: ~/.cache/cairn/envs].",
)
@pass_cli
def serve_command(
    state: CliContext,
    model_uri: str,
    host: str,
    port: int,
    max_body_bytes: int | None,
    max_batch_size: int | None,
    max_batch_wait_ms: float,
    inline_limit_ms: float,
    events_uri: str | None,
    events_sample_rate: float,
    follow_alias: bool,
    challenger_uri: str | None,
    traffic_policy: Path | None,
    workers: int,
    poll_seconds: float,
    env_manager: str,
    env_root: Path | None,
) -> None:
    """Serve a model over HTTP: MLflow's scoring protocol and the Open Inference Protocol.

    MODEL_URI is a package folder, runs:/<run_id>/<path>, models:/<name>/<version> or models:/<name>@<alias>.
    """
    from cairn.serving.app import DEFAULT_MAX_BODY_BYTES, BatchingOptions
    from cairn.serving.entrypoint import ServeSettings, serve_model
    from cairn.serving.environment_launch import serve_options

    if env_root is not None and env_manager != "venv":
        raise click.UsageError("--env-root goes with --env-manager venv")
    follow = followed_alias(state, model_uri, poll_seconds) if follow_alias else None
    model_dir = local_package(state, model_uri)
    name, version = served_identity(state, model_uri)
    if (challenger_uri is None) != (traffic_policy is None):
        raise click.UsageError("--challenger and --traffic-policy go together")
    challenger_dir = local_package(state, challenger_uri) if challenger_uri else None
    settings = ServeSettings(
        str(model_dir),
        max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
        model_name=name,
        model_uri=model_uri,
        model_version=version,
        batching=BatchingOptions(max_batch_size, max_batch_wait_ms) if max_batch_size else None,
        events_uri=events_uri,
        events_sample_rate=events_sample_rate,
        follow=follow,
        challenger_dir=str(challenger_dir) if challenger_dir else None,
        challenger_version=served_identity(state, challenger_uri)[1] if challenger_uri else None,
        traffic_policy=traffic_policy.read_text() if traffic_policy else None,
        tracking_uri=state.resolved_uri() if model_uri.startswith("models:/") else None,
        inline_limit_ms=inline_limit_ms,
    )
    if env_manager == "venv":
        serve_in_venv(settings, host=host, port=port, workers=workers, env_root=env_root)
        return
    status = serve_model(model_dir, host=host, port=port, workers=workers, **serve_options(settings))
    if status:
        raise click.ClickException(f"a worker could not load {model_uri}; see the log above")


def serve_in_venv(
    settings: ServeSettings, *, host: str, port: int, workers: int, env_root: Path | None
) -> None:
    """`--env-manager venv`: serve from the model's cached environment; exit with the server's status."""
    from cairn.serving.environment_launch import prepare_environment, serve_in_environment

    prepared = prepare_environment(
        settings.model_dir, env_root=env_root, on_output=lambda line: click.echo(line, err=True)
    )
    how = "reused" if prepared.reused else "newly built"
    click.echo(f"Serving from the environment at {prepared.path} ({how})", err=True)
    status = serve_in_environment(prepared, settings, host=host, port=port, workers=workers)
    if status:
        click.echo(f"Error: the model server in {prepared.path} exited with status {status}", err=True)
        raise click.exceptions.Exit(status)


def followed_alias(state: CliContext, model_uri: str, poll_seconds: float) -> FollowOptions:
    """What `--follow-alias` follows: the alias of a `models:/<name>@<alias>` URI, in this registry."""
    from cairn.registry.model_uris import RegisteredModelUri, is_model_uri, parse_model_uri
    from cairn.serving.alias_follower import FollowOptions

    target = parse_model_uri(model_uri) if is_model_uri(model_uri) else None
    if not isinstance(target, RegisteredModelUri) or target.alias is None:
        raise InvalidArgument(f"--follow-alias needs a models:/<name>@<alias> URI, got {model_uri!r}")
    return FollowOptions(state.resolved_uri(), target.name, target.alias, poll_seconds)


def served_identity(state: CliContext, model_uri: str) -> tuple[str, str | None]:
    """The name and registered version a served model answers as: from `models:/<name>...` URIs."""
    from cairn.registry.model_uris import RegisteredModelUri, is_model_uri, parse_model_uri

    if not is_model_uri(model_uri):
        return "model", None
    target = parse_model_uri(model_uri)
    if not isinstance(target, RegisteredModelUri):
        return "model", None
    from cairn.registry.client import RegistryClient

    version = RegistryClient(tracking=state.client()).model_version_for(target)
    return target.name, str(version.version)
