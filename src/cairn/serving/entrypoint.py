"""The model server process: `python -m cairn.serving.entrypoint --model DIR --host H --port P`.

Loads the model package once (refusing a tampered one), then serves the scoring app with uvicorn in this
process, without reload. Port 0 picks a free port; the line "serving http://HOST:PORT" on stderr names it.
SIGTERM or Ctrl-C lets requests in flight finish before the process exits.

A model served from a `models:/` URI (with its registry's tracking URI known) records its server's swaps
and traffic decisions in the registry's audit trail as `serving@<host>:<pid>` (each worker process records
its own); a local package records nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import logging
import logging.config
import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG

from cairn.errors import CairnError, InvalidArgument
from cairn.models import load_model
from cairn.models.spec import read_spec
from cairn.serving.alias_follower import AliasFollower, FollowOptions, RegistryEventRecorder, serving_actor
from cairn.serving.app import (
    DEFAULT_INLINE_LIMIT_MS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MODEL_NAME,
    BatchingOptions,
    create_scoring_app,
)
from cairn.serving.model_slot import ModelSlot

if TYPE_CHECKING:
    from cairn.registry.client import RegistryClient
    from cairn.serving.traffic import TrafficRouter

MAX_BODY_ENV = "CAIRN_SERVING_MAX_BODY_BYTES"
GRACEFUL_TIMEOUT_S = 30
log = logging.getLogger("cairn.serving")


SETTINGS_ENV = "CAIRN_SERVING_SETTINGS"
"""Where `serve_model` passes its settings to worker processes (JSON), read by `app_from_env`."""
STARTUP_FAILURE = 3
"""uvicorn's exit status for "the app could not start"; its supervisor then stops instead of restarting."""


@dataclass(frozen=True)
class ServeSettings:
    """Everything a worker needs to build the scoring app; JSON-serialisable for worker processes."""

    model_dir: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    log_level: str = "info"
    model_name: str = DEFAULT_MODEL_NAME
    model_uri: str | None = None
    model_version: str | None = None
    batching: BatchingOptions | None = None
    events_uri: str | None = None
    events_sample_rate: float = 1.0
    follow: FollowOptions | None = None
    challenger_dir: str | None = None
    challenger_version: str | None = None
    traffic_policy: str | None = None
    """The policy's YAML text (canary or shadow between the model and the challenger)."""
    tracking_uri: str | None = None
    """The registry a `models:/` model came from, which records its swaps and decisions (else `follow`'s)."""
    inline_limit_ms: float = DEFAULT_INLINE_LIMIT_MS
    """Small requests, or batches, are scored on the event loop while the model averages at most this."""

    def to_json(self) -> str:
        """The settings as JSON."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        """Settings written by `to_json`."""
        data = json.loads(text)
        batching = BatchingOptions(**data.pop("batching")) if data.get("batching") else None
        follow = FollowOptions(**data.pop("follow")) if data.get("follow") else None
        data.pop("batching", None)
        data.pop("follow", None)
        return cls(**data, batching=batching, follow=follow)


def build_app(settings: ServeSettings) -> Starlette:
    """Load the model package and build its scoring app (with batching, events and alias following as set).

    Raises:
        NotFound, InvalidArgument: The package is missing, altered or cannot be loaded.
    """
    model = load_model(settings.model_dir)
    events = None
    if settings.events_uri is not None:
        from cairn.serving.events import EventRecorder
        from cairn.serving.parquet_sink import ParquetEventSink
        from cairn.store.artifacts import artifact_store_for

        sink = ParquetEventSink(artifact_store_for(settings.events_uri))
        events = EventRecorder(sink, sample_rate=settings.events_sample_rate)
    slot = ModelSlot(model, settings.model_version)
    recorder = _registry_events(settings)
    router = _router(settings, slot, recorder)
    return create_scoring_app(
        slot,
        max_body_bytes=settings.max_body_bytes,
        model_name=settings.model_name,
        model_uri=settings.model_uri,
        model_version=settings.model_version,
        batching=settings.batching,
        events=events,
        follower=_follower(settings.follow, slot, recorder),
        router=router,
        registry_events=recorder,
        inline_limit_ms=settings.inline_limit_ms,
    )


def _registry_events(settings: ServeSettings) -> RegistryEventRecorder | None:
    """For a `models:/<name>...` model: a recorder of swaps and decisions in the registry it came from.

    None for a local package, or when the registry is not known (neither `tracking_uri` nor `follow` set):
    guessing the default store could write to a registry the model never came from.
    """
    from cairn.registry.model_uris import RegisteredModelUri, parse_model_uri

    uri = settings.model_uri
    tracking_uri = settings.follow.tracking_uri if settings.follow else settings.tracking_uri
    if uri is None or not uri.startswith("models:/") or tracking_uri is None:
        return None
    target = parse_model_uri(uri)
    if not isinstance(target, RegisteredModelUri):
        return None
    return RegistryEventRecorder(_registry(tracking_uri), target.name, serving_actor())


def _registry(tracking_uri: str | None) -> RegistryClient:
    from cairn.registry.client import RegistryClient

    return RegistryClient(tracking_uri)


def _router(
    settings: ServeSettings, champion: ModelSlot, recorder: RegistryEventRecorder | None
) -> TrafficRouter | None:
    """The champion/challenger router the settings ask for, if any."""
    if settings.challenger_dir is None and settings.traffic_policy is None:
        return None
    if settings.challenger_dir is None or settings.traffic_policy is None:
        raise InvalidArgument("a challenger and a traffic policy must be given together")
    from cairn.serving.traffic import TrafficPolicy, TrafficRouter

    policy = TrafficPolicy.from_yaml(settings.traffic_policy)
    challenger = ModelSlot(load_model(settings.challenger_dir), settings.challenger_version)
    on_decision = None if recorder is None else recorder.decided
    return TrafficRouter(champion, challenger, policy, on_decision=on_decision)


def app_from_env() -> Starlette:
    """Factory for worker processes: the app for the settings in `CAIRN_SERVING_SETTINGS`.

    A package that cannot be loaded ends the worker with uvicorn's start-up failure status, so the
    supervisor stops instead of restarting workers that would fail the same way.
    """
    settings = ServeSettings.from_json(os.environ[SETTINGS_ENV])
    logging.config.dictConfig(_log_config(settings.log_level))
    try:
        app = build_app(settings)
    except CairnError as error:
        log.error("cannot serve %s: %s", settings.model_dir, error.message)
        raise SystemExit(STARTUP_FAILURE) from error
    _freeze_startup_objects()
    return app


def serve_model(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
    model_name: str = DEFAULT_MODEL_NAME,
    model_uri: str | None = None,
    model_version: str | None = None,
    batching: BatchingOptions | None = None,
    events_uri: str | None = None,
    events_sample_rate: float = 1.0,
    follow: FollowOptions | None = None,
    challenger_dir: str | None = None,
    challenger_version: str | None = None,
    traffic_policy: str | None = None,
    tracking_uri: str | None = None,
    inline_limit_ms: float = DEFAULT_INLINE_LIMIT_MS,
) -> int:
    """Serve the model package in `model_dir` until SIGTERM or Ctrl-C; return the exit status.

    Args:
        model_dir: The package folder.
        host: Interface to listen on.
        port: TCP port (0 picks a free one).
        workers: Server processes sharing the port; each loads the model (and batches, records and follows
            the alias on its own).
        max_body_bytes: Largest request body accepted.
        log_level: uvicorn's and Cairn's log level.
        model_name: The name the Open Inference Protocol routes answer to.
        model_uri: Where the model came from (shown by `/metadata`).
        model_version: Its registered version (shown by `/metadata`, labels the metrics and events).
        batching: Micro-batching of `/invocations` (None: each request is scored alone).
        events_uri: An artifact location (folder, `file:` or `s3://` URI) to write prediction events to, as
            partitioned Parquet; None records nothing.
        events_sample_rate: The share of predictions recorded.
        follow: Follow a registry alias: when it moves, load, warm and swap in the version it points at.
        challenger_dir: A second package to send canary or shadow traffic to.
        challenger_version: Its registered version.
        traffic_policy: The YAML text of the traffic policy between the model and the challenger.
        tracking_uri: The registry a `models:/` `model_uri` came from, where swaps and traffic decisions
            are recorded (None: `follow`'s when following, else nothing is recorded).
        inline_limit_ms: Small requests (with batching: whole batches) are scored on the event loop,
            saving a thread hand-off, while the model's average time for them stays at most this; 0 never.

    Returns:
        0 after a clean shutdown; 3 when a worker could not load the model.

    Raises:
        NotFound, InvalidArgument: The package is missing, altered or cannot be loaded (one worker).
    """
    if workers < 1:
        raise InvalidArgument(f"workers must be at least 1, got {workers}")
    settings = ServeSettings(
        str(model_dir),
        max_body_bytes,
        log_level,
        model_name,
        model_uri,
        model_version,
        batching,
        events_uri,
        events_sample_rate,
        follow,
        challenger_dir,
        challenger_version,
        traffic_policy,
        tracking_uri,
        inline_limit_ms,
    )
    logging.config.dictConfig(_log_config(log_level))
    if workers == 1:
        config = _uvicorn_config(build_app(settings), host, port, log_level)
        _freeze_startup_objects()
    else:
        os.environ[SETTINGS_ENV] = settings.to_json()
        config = _uvicorn_config(f"{__name__}:app_from_env", host, port, log_level, workers=workers)
    sock = config.bind_socket()
    try:
        url_host = f"[{host}]" if ":" in host else host
        flavor = read_spec(Path(model_dir)).flavor
        label = flavor if workers == 1 else f"{flavor}, {workers} workers"
        log.info("Cairn model server (%s) serving http://%s:%d", label, url_host, sock.getsockname()[1])
        if workers == 1:
            with _stop_signals_end_cleanly():
                uvicorn.Server(config).run(sockets=[sock])
            return 0
        from uvicorn.supervisors import Multiprocess

        supervisor = Multiprocess(config, sockets=[sock])
        supervisor.run()
        failed = any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)
        return STARTUP_FAILURE if failed else 0
    finally:
        sock.close()


def _freeze_startup_objects() -> None:
    """Exempt what exists once the model is loaded (modules, the model) from the cyclic collector.

    These objects live as long as the server process. Left in the collector's oldest generation, each of
    its full passes re-scans them all (about 80 ms with scikit-learn and pandas imported), stalling requests.
    """
    gc.freeze()


def _uvicorn_config(
    app: Starlette | str, host: str, port: int, log_level: str, *, workers: int = 1
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        host=host,
        port=port,
        workers=workers,
        log_config=_log_config(log_level),
        log_level=log_level,
        server_header=False,
        lifespan="on",  # the app's shutdown drains the micro-batcher and flushes prediction events
        ws="none",
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
    )


def _follower(
    follow: FollowOptions | None, slot: ModelSlot, recorder: RegistryEventRecorder | None
) -> AliasFollower | None:
    if follow is None:
        return None
    registry = _registry(follow.tracking_uri) if recorder is None else recorder.registry
    log.info("following %s@%s every %g s", follow.name, follow.alias, follow.poll_seconds)
    alias = follow.alias
    on_swap = None if recorder is None else lambda old, new: recorder.swapped(alias, old, new)
    return AliasFollower(registry, follow.name, alias, slot, follow.poll_seconds, on_swap=on_swap)


@contextlib.contextmanager
def _stop_signals_end_cleanly() -> Iterator[None]:
    """Make SIGTERM/SIGINT end the process normally once uvicorn has finished in-flight requests.

    uvicorn handles the signal while serving and raises it again afterwards; this handler receives that
    second signal instead of the default one, which would kill the process with a signal status.
    """
    previous = {
        sig: signal.signal(sig, lambda _signum, _frame: None) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _log_config(log_level: str) -> dict[str, Any]:
    """The logging setup: uvicorn's, plus Cairn's own messages on stderr."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["cairn"] = {"handlers": ["default"], "level": log_level.upper(), "propagate": False}
    return config


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cairn.serving.entrypoint", description="Serve one Cairn model package over HTTP."
    )
    parser.add_argument("--model", required=True, help="Folder of the model package.")
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default: 127.0.0.1).")
    parser.add_argument(
        "--port", type=_port, default=8080, help="TCP port; 0 picks a free one (default: 8080)."
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=int(os.environ.get(MAX_BODY_ENV) or DEFAULT_MAX_BODY_BYTES),
        help=f"Largest request body accepted [env: {MAX_BODY_ENV}; default: {DEFAULT_MAX_BODY_BYTES}].",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="Server processes sharing the port (default: 1)."
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and serve; returns the exit status (2 when the model cannot be served)."""
    args = _parser().parse_args(argv)
    try:
        status = serve_model(
            args.model,
            host=args.host,
            port=args.port,
            workers=args.workers,
            max_body_bytes=args.max_body_bytes,
            log_level=args.log_level,
        )
    except CairnError as error:
        log.error("cannot serve %s: %s", args.model, error.message)
        return 2
    return 2 if status else 0


if __name__ == "__main__":
    raise SystemExit(main())
