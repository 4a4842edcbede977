"""What changed between two dataset versions: schema, row count, and per-column distribution shift.

Shift scores come from `cairn.data.distribution_shift`: numeric columns by PSI over the old histogram's
buckets (exact when both histograms share edges, otherwise an approximation that spreads each new
bucket's values evenly), string and boolean columns by total-variation distance of value shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.data.distribution_shift import shift_score
from cairn.data.profile_types import DatasetProfile
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

__all__ = ["ColumnShift", "ProfileDiff", "TypeChange", "diff_profiles", "schema_columns", "schema_of"]


def schema_of(data: TabularData) -> dict[str, Any]:
    """The schema of a Table or Dataset as `{"columns": [{"name", "type", "nullable"}, ...]}`."""
    return {
        "columns": [
            {"name": field.name, "type": str(field.type), "nullable": bool(field.nullable)}
            for field in data.schema
        ]
    }


def schema_columns(schema: Mapping[str, Any] | None, profile: DatasetProfile) -> dict[str, str]:
    """Column name -> type string, from `schema` (the `schema_of` form) or, without one, from `profile`.

    Raises:
        InvalidArgument: when `schema` is not in the `schema_of` form.
    """
    if schema is None:
        return {column.name: column.type for column in profile.columns}
    try:
        return {str(column["name"]): str(column["type"]) for column in schema["columns"]}
    except (KeyError, TypeError) as error:
        raise InvalidArgument(
            f"schema must be {{'columns': [{{'name', 'type', ...}}]}}, got {schema!r}"
        ) from error


@dataclass(frozen=True)
class TypeChange:
    """A column whose type differs between the versions."""

    name: str
    old_type: str
    new_type: str


@dataclass(frozen=True)
class ColumnShift:
    """How much one column present in both versions moved.

    Attributes:
        name: Column name.
        metric: "psi" (numeric), "tv" (string, boolean) or None when no score applies.
        score: The shift score, or None (kinds differ, temporal or nested columns, no values).
        old_null_rate: Share of null rows before (None without rows).
        new_null_rate: Share of null rows after.
        null_rate_change: new minus old null rate.
    """

    name: str
    metric: str | None
    score: float | None
    old_null_rate: float | None
    new_null_rate: float | None
    null_rate_change: float | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "metric": self.metric,
            "score": self.score,
            "old_null_rate": self.old_null_rate,
            "new_null_rate": self.new_null_rate,
            "null_rate_change": self.null_rate_change,
        }


@dataclass(frozen=True)
class ProfileDiff:
    """Schema, row-count and distribution changes from an old profile to a new one.

    Attributes:
        added: Columns only in the new version, in its schema order.
        removed: Columns only in the old version, in its schema order.
        type_changes: Shared columns whose type changed.
        old_row_count: Rows before.
        new_row_count: Rows after.
        shifts: Shared columns, most shifted first (scored columns by score, then the rest by the size
            of their null-rate change).
    """

    added: tuple[str, ...]
    removed: tuple[str, ...]
    type_changes: tuple[TypeChange, ...]
    old_row_count: int
    new_row_count: int
    shifts: tuple[ColumnShift, ...]

    @property
    def row_count_change(self) -> int:
        """New minus old row count."""
        return self.new_row_count - self.old_row_count

    @property
    def row_count_change_relative(self) -> float | None:
        """Row count change as a share of the old row count (None when the old version had no rows)."""
        return self.row_count_change / self.old_row_count if self.old_row_count else None

    @property
    def schema_changed(self) -> bool:
        """True when columns were added, removed or changed type."""
        return bool(self.added or self.removed or self.type_changes)

    def most_shifted(self, n: int = 5) -> tuple[ColumnShift, ...]:
        """The `n` scored columns that moved most, largest score first."""
        return tuple(shift for shift in self.shifts if shift.score is not None)[: max(0, n)]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stable key order)."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "type_changes": [
                {"name": c.name, "old_type": c.old_type, "new_type": c.new_type} for c in self.type_changes
            ],
            "old_row_count": self.old_row_count,
            "new_row_count": self.new_row_count,
            "row_count_change": self.row_count_change,
            "row_count_change_relative": self.row_count_change_relative,
            "shifts": [shift.to_dict() for shift in self.shifts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileDiff:
        """Rebuild from `to_dict` output."""
        return cls(
            added=tuple(data["added"]),
            removed=tuple(data["removed"]),
            type_changes=tuple(TypeChange(**change) for change in data["type_changes"]),
            old_row_count=int(data["old_row_count"]),
            new_row_count=int(data["new_row_count"]),
            shifts=tuple(ColumnShift(**shift) for shift in data["shifts"]),
        )


def diff_profiles(
    old: DatasetProfile,
    new: DatasetProfile,
    old_schema: Mapping[str, Any] | None = None,
    new_schema: Mapping[str, Any] | None = None,
) -> ProfileDiff:
    """Compare two profiles (and their schemas in the `schema_of` form; None: take types from the profiles).

    Raises:
        InvalidArgument: when a schema is not in the `schema_of` form.
    """
    before = schema_columns(old_schema, old)
    after = schema_columns(new_schema, new)
    shared = [name for name in before if name in after]
    changes = tuple(
        TypeChange(name, before[name], after[name]) for name in shared if before[name] != after[name]
    )
    shifts = [_shift(old, new, name) for name in shared]
    shifts.sort(key=_rank)
    return ProfileDiff(
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        type_changes=changes,
        old_row_count=old.row_count,
        new_row_count=new.row_count,
        shifts=tuple(shifts),
    )


def _shift(old: DatasetProfile, new: DatasetProfile, name: str) -> ColumnShift:
    before, after = old.find_column(name), new.find_column(name)
    if before is None or after is None:
        return ColumnShift(name, None, None, None, None, None)
    metric, score = shift_score(before, after)
    old_rate, new_rate = before.null_rate, after.null_rate
    change = new_rate - old_rate if old_rate is not None and new_rate is not None else None
    return ColumnShift(name, metric, score, old_rate, new_rate, change)


def _rank(shift: ColumnShift) -> tuple[int, float, float, str]:
    scored = 0 if shift.score is not None else 1
    return (scored, -(shift.score or 0.0), -abs(shift.null_rate_change or 0.0), shift.name)
