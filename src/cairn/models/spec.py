"""The spec file at the root of every model package (`cairn-model.json`): what the package holds."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cairn.errors import InvalidArgument, NotFound
from cairn.models.signature import ModelSignature

SPEC_FILE = "cairn-model.json"
"""The spec file's name; the only package file not listed in its own digests."""
FORMAT_VERSION = 1
"""The package format this Cairn writes and the newest it reads."""
DATA_DIR = "data"
"""The folder holding the flavor's files."""
CODE_DIR = "code"
"""The folder holding copies of the user's code paths, put on `sys.path` at load."""
LOCK_FILE = "requirements.txt"
"""The environment lock, one pinned requirement per line."""
INPUT_EXAMPLE_FILE = "input_example.json"
"""The input example, when one was given."""

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelSpec:
    """Everything a package records about its model.

    Attributes:
        flavor: The flavor that wrote `data/` and loads it back.
        flavor_config: The flavor's own settings (file names, format, library version).
        python_version: The interpreter version the model was saved with.
        requirements: The environment lock's lines (as in `requirements.txt`).
        created_time: When the package was written, in milliseconds since the epoch.
        cairn_version: The Cairn version that wrote the package.
        files: Relative POSIX path -> SHA-256 hex of every file except the spec itself.
        signature: The model's inputs, outputs and params, when known.
        input_example: The input example's file name, or None.
        run_id: The run the model was logged from, if any.
        model_id: The logged model's id, if any.
        unsafe_format: True if loading runs code from the files (pickle).
        code_paths: Package-relative paths of the user's code copied under `code/`.
        metadata: Free-form, JSON-serialisable information from the user.
        format_version: The package format version.
    """

    flavor: str
    flavor_config: Mapping[str, Any]
    python_version: str
    requirements: tuple[str, ...]
    created_time: int
    cairn_version: str
    files: Mapping[str, str]
    signature: ModelSignature | None = None
    input_example: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    unsafe_format: bool = False
    code_paths: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the spec."""
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "flavor_config": dict(self.flavor_config),
            "signature": None if self.signature is None else self.signature.to_dict(),
            "input_example": self.input_example,
            "python_version": self.python_version,
            "requirements": list(self.requirements),
            "created_time": self.created_time,
            "run_id": self.run_id,
            "model_id": self.model_id,
            "cairn_version": self.cairn_version,
            "unsafe_format": self.unsafe_format,
            "code_paths": list(self.code_paths),
            "files": dict(sorted(self.files.items())),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: object) -> ModelSpec:
        """Parse and validate the JSON form; `InvalidArgument` naming the first bad field."""
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"model spec must be a JSON object; got {type(data).__name__}")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise InvalidArgument(f"model spec has unknown fields: {', '.join(map(str, unknown))}")
        version = _typed(data, "format_version", int)
        if version < 1 or version > FORMAT_VERSION:
            raise InvalidArgument(
                f"model spec format_version {version} is not supported (newest: {FORMAT_VERSION})"
            )
        files = _files(data)
        example = _optional_str(data, "input_example")
        if example is not None and example not in files:
            raise InvalidArgument(f"model spec input_example {example!r} is not one of the package files")
        signature = data.get("signature")
        return cls(
            flavor=_nonempty_str(data, "flavor"),
            flavor_config=_typed(data, "flavor_config", dict),
            python_version=_nonempty_str(data, "python_version"),
            requirements=tuple(_str_list(data, "requirements")),
            created_time=_created_time(data),
            cairn_version=_nonempty_str(data, "cairn_version"),
            files=files,
            signature=None if signature is None else ModelSignature.from_dict(signature),
            input_example=example,
            run_id=_optional_str(data, "run_id"),
            model_id=_optional_str(data, "model_id"),
            unsafe_format=_typed(data, "unsafe_format", bool),
            code_paths=tuple(_code_paths(data, files)),
            metadata=_typed(data, "metadata", dict),
            format_version=version,
        )


_FIELDS = {
    "format_version",
    "flavor",
    "flavor_config",
    "signature",
    "input_example",
    "python_version",
    "requirements",
    "created_time",
    "run_id",
    "model_id",
    "cairn_version",
    "unsafe_format",
    "code_paths",
    "files",
    "metadata",
}


def _typed(data: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    if key not in data:
        raise InvalidArgument(f"model spec is missing the field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidArgument(f"model spec field {key!r} must be {kind.__name__}; got {type(value).__name__}")
    return value


def _nonempty_str(data: Mapping[str, Any], key: str) -> str:
    value: str = _typed(data, key, str)
    if not value:
        raise InvalidArgument(f"model spec field {key!r} must not be empty")
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidArgument(f"model spec field {key!r} must be a non-empty string or null; got {value!r}")
    return value


def _str_list(data: Mapping[str, Any], key: str) -> list[str]:
    values: list[Any] = _typed(data, key, list)
    for value in values:
        if not isinstance(value, str):
            raise InvalidArgument(f"model spec field {key!r} must hold strings; got {value!r}")
    return values


def _created_time(data: Mapping[str, Any]) -> int:
    value: int = _typed(data, "created_time", int)
    if value < 0:
        raise InvalidArgument(f"model spec field 'created_time' must not be negative; got {value}")
    return value


def check_package_path(field_name: str, relative: object) -> str:
    """`relative` if it is a normalised relative POSIX path inside a package; `InvalidArgument` otherwise."""
    if not isinstance(relative, str) or not relative:
        raise InvalidArgument(f"{field_name} must be a non-empty path; got {relative!r}")
    normalised = posixpath.normpath(relative)
    if (
        normalised != relative
        or relative.startswith(("/", "../"))
        or relative in (".", "..")
        or "\\" in relative
        or ":" in relative.split("/")[0]
    ):
        raise InvalidArgument(f"{field_name} {relative!r} is not a relative path inside the package")
    return relative


def _files(data: Mapping[str, Any]) -> dict[str, str]:
    files: dict[str, Any] = _typed(data, "files", dict)
    for name, digest in files.items():
        check_package_path("model spec files entry", name)
        if name == SPEC_FILE:
            raise InvalidArgument(f"model spec files must not list {SPEC_FILE}")
        if not isinstance(digest, str) or not _HEX_DIGEST.match(digest):
            raise InvalidArgument(f"model spec files entry {name!r} must be a SHA-256 hex digest")
    return dict(files)


def _code_paths(data: Mapping[str, Any], files: Mapping[str, str]) -> list[str]:
    paths = _str_list(data, "code_paths")
    for path in paths:
        check_package_path("model spec code_paths entry", path)
        if not path.startswith(f"{CODE_DIR}/"):
            raise InvalidArgument(f"model spec code_paths entry {path!r} must lie under {CODE_DIR}/")
        if path not in files and not any(name.startswith(f"{path}/") for name in files):
            raise InvalidArgument(f"model spec code_paths entry {path!r} names no package file")
    return paths


def write_spec(root: Path, spec: ModelSpec) -> None:
    """Write `spec` as the package's spec file."""
    try:
        text = json.dumps(spec.to_dict(), indent=2, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"model spec is not JSON-serialisable (check metadata): {error}") from None
    (root / SPEC_FILE).write_text(text + "\n", encoding="utf-8")


def read_spec(path: Path | str) -> ModelSpec:
    """Read and validate the spec of the package at `path` (the folder or the spec file itself).

    Raises:
        NotFound: there is no such folder.
        InvalidArgument: the folder has no spec file, or the spec is malformed (naming the field).
    """
    path = Path(path)
    spec_file = path if path.name == SPEC_FILE and path.is_file() else path / SPEC_FILE
    if not spec_file.parent.is_dir():
        raise NotFound(f"model package {str(path)!r} does not exist")
    if not spec_file.is_file():
        raise InvalidArgument(f"{str(path)!r} is not a model package: it has no {SPEC_FILE}")
    try:
        data = json.loads(spec_file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidArgument(f"{spec_file} is not valid JSON: {error}") from None
    return ModelSpec.from_dict(data)
