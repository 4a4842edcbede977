"""What the library flavors share: library and format checks, distribution names, JSON safety."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from cairn.errors import InvalidArgument, MissingExtra


def require_library(module: str, extra: str) -> None:
    """Fail with the `pip install 'cairn[<extra>]'` to run when `module` cannot be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, extra) from None


@cache
def distribution_of(module: str) -> str:
    """The installed distribution providing `module` (scikit-learn for sklearn, xgboost-cpu for xgboost)."""
    names = importlib.metadata.packages_distributions().get(module)
    return names[0] if names else module


def type_name(model: Any) -> str:
    """The model's fully qualified class name, for messages."""
    return f"{type(model).__module__}.{type(model).__qualname__}"


def check_serialization(flavor: str, serialization: object, formats: Mapping[str, str], default: str) -> str:
    """The chosen format (`default` for None); `InvalidArgument` naming the choices for any other value."""
    chosen = default if serialization is None else serialization
    if not isinstance(chosen, str) or chosen not in formats:
        choices = ", ".join(formats)
        raise InvalidArgument(
            f"serialization must be one of {choices} for the {flavor} flavor; got {serialization!r}"
        )
    return chosen


def plain_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The constructor parameters that survive JSON unchanged, and the names of those that do not."""
    import numpy as np

    kept: dict[str, Any] = {}
    left_out: list[str] = []
    for key, value in params.items():
        plain = value.item() if isinstance(value, np.generic) else value
        if survives_json(plain):
            kept[key] = plain
        elif value is not None:
            left_out.append(key)
    return kept, left_out


def survives_json(value: Any) -> bool:
    """True if `value` comes back from JSON equal (tuples as lists); NaN and arbitrary objects do not."""
    try:
        return bool(json.loads(json.dumps(value, allow_nan=False)) == _as_json_shape(value))
    except (TypeError, ValueError):
        return False


def _as_json_shape(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_as_json_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_json_shape(item) for key, item in value.items()}
    return value
