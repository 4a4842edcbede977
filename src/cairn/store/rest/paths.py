"""URL paths of the native API, with every client-supplied segment escaped."""

from __future__ import annotations

from urllib.parse import quote

from cairn._internal.validation import validate_experiment_id, validate_run_id

API = "/api/v1"


def segment(text: str) -> str:
    """One path segment: everything escaped, `/` included, and `.`/`..` spelled so no client normalises it."""
    escaped = quote(text, safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


def experiment_path(experiment_id: str, *rest: str) -> str:
    """`/api/v1/experiments/{id}/...`, the id checked first so that it can never be a path."""
    parts = [API, "experiments", segment(validate_experiment_id(experiment_id)), *rest]
    return "/".join(parts)


def run_path(run_id: str, *rest: str) -> str:
    """`/api/v1/runs/{id}/...`, the id checked first so that it can never be a path."""
    return "/".join([API, "runs", segment(validate_run_id(run_id)), *rest])
