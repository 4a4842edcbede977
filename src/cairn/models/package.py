"""Saving a model as a package folder, and loading one back after verifying every file."""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import cairn
from cairn._internal.clock import now_ms
from cairn.errors import AlreadyExists, InvalidArgument
from cairn.models.code_paths import add_code_to_path, copy_code_paths, drop_bytecode_caches
from cairn.models.digests import digest_package, verify_package
from cairn.models.environment import capture_requirements, environment_differences
from cairn.models.errors import EnvironmentMismatchWarning, PackageTampered
from cairn.models.flavor import Flavor, SavedFlavor, flavor_for, get_flavor
from cairn.models.input_example import write_input_example
from cairn.models.input_forms import to_output
from cairn.models.loaded import LoadedModel, prepare_input
from cairn.models.signature import ModelSignature
from cairn.models.signature_inference import infer_specs
from cairn.models.spec import (
    DATA_DIR,
    INPUT_EXAMPLE_FILE,
    LOCK_FILE,
    ModelSpec,
    read_spec,
    write_spec,
)
from cairn.models.uris import resolve_model_uri


def save_model(
    model: Any,
    path: str | Path,
    *,
    flavor: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    infer_signature_from_example: bool = True,
    serialization: str | None = None,
    options: Mapping[str, Any] | None = None,
    code_paths: Iterable[str | Path] = (),
    artifacts: Mapping[str, str | Path] | None = None,
    extra_requirements: Iterable[str] = (),
    run_id: str | None = None,
    model_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ModelSpec:
    """Write `model` as a package folder at `path`, which must not exist or be empty.

    The package is assembled in a temporary sibling folder and renamed into place, so a failure leaves
    nothing behind.

    Args:
        model: The trained model (an estimator, booster, module, `PythonModel` or function).
        path: The package folder to create (a local path or `file:` URI).
        flavor: The flavor name; None picks the flavor that knows the model's type.
        signature: The model's signature; None infers it from `input_example` (running the model on it).
        input_example: An example input, stored in the package as JSON.
        infer_signature_from_example: Set False to store the example without inferring a signature.
        serialization: A format the flavor offers (e.g. "skops", "pickle"); None picks its safe default.
        options: Flavor-specific settings.
        code_paths: The user's .py files and folders, copied under `code/` and importable at load.
        artifacts: Name -> local file or folder copied into the package (python_function only).
        extra_requirements: Requirement lines added to the environment lock as given.
        run_id: The run the model comes from.
        model_id: The logged model's id.
        metadata: Free-form JSON-serialisable information.

    Returns:
        The written spec.
    """
    target = _empty_target(path)
    chosen = get_flavor(flavor) if flavor is not None else flavor_for(model)
    code_paths = list(code_paths)
    opts = dict(options or {})
    if chosen.name == "python_function":
        opts["code_paths"] = code_paths
        if artifacts is not None:
            opts["artifacts"] = artifacts
    elif artifacts is not None:
        raise InvalidArgument(f"artifacts: only python_function models take artifacts, not {chosen.name}")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.saving-", dir=target.parent))
    staging.chmod(0o755)
    try:
        data_dir = staging / DATA_DIR
        data_dir.mkdir()
        saved = chosen.save(
            model, data_dir, serialization=serialization, options=opts or None, input_example=input_example
        )
        copied = copy_code_paths(code_paths, staging)
        if signature is None and input_example is not None and infer_signature_from_example:
            signature = _infer_from_example(chosen, data_dir, saved, input_example)
        if input_example is not None:
            write_input_example(input_example, staging / INPUT_EXAMPLE_FILE)
        module = getattr(model, "__module__", None)
        requirements = capture_requirements(
            saved.packages, code_paths, extra_requirements, modules=[module.split(".")[0]] if module else ()
        )
        (staging / LOCK_FILE).write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")
        spec = ModelSpec(
            flavor=chosen.name,
            flavor_config=dict(saved.config),
            python_version=platform.python_version(),
            requirements=tuple(requirements),
            created_time=now_ms(),
            cairn_version=cairn.__version__,
            files=digest_package(staging),
            signature=signature,
            input_example=INPUT_EXAMPLE_FILE if input_example is not None else None,
            run_id=run_id,
            model_id=model_id,
            unsafe_format=saved.unsafe_format,
            code_paths=tuple(copied),
            metadata=dict(metadata or {}),
        )
        write_spec(staging, spec)
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return spec


def _empty_target(path: str | Path) -> Path:
    target = resolve_model_uri(path).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(f"model path {str(target)!r} exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _publish(staging: Path, target: Path) -> None:
    if target.is_dir():
        target.rmdir()
    try:
        os.rename(staging, target)
    except OSError:
        raise AlreadyExists(f"model path {str(target)!r} was created by someone else while saving") from None


def _infer_from_example(flavor: Flavor, data_dir: Path, saved: SavedFlavor, example: Any) -> ModelSignature:
    inputs = ModelSignature(inputs=infer_specs("input_example", example))
    predictor = flavor.load(data_dir, saved.config)
    model_input = prepare_input(inputs, predictor.input_kind, example)
    try:
        output = predictor.predict(model_input, None)
    except Exception as error:
        raise InvalidArgument(
            f"input_example: the model failed to predict on it ({type(error).__name__}: {error}); "
            "pass signature= or infer_signature_from_example=False"
        ) from error
    return ModelSignature(inputs=inputs.inputs, outputs=infer_specs("model output", to_output(output)))


def load_model(
    uri: str | Path, *, allow_pickle_from_verified: bool = True, check_environment: bool = True
) -> LoadedModel:
    """Load the model package a URI names (a local path or `file:` URI); see `load_model_from_dir`."""
    return load_model_from_dir(
        resolve_model_uri(uri),
        allow_pickle_from_verified=allow_pickle_from_verified,
        check_environment=check_environment,
    )


def load_model_from_dir(
    path: str | Path, *, allow_pickle_from_verified: bool = True, check_environment: bool = True
) -> LoadedModel:
    """Verify the package at `path` file by file, then load its model.

    Args:
        path: The package folder.
        allow_pickle_from_verified: Allow formats that run code when read (pickle), once every digest
            matched; set False to refuse them outright.
        check_environment: Warn (`EnvironmentMismatchWarning`) when installed versions differ from the lock.

    Raises:
        PackageTampered: a file is missing, altered or added (naming it); nothing is deserialised then.
        InvalidArgument: the spec is malformed, or the package uses pickle and that was not allowed.
    """
    root = Path(path)
    spec = read_spec(root)
    drop_bytecode_caches(root)
    verify_package(root, spec)
    _check_lock(root, spec)
    if spec.unsafe_format and not allow_pickle_from_verified:
        raise InvalidArgument(
            f"model package {str(root)!r} uses an unsafe format (pickle); "
            "pass allow_pickle_from_verified=True to load it"
        )
    if check_environment:
        _warn_on_differences(spec)
    if spec.code_paths:
        add_code_to_path(root)
    predictor = get_flavor(spec.flavor).load(root / DATA_DIR, spec.flavor_config)
    return LoadedModel(spec, predictor, root)


def _check_lock(root: Path, spec: ModelSpec) -> None:
    if LOCK_FILE not in spec.files:
        raise PackageTampered(f"model package {str(root)!r} has no {LOCK_FILE} in its spec")
    lines = [line for line in (root / LOCK_FILE).read_text(encoding="utf-8").splitlines() if line.strip()]
    if lines != list(spec.requirements):
        raise PackageTampered(f"{LOCK_FILE} of {str(root)!r} does not match the spec's requirements")


def _warn_on_differences(spec: ModelSpec) -> None:
    differences = environment_differences(spec.requirements)
    saved_python = ".".join(spec.python_version.split(".")[:2])
    running_python = ".".join(platform.python_version().split(".")[:2])
    if saved_python != running_python:
        differences.insert(0, f"python: lock {spec.python_version}, running {platform.python_version()}")
    if differences:
        warnings.warn(
            EnvironmentMismatchWarning(
                "the running environment differs from the model's lock: " + "; ".join(differences)
            ),
            stacklevel=3,
        )
