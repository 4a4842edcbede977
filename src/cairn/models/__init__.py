"""Model packages: a folder holding a model, its signature, its environment lock and file digests.

Names load on first use, so `import cairn.models` imports neither pandas nor any ML library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ColumnSpec": "cairn.models.signature",
    "EnvironmentMismatchWarning": "cairn.models.errors",
    "LoadedModel": "cairn.models.loaded",
    "ModelSignature": "cairn.models.signature",
    "ModelSpec": "cairn.models.spec",
    "PackageTampered": "cairn.models.errors",
    "ParamSpec": "cairn.models.signature",
    "PythonModel": "cairn.models.python_model",
    "PythonModelContext": "cairn.models.python_model",
    "TensorSpec": "cairn.models.signature",
    "infer_signature": "cairn.models.signature_inference",
    "load_model": "cairn.models.package",
    "save_model": "cairn.models.package",
}

__all__ = [
    "ColumnSpec",
    "EnvironmentMismatchWarning",
    "LoadedModel",
    "ModelSignature",
    "ModelSpec",
    "PackageTampered",
    "ParamSpec",
    "PythonModel",
    "PythonModelContext",
    "TensorSpec",
    "infer_signature",
    "load_model",
    "save_model",
]

if TYPE_CHECKING:
    from cairn.models.errors import EnvironmentMismatchWarning, PackageTampered
    from cairn.models.loaded import LoadedModel
    from cairn.models.package import load_model, save_model
    from cairn.models.python_model import PythonModel, PythonModelContext
    from cairn.models.signature import ColumnSpec, ModelSignature, ParamSpec, TensorSpec
    from cairn.models.signature_inference import infer_signature
    from cairn.models.spec import ModelSpec


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cairn.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
