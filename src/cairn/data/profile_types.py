"""The column and dataset profile result types, with their JSON forms."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn.errors import InvalidArgument

__all__ = [
    "QUANTILE_LEVELS",
    "ColumnProfile",
    "DatasetProfile",
    "Histogram",
    "TopValue",
    "finite_or_none",
]

#: The quantiles every numeric column profile holds: name -> probability.
QUANTILE_LEVELS: dict[str, float] = {
    "p1": 0.01,
    "p5": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}


def finite_or_none(value: Any) -> float | None:
    """`value` as a float, or None when it is missing, NaN or infinite (JSON has no NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _number(value: Any) -> int | float | str | None:
    """A min/max value for JSON: ints stay ints, floats lose NaN/inf, strings stay strings."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int | str):
        return value
    return finite_or_none(value)


@dataclass(frozen=True)
class Histogram:
    """Counts of values in buckets between edges.

    Bucket `i` holds values in `[edges[i], edges[i + 1])`; the last bucket also holds `edges[-1]`.

    Attributes:
        edges: Bucket edges, one more than `counts`; equal-width unless given by the caller.
        counts: Values per bucket.
        below: Values less than `edges[0]` (non-zero only when the edges came from elsewhere).
        above: Values greater than `edges[-1]` (likewise).
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    below: int = 0
    above: int = 0

    @property
    def total(self) -> int:
        """All values counted, inside and outside the edges."""
        return sum(self.counts) + self.below + self.above

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "edges": list(self.edges),
            "counts": list(self.counts),
            "below": self.below,
            "above": self.above,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        """Rebuild from `to_dict` output."""
        return cls(
            edges=tuple(float(edge) for edge in data["edges"]),
            counts=tuple(int(count) for count in data["counts"]),
            below=int(data.get("below", 0)),
            above=int(data.get("above", 0)),
        )


@dataclass(frozen=True)
class TopValue:
    """One frequent value of a column and how many rows hold it."""

    value: str
    count: int


@dataclass(frozen=True)
class ColumnProfile:
    """Summary statistics of one column. Fields that do not apply to the column's kind are None.

    Attributes:
        name: Column name.
        type: Arrow type, as a string (`int64`, `timestamp[us, tz=UTC]`, ...).
        kind: "numeric", "boolean", "string", "temporal", "nested" or "other".
        count: Non-null values.
        null_count: Null values.
        distinct_count: Approximate distinct non-null values (a HyperLogLog sketch).
        min: Smallest value (numbers; ISO strings for temporal columns). Floats: finite values only.
        max: Largest value, likewise.
        mean: Mean of the finite values (numeric).
        std: Sample standard deviation of the finite values (numeric).
        quantiles: Approximate quantiles p1, p5, p25, p50, p75, p95, p99 (numeric).
        histogram: Equal-width histogram between min and max (numeric).
        non_finite_count: NaN and infinite values (floating-point columns).
        min_length: Shortest string, in characters (string).
        max_length: Longest string (string).
        mean_length: Mean string length (string).
        top_values: Most frequent values with exact counts, most frequent first (string).
        true_count: Values that are true (boolean).
    """

    name: str
    type: str
    kind: str
    count: int
    null_count: int
    distinct_count: int | None = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: Mapping[str, float | None] | None = None
    histogram: Histogram | None = None
    non_finite_count: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    mean_length: float | None = None
    top_values: tuple[TopValue, ...] | None = None
    true_count: int | None = None

    @property
    def null_rate(self) -> float | None:
        """Share of rows that are null, or None for a column without rows."""
        rows = self.count + self.null_count
        return self.null_count / rows if rows else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, in declaration order; NaN and infinity become None."""
        return {
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "count": self.count,
            "null_count": self.null_count,
            "distinct_count": self.distinct_count,
            "min": _number(self.min),
            "max": _number(self.max),
            "mean": finite_or_none(self.mean),
            "std": finite_or_none(self.std),
            "quantiles": None
            if self.quantiles is None
            else {key: finite_or_none(value) for key, value in self.quantiles.items()},
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
            "non_finite_count": self.non_finite_count,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "mean_length": finite_or_none(self.mean_length),
            "top_values": None
            if self.top_values is None
            else [{"value": top.value, "count": top.count} for top in self.top_values],
            "true_count": self.true_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        """Rebuild from `to_dict` output.

        Raises:
            InvalidArgument: naming the missing key when `data` lacks a required one.
        """
        for key in ("name", "type", "kind", "count", "null_count"):
            if key not in data:
                raise InvalidArgument(f"column profile lacks the key {key!r}: {sorted(data)}")
        histogram = data.get("histogram")
        tops = data.get("top_values")
        quantiles = data.get("quantiles")
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            kind=str(data["kind"]),
            count=int(data["count"]),
            null_count=int(data["null_count"]),
            distinct_count=data.get("distinct_count"),
            min=data.get("min"),
            max=data.get("max"),
            mean=data.get("mean"),
            std=data.get("std"),
            quantiles=None if quantiles is None else dict(quantiles),
            histogram=None if histogram is None else Histogram.from_dict(histogram),
            non_finite_count=data.get("non_finite_count"),
            min_length=data.get("min_length"),
            max_length=data.get("max_length"),
            mean_length=data.get("mean_length"),
            top_values=None
            if tops is None
            else tuple(TopValue(str(t["value"]), int(t["count"])) for t in tops),
            true_count=data.get("true_count"),
        )


@dataclass(frozen=True)
class DatasetProfile:
    """Profiles of every column of a table or dataset.

    Attributes:
        row_count: Rows in the data.
        columns: One profile per column, in schema order.
        sampled_rows: When set, distributions were computed from a block sample of this many rows (counts
            scaled, distinct counts estimated); row counts, non-null counts, min and max are exact.
    """

    row_count: int
    columns: tuple[ColumnProfile, ...]
    sampled_rows: int | None = None

    def column(self, name: str) -> ColumnProfile:
        """The profile of column `name`.

        Raises:
            InvalidArgument: when the profile has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidArgument(f"the profile has no column {name!r}")

    def find_column(self, name: str) -> ColumnProfile | None:
        """The profile of column `name`, or None."""
        return next((column for column in self.columns if column.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stable key order, no NaN or infinity)."""
        data: dict[str, Any] = {"row_count": self.row_count}
        if self.sampled_rows is not None:
            data["sampled_rows"] = self.sampled_rows
        data["columns"] = [column.to_dict() for column in self.columns]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetProfile:
        """Rebuild from `to_dict` output.

        Raises:
            InvalidArgument: when `data` lacks `row_count` or `columns`.
        """
        if "row_count" not in data or "columns" not in data:
            raise InvalidArgument(
                f"a dataset profile needs 'row_count' and 'columns', got keys {sorted(data)}"
            )
        return cls(
            row_count=int(data["row_count"]),
            columns=tuple(ColumnProfile.from_dict(column) for column in data["columns"]),
            sampled_rows=None if data.get("sampled_rows") is None else int(data["sampled_rows"]),
        )
