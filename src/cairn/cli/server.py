"""`cairn server` and `cairn ui`: run the tracking server (`ui` on the embedded store by default)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cairn.server.config import DEFAULT_ALLOWED_HOSTS, DEFAULT_MAX_BODY_BYTES, ServerConfig

F = TypeVar("F", bound=Callable[..., Any])
WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
EMBEDDED_STORE = "cairn-store"


def _split(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Options given several times and/or comma-separated, as one tuple without blanks or repeats."""
    parts = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(parts))


def _no_wildcard_origin(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    origins = _split(ctx, param, values)
    if "*" in origins:
        raise click.BadParameter("'*' would let every website call the API; list the origins explicitly")
    return origins


def _serve_options(command: F) -> F:
    """The options `server` and `ui` share: where to listen and what to accept."""
    options = [
        click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on."),
        click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535), help="Port."),
        click.option(
            "--workers",
            default=1,
            show_default=True,
            type=click.IntRange(min=1),
            help="Worker processes (each with its own database connection pool).",
        ),
        click.option(
            "--allowed-hosts",
            multiple=True,
            callback=_split,
            metavar="HOST,...",
            help="Host header values accepted, port ignored; '*' accepts any, '*.example.com' subdomains "
            "[default: localhost, 127.0.0.1, [::1] and the --host address].",
        ),
        click.option(
            "--allowed-origins",
            multiple=True,
            callback=_no_wildcard_origin,
            metavar="ORIGIN,...",
            help="Browser origins (https://host[:port]) allowed to call the API cross-origin "
            "[default: none].",
        ),
        click.option(
            "--max-body-bytes",
            default=DEFAULT_MAX_BODY_BYTES,
            show_default=True,
            type=click.IntRange(min=1),
            help="Largest JSON request body.",
        ),
        click.option(
            "--graceful-timeout",
            default=30.0,
            show_default=True,
            type=click.FloatRange(min=0),
            help="Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("server")
@click.option(
    "--backend-store-uri",
    required=True,
    envvar="CAIRN_SERVER_BACKEND_STORE_URI",
    metavar="URI",
    help="Metadata store: a folder, sqlite:///file.db or postgresql://... "
    "[env: CAIRN_SERVER_BACKEND_STORE_URI]",
)
@click.option(
    "--artifacts-destination",
    required=True,
    envvar="CAIRN_SERVER_ARTIFACTS_DESTINATION",
    metavar="URI",
    help="Where proxied artifacts are stored: a folder or s3://... URI "
    "[env: CAIRN_SERVER_ARTIFACTS_DESTINATION]",
)
@_serve_options
def server_command(backend_store_uri: str, artifacts_destination: str, **options: Any) -> None:
    """Run the tracking server: the native API, the MLflow-compatible API and the artifact proxy.

    Several servers may share one PostgreSQL database and one artifact destination. Stop it with SIGTERM
    or Ctrl-C: requests in flight are finished first.
    """
    _serve(backend_store_uri, artifacts_destination, **options)


@click.command("ui")
@click.option(
    "--backend-store-uri", metavar="URI", help="Metadata store [default: ./cairn-store, the embedded store]."
)
@click.option(
    "--artifacts-destination", metavar="URI", help="Artifact destination [default: ./cairn-store/artifacts]."
)
@_serve_options
def ui_command(backend_store_uri: str | None, artifacts_destination: str | None, **options: Any) -> None:
    """Run the server on the embedded store in the working directory, for looking at local runs."""
    store = Path.cwd() / EMBEDDED_STORE
    _serve(backend_store_uri or str(store), artifacts_destination or str(store / "artifacts"), **options)


def _serve(
    backend_store_uri: str,
    artifacts_destination: str,
    *,
    host: str,
    port: int,
    workers: int,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    max_body_bytes: int,
    graceful_timeout: float,
) -> None:
    from cairn.server.runtime import RuntimeOptions, run_server

    config = ServerConfig(
        backend_store_uri=_absolute_if_local(backend_store_uri),
        artifacts_destination=_absolute_if_local(artifacts_destination),
        allowed_hosts=allowed_hosts or default_allowed_hosts(host),
        allowed_origins=allowed_origins,
        max_body_bytes=max_body_bytes,
    )
    if host in WILDCARD_ADDRESSES and not allowed_hosts:
        click.echo(
            f"Warning: listening on {host!r} but only Host headers {', '.join(DEFAULT_ALLOWED_HOSTS)} are "
            "accepted; pass --allowed-hosts with the names clients use to reach this server.",
            err=True,
        )
    options = RuntimeOptions(host=host, port=port, workers=workers, graceful_timeout=graceful_timeout)
    status = run_server(config, options)
    if status != 0:
        raise click.ClickException(f"the server could not start (status {status}); see the messages above")


def default_allowed_hosts(host: str) -> tuple[str, ...]:
    """Loopback names, plus the listening address when it is a specific one."""
    if host in WILDCARD_ADDRESSES or host in DEFAULT_ALLOWED_HOSTS:
        return DEFAULT_ALLOWED_HOSTS
    return (*DEFAULT_ALLOWED_HOSTS, f"[{host}]" if ":" in host else host)


def _absolute_if_local(location: str) -> str:
    """A folder path made absolute (workers and later runs must not depend on the working directory)."""
    if "://" in location or location.startswith(("sqlite:", "postgresql:", "postgres:")):
        return location
    return str(Path(location).expanduser().absolute())
