"""log_model: save a model package, store it as a logged model of a run, and optionally register it."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn.entities.registry import LoggedModelStatus, ModelVersion
from cairn.errors import InvalidArgument
from cairn.registry.client import RegistryClient
from cairn.tracking.client import TrackingClient
from cairn.tracking.client_artifacts import artifact_store_at


@dataclass(frozen=True)
class ModelInfo:
    """Where a logged model went.

    Attributes:
        model_id: The logged model's id (`m-...`).
        model_uri: A URI that loads it: `models:/<model_id>`.
        artifact_uri: The location of its files.
        run_id: The run it was logged from.
        flavor: The flavor it was saved with.
        registered_version: The version created when `registered_model_name` was given.
    """

    model_id: str
    model_uri: str
    artifact_uri: str
    run_id: str
    name: str
    flavor: str
    registered_version: ModelVersion | None = None


def log_model(
    model: Any,
    name: str,
    *,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    step: int = 0,
    tags: Mapping[str, str] | None = None,
    **save_options: Any,
) -> ModelInfo:
    """Save `model` as a package, upload it as a logged model of a run, and optionally register it.

    Args:
        model: The trained model (any object a flavor can save, or a `PythonModel`).
        name: The logged model's name (e.g. "model").
        registered_model_name: Also register it as the next version of this model (created if needed).
        run_id: The run to log to; by default the active run, or a new run when none is active.
        tracking_uri: The store; by default the current tracking URI.
        step: The training step the model belongs to (recorded with the run's outputs).
        tags: Tags to set on the logged model.
        **save_options: Passed to `save_model` (flavor, signature, input_example, serialization,
            code_paths, artifacts, extra_requirements, options, metadata).

    Returns:
        Where the model went, with the registered version if one was made.
    """
    from cairn.models.package import save_model

    if not name or "/" in name:
        raise InvalidArgument(f"name must be a non-empty name without '/'; got {name!r}")
    tracking, run_id = _tracking_and_run(tracking_uri, run_id)
    run = tracking.get_run(run_id)
    registry = RegistryClient(tracking=tracking)
    store = registry.store
    with tempfile.TemporaryDirectory(prefix="cairn-model-") as scratch:
        package_dir = Path(scratch) / name
        logged = store.create_logged_model(run.info.experiment_id, name, source_run_id=run_id, tags=tags)
        try:
            spec = save_model(model, package_dir, run_id=run_id, model_id=logged.model_id, **save_options)
            artifact_store_at(logged.artifact_uri, tracking.tracking_uri).log_dir(package_dir, None)
        except BaseException:
            store.finalize_logged_model(logged.model_id, LoggedModelStatus.UPLOAD_FAILED)
            raise
    store.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    store.log_run_outputs(run_id, [(logged.model_id, step)])
    version = None
    if registered_model_name:
        version = registry.register_model(f"models:/{logged.model_id}", registered_model_name)
    return ModelInfo(
        model_id=logged.model_id,
        model_uri=f"models:/{logged.model_id}",
        artifact_uri=logged.artifact_uri,
        run_id=run_id,
        name=name,
        flavor=spec.flavor,
        registered_version=version,
    )


def _tracking_and_run(tracking_uri: str | None, run_id: str | None) -> tuple[TrackingClient, str]:
    from cairn.tracking import fluent

    if run_id is not None:
        return TrackingClient(tracking_uri), run_id
    active = fluent.active_run()
    if active is None:
        active = fluent.start_run()
    if tracking_uri is not None and tracking_uri != active.client.tracking_uri:
        raise InvalidArgument(
            f"tracking_uri {tracking_uri!r} differs from the active run's store; pass run_id as well"
        )
    return active.client, active.run_id
