"""Save, log and load PyTorch modules (TorchScript or a state dict)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cairn.models.log_model import ModelInfo
    from cairn.models.spec import ModelSpec

FLAVOR = "pytorch"


def save_model(model: Any, path: str | Path, **options: Any) -> ModelSpec:
    """Write `model` as a model package at `path`; options as for `cairn.models.save_model`."""
    from cairn.models.package import save_model as save_package

    return save_package(model, path, flavor=FLAVOR, **options)


def log_model(model: Any, name: str, **options: Any) -> ModelInfo:
    """Log `model` to the active run (or `run_id=`); options as for `cairn.models.log_model`."""
    from cairn.models.log_model import log_model as log_package

    return log_package(model, name, flavor=FLAVOR, **options)


def load_model(model_uri: str | Path) -> Any:
    """Load the library's own model object from a package path, `runs:/` or `models:/` URI."""
    from cairn.models.package import load_model as load_package

    return load_package(model_uri).unwrap()
