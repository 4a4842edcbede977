"""DataClient: the one explicit API for dataset versions (log, get, load, aliases, quality, privacy)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cairn.entities.dataset_version import DatasetStorage, DatasetSummary, DatasetVersion
from cairn.errors import InvalidArgument
from cairn.store.dataset_protocols import DataStore
from cairn.tracking.client import TrackingClient

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

    from cairn.data.content_store import ContentStore
    from cairn.data.dataset_logging import LogOptions
    from cairn.data.erasure import ErasureResult
    from cairn.data.profile import DatasetProfile
    from cairn.data.profile_diff import ProfileDiff
    from cairn.data.rules import Rule
    from cairn.data.skew import SkewReport
    from cairn.data.validation import ValidationReport

LOAD_FORMATS = ("pandas", "pyarrow", "polars")


def current_user() -> str:
    """The name recorded as `created_by` on what this process logs."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class DataClient:
    """Dataset versions in the tracking store of `tracking_uri` (a local store or a Cairn server).

    Args:
        tracking_uri: The store; defaults to `cairn.get_tracking_uri()`.
        tracking: A TrackingClient to share (its store is used).
    """

    def __init__(self, tracking_uri: str | None = None, *, tracking: TrackingClient | None = None) -> None:
        self.tracking = tracking or TrackingClient(tracking_uri)
        store = self.tracking.store
        if not hasattr(store, "create_dataset_version"):
            raise InvalidArgument(f"the store at {self.tracking.tracking_uri!r} keeps no dataset versions")
        self.store = cast(DataStore, store)
        self.user = current_user()
        self._content: ContentStore | None = None

    @property
    def content(self) -> ContentStore:
        """The content-addressed blob store holding dataset files."""
        if self._content is None:
            from cairn.data.content_store import ContentStore
            from cairn.tracking.client_artifacts import artifact_store_at

            root = self.store.dataset_artifact_root()
            self._content = ContentStore(artifact_store_at(root, self.tracking.tracking_uri), self.store)
        return self._content

    # Logging

    def log_dataset(
        self, source: Any, name: str, *, run_id: str | None = None, options: LogOptions | None = None
    ) -> DatasetVersion:
        """Version `source` under `name` (a new version only when its content changed).

        Args:
            source: A pandas or polars DataFrame, a pyarrow Table, a file or folder path, or an fsspec URI.
            name: The dataset's name.
            run_id: Link the version to this run as an input (with `options.context`); None links nothing.
            options: Context, storage mode, privacy policy, description and tags.
        """
        from cairn.data.dataset_logging import LogOptions, log_version

        return log_version(self, source, name, run_id, options or LogOptions())

    # Reading

    def get(self, name: str, version: int | str | None = None, alias: str | None = None) -> DatasetVersion:
        """The version named by number or alias; the latest version when neither is given."""
        if version is not None and alias is not None:
            raise InvalidArgument("give either version or alias, not both")
        if alias is not None:
            return self.store.get_dataset_version_by_alias(name, alias)
        if version is None or str(version) == "latest":
            return self.store.latest_dataset_version(name)
        return self.store.get_dataset_version(name, _version_number(version))

    def load(
        self,
        name: str,
        version: int | str | None = None,
        alias: str | None = None,
        *,
        format: str = "pandas",
        columns: Sequence[str] | None = None,
    ) -> Any:
        """The exact data of a version, as a pandas DataFrame, a pyarrow Table or a polars DataFrame."""
        if format not in LOAD_FORMATS:
            raise InvalidArgument(f"format must be one of {', '.join(LOAD_FORMATS)}, not {format!r}")
        table = self.open(name, version, alias).to_table(columns=list(columns) if columns else None)
        if format == "pyarrow":
            return table
        if format == "polars":
            import polars as pl

            return pl.from_arrow(table)
        return table.to_pandas()

    def open(self, name: str, version: int | str | None = None, alias: str | None = None) -> pads.Dataset:
        """A lazy pyarrow Dataset over a version's files (fetched into the local cache, digests checked)."""
        from cairn.data.loading import open_version

        return open_version(self, self.get(name, version, alias))

    def versions(self, name: str, max_results: int = 100) -> list[DatasetVersion]:
        """Versions of a dataset, newest first."""
        return list(_pages(lambda token: self.store.search_dataset_versions(name, max_results, token)))

    def list_datasets(self, name_like: str | None = None) -> list[DatasetSummary]:
        """Every dataset (optionally those whose name matches a LIKE pattern)."""
        return list(_pages(lambda token: self.store.search_datasets(100, token, name_like)))

    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point `alias` at a version (moving it if it pointed elsewhere)."""
        self.store.set_dataset_alias(name, alias, _version_number(version))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias."""
        self.store.delete_dataset_alias(name, alias)

    # Quality

    def profile(
        self, name: str, version: int | str | None = None, alias: str | None = None
    ) -> DatasetProfile:
        """The stored profile of a version."""
        from cairn.data.profile import DatasetProfile

        found = self.get(name, version, alias)
        if found.profile is None:
            raise InvalidArgument(f"version {found.version} of dataset {name!r} was logged without a profile")
        return DatasetProfile.from_dict(found.profile)

    def diff(self, name: str, old: int | str, new: int | str) -> ProfileDiff:
        """Schema, row-count and distribution changes from version `old` to version `new`."""
        from cairn.data.profile import DatasetProfile
        from cairn.data.profile_diff import diff_profiles

        before, after = self.get(name, old), self.get(name, new)
        for found in (before, after):
            if found.profile is None:
                raise InvalidArgument(
                    f"version {found.version} of dataset {name!r} has no profile to compare"
                )
        return diff_profiles(
            DatasetProfile.from_dict(cast(dict[str, Any], before.profile)),
            DatasetProfile.from_dict(cast(dict[str, Any], after.profile)),
            before.schema,
            after.schema,
        )

    def validate(
        self,
        name: str,
        rules: Sequence[Rule] | str | Path,
        version: int | str | None = None,
        alias: str | None = None,
        *,
        run_id: str | None = None,
    ) -> ValidationReport:
        """Check a version against rules (objects, or a YAML file or text); the report is stored on it.

        With `run_id`, the report is also logged to that run as `data_validation/<name>-v<N>.json` and its
        pass/fail as the metric `data_validation.<name>.passed`.
        """
        from cairn.data.validation_records import validate_version

        return validate_version(self, self.get(name, version, alias), rules, run_id)

    def suggest_rules(
        self, name: str, version: int | str | None = None, alias: str | None = None
    ) -> list[Rule]:
        """Rules proposed from a trusted version's profile and schema."""
        from cairn.data.rule_suggestions import suggest_rules

        found = self.get(name, version, alias)
        return suggest_rules(self.profile(name, found.version).to_dict(), found.schema)

    def check_skew(
        self,
        name: str,
        serving: Any,
        version: int | str | None = None,
        alias: str | None = None,
        *,
        column_prefix: str | None = None,
    ) -> SkewReport:
        """Compare a serving sample (any `log_dataset` source, or a prediction-event log) with a version."""
        from cairn.data.skew import check_skew
        from cairn.data.sources import tabular_of

        found = self.get(name, version, alias)
        return check_skew(
            self.profile(name, found.version), found.schema, tabular_of(serving), column_prefix=column_prefix
        )

    # Privacy

    def erase(self, name: str, where: str, *, purge: bool = False) -> ErasureResult:
        """Write new versions without the rows matching `where`; mark the old ones erased.

        Args:
            name: The dataset.
            where: A row filter such as `user_id = 123` (parsed, never run as SQL).
            purge: Also delete the erased versions' content from the store (files no remaining version
                shares). Without it, the content stays until `erase` is confirmed with `purge=True`.
        """
        from cairn.data.erasure import erase_rows

        return erase_rows(self, name, where, purge=purge)


def _version_number(version: int | str) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise InvalidArgument(f"version must be a whole number, not {version!r}") from None
    if number < 1:
        raise InvalidArgument(f"version must be 1 or more, not {number}")
    return number


def _pages(fetch: Any) -> Iterator[Any]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


def storage_mode(value: str | DatasetStorage) -> DatasetStorage:
    """Parse a storage mode ("copy" or "reference")."""
    try:
        return DatasetStorage(value)
    except ValueError:
        raise InvalidArgument(f"storage must be 'copy' or 'reference', not {value!r}") from None


def as_table(data: pa.Table | pads.Dataset) -> pa.Table:
    """A Table from a Table or Dataset (reads a Dataset whole: only for small data)."""
    import pyarrow as pa

    return data if isinstance(data, pa.Table) else data.to_table()
