"""Dataset versions, quality checks and privacy controls: the module-level API over the active store.

import cairn.data

with cairn.start_run():
    version = cairn.data.log_dataset(df, name="churn", context="training")
frame = cairn.data.load("churn", alias="golden")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.data.client import DataClient

if TYPE_CHECKING:
    from cairn.data.erasure import ErasureResult
    from cairn.data.privacy import PrivacyPolicy
    from cairn.data.rules import Rule
    from cairn.data.validation import ValidationReport
    from cairn.entities.dataset_version import DatasetStorage, DatasetVersion

__all__ = [
    "DataClient",
    "delete_alias",
    "erase",
    "get",
    "load",
    "log_dataset",
    "set_alias",
    "validate",
]


def _client() -> DataClient:
    from cairn.tracking import fluent

    return DataClient(tracking=fluent._default_client())


def log_dataset(
    source: Any,
    name: str,
    context: str = "training",
    *,
    storage: str | DatasetStorage = "copy",
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    policy: PrivacyPolicy | None = None,
    pii_columns: Sequence[str] = (),
    run_id: str | None = None,
) -> DatasetVersion:
    """Version `source` under `name`, and link it to the active run (or `run_id`) with `context`.

    Args:
        source: A pandas or polars DataFrame, a pyarrow Table, a file or folder path, or an fsspec URI
            (CSV, Parquet, JSON lines).
        name: The dataset's name.
        context: What the run uses it for: training, validation, test, evaluation, serving or other.
        storage: "copy" stores the content (de-duplicated by digest); "reference" records only where it is.
        description: Free text for a new version.
        tags: Labels for a new version.
        policy: Refuse, warn about or transform personal data before it is stored.
        pii_columns: Columns to treat as personal data by hand.
        run_id: The run to link to; default: the active run, if any.

    Returns:
        The version holding this content: a new one, or the existing one when the content is unchanged.
    """
    from cairn.data.client import storage_mode
    from cairn.data.dataset_logging import LogOptions
    from cairn.tracking import fluent

    if run_id is None:
        active = fluent.active_run()
        run_id = active.run_id if active is not None else None
    options = LogOptions(
        context=context,
        storage=storage_mode(storage),
        description=description,
        tags=dict(tags or {}),
        policy=policy,
        pii_columns=tuple(pii_columns),
    )
    return _client().log_dataset(source, name, run_id=run_id, options=options)


def get(name: str, version: int | str | None = None, alias: str | None = None) -> DatasetVersion:
    """The version of `name` by number or alias (the latest when neither is given)."""
    return _client().get(name, version, alias)


def load(
    name: str, version: int | str | None = None, alias: str | None = None, *, format: str = "pandas"
) -> Any:
    """The exact data of a version as pandas (default), "pyarrow" or "polars"."""
    return _client().load(name, version, alias, format=format)


def set_alias(name: str, alias: str, version: int | str) -> None:
    """Point a dataset alias (such as `golden`) at a version."""
    _client().set_alias(name, alias, version)


def delete_alias(name: str, alias: str) -> None:
    """Remove a dataset alias."""
    _client().delete_alias(name, alias)


def validate(
    name: str,
    rules: Sequence[Rule] | str | Path,
    version: int | str | None = None,
    alias: str | None = None,
    *,
    run_id: str | None = None,
) -> ValidationReport:
    """Check a version against rules; the report is stored on the version (and the active run)."""
    from cairn.tracking import fluent

    if run_id is None:
        active = fluent.active_run()
        run_id = active.run_id if active is not None else None
    return _client().validate(name, rules, version, alias, run_id=run_id)


def erase(name: str, where: str, *, purge: bool = False) -> ErasureResult:
    """Rewrite the dataset's versions without the rows matching `where`; see `DataClient.erase`."""
    return _client().erase(name, where, purge=purge)
