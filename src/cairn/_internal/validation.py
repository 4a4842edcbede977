"""Validation of keys, names and values, with MLflow's limits as the floor."""

from __future__ import annotations

import math
import posixpath
import re

from cairn.errors import InvalidArgument

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20_000
MAX_RUN_NAME_LENGTH = 250
MAX_RESULTS_SEARCH_RUNS = 50_000
MAX_RESULTS_SEARCH_EXPERIMENTS = 50_000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100

_KEY_CHARS = re.compile(r"^[/\w.\- :]*$")
_ID_CHARS = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def validate_key(field: str, key: object) -> str:
    """Check a metric, param or tag key and return it.

    Keys are 1-250 characters of letters, digits, `_ - . / :` and space, and must not
    normalise to another path (no `..`, no leading `/`, no `.` components).

    Raises:
        InvalidArgument: naming `field` and the offending key.
    """
    if not isinstance(key, str):
        raise InvalidArgument(f"{field} must be a string, got {type(key).__name__}")
    if not key:
        raise InvalidArgument(f"{field} must not be empty")
    if len(key) > MAX_ENTITY_KEY_LENGTH:
        raise InvalidArgument(f"{field} {key[:40]!r}... is {len(key)} characters; the limit is 250")
    if not _KEY_CHARS.match(key):
        raise InvalidArgument(
            f"{field} {key!r} has characters outside letters, digits, '_', '-', '.', '/', ':' and space"
        )
    normalised = posixpath.normpath(key)
    if normalised != key or normalised == "." or normalised.startswith(("..", "/")):
        raise InvalidArgument(f"{field} {key!r} would name another path once normalised")
    return key


def validate_string_value(field: str, value: object, limit: int) -> str:
    """Convert `value` to a string and check its length against `limit`."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidArgument(f"{field} is {len(text)} characters; the limit is {limit}")
    if "\x00" in text:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    return text


def validate_metric_value(key: str, value: object) -> float:
    """Return `value` as a float; NaN and infinities are allowed, booleans and strings are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - numpy is a dependency
            np = None  # type: ignore[assignment]
        if np is not None and isinstance(value, np.integer | np.floating) and not isinstance(value, np.bool_):
            return float(value)
        raise InvalidArgument(f"metric {key!r} value must be a number, got {type(value).__name__}")
    return float(value)


def validate_step(key: str, step: object) -> int:
    """Return `step` as an int in the signed 64-bit range."""
    if isinstance(step, bool) or not isinstance(step, int):
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        else:
            raise InvalidArgument(f"metric {key!r} step must be an integer, got {step!r}")
    if not -(2**63) <= step < 2**63:
        raise InvalidArgument(f"metric {key!r} step {step} is outside the 64-bit range")
    return step


def validate_timestamp(key: str, timestamp: object) -> int:
    """Return `timestamp` (milliseconds) as an int in the signed 64-bit range."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise InvalidArgument(f"metric {key!r} timestamp must be milliseconds as an integer")
    if isinstance(timestamp, float):
        if not math.isfinite(timestamp):
            raise InvalidArgument(f"metric {key!r} timestamp must be finite")
        timestamp = int(timestamp)
    if not -(2**63) <= timestamp < 2**63:
        raise InvalidArgument(f"metric {key!r} timestamp is outside the 64-bit range")
    return timestamp


def validate_experiment_name(name: object) -> str:
    """Check an experiment name: a non-empty string of at most 500 characters."""
    if not isinstance(name, str):
        raise InvalidArgument(f"experiment name must be a string, got {type(name).__name__}")
    if not name.strip():
        raise InvalidArgument("experiment name must not be empty")
    return validate_string_value("experiment name", name, MAX_EXPERIMENT_NAME_LENGTH)


def validate_run_id(run_id: object) -> str:
    """Check the shape of a run id so that it can never smuggle a path or SQL."""
    if not isinstance(run_id, str) or not _ID_CHARS.match(run_id):
        raise InvalidArgument(f"run_id {run_id!r} is not a valid run id")
    return run_id


def validate_experiment_id(experiment_id: object) -> str:
    """Check an experiment id: a string of decimal digits."""
    text = (
        str(experiment_id) if isinstance(experiment_id, int) and not isinstance(experiment_id, bool) else None
    )
    if isinstance(experiment_id, str):
        text = experiment_id
    if text is None or not text.isdigit() or len(text) > 18:
        raise InvalidArgument(f"experiment_id {experiment_id!r} is not a valid experiment id")
    return text


def validate_max_results(max_results: object, limit: int) -> int:
    """Check a page size: a positive integer no larger than `limit`."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidArgument(f"max_results must be a positive integer, got {max_results!r}")
    if max_results > limit:
        raise InvalidArgument(f"max_results {max_results} exceeds the limit of {limit}")
    return max_results
