"""Data validation rules: the frozen rule types and the functions that build them (`rules.in_set(...)`)."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "SEVERITIES",
    "TYPE_KINDS",
    "ColumnPresent",
    "Custom",
    "CustomCheck",
    "Fresh",
    "InRange",
    "InSet",
    "Matches",
    "NotNull",
    "RowCount",
    "Rule",
    "Unique",
    "column_present",
    "custom",
    "default_name",
    "format_duration",
    "fresh",
    "in_range",
    "in_set",
    "matches",
    "not_null",
    "parse_duration",
    "row_count",
    "unique",
]

#: The severities a rule can have; a failed "error" rule fails the report, a failed "warning" does not.
SEVERITIES = ("error", "warning")
#: Type kinds `column_present` accepts besides exact Arrow type strings such as "int64".
TYPE_KINDS = ("integer", "float", "numeric", "string", "boolean", "timestamp", "date")

#: A user-supplied bound or set member: a JSON/YAML scalar, or a date or datetime.
Scalar = str | int | float | bool | dt.date | dt.datetime
#: A custom check: given a batch, a per-row pass mask (True passes) or the number of failing rows.
CustomCheck = Callable[["pa.RecordBatch"], "pa.BooleanArray | pa.ChunkedArray | int"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: str | dt.timedelta, field: str = "max_age") -> dt.timedelta:
    """A positive duration from a timedelta or text such as "7d", "12h", "30m", "45s" or "2w"."""
    if isinstance(value, dt.timedelta):
        delta = value
    elif isinstance(value, str):
        found = _DURATION.match(value)
        if found is None:
            raise InvalidArgument(
                f"{field} {value!r} is not a duration such as '7d', '12h', '30m', '45s' or '2w'"
            )
        delta = dt.timedelta(seconds=int(found.group(1)) * _UNIT_SECONDS[found.group(2)])
    else:
        raise InvalidArgument(f"{field} must be a timedelta or text such as '7d', got {type(value).__name__}")
    if delta <= dt.timedelta(0):
        raise InvalidArgument(f"{field} must be positive, got {value!r}")
    if delta.microseconds:
        raise InvalidArgument(f"{field} must be a whole number of seconds, got {delta}")
    return delta


def format_duration(delta: dt.timedelta) -> str:
    """Text in the largest whole unit up to days that `parse_duration` reads back to `delta` ("7d", "90m")."""
    seconds = int(delta.total_seconds())
    for unit, size in _UNIT_SECONDS.items():
        if unit != "w" and seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: every whole number of seconds divides by 1")


def json_value(value: Any) -> Any:
    """`value` in a JSON-able form: dates as ISO text, non-finite floats as text, tuples as lists."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    return value


@dataclass(frozen=True, kw_only=True)
class Rule:
    """What every rule has: a `name` for reports and a `severity` ("error" or "warning").

    Attributes:
        name: Shown in reports; by default the kind and column, such as "not_null(email)".
        severity: "error" fails the report (and can stop a pipeline); "warning" is only reported.
    """

    kind: ClassVar[str] = "rule"
    name: str
    severity: str

    @property
    def column_name(self) -> str | None:
        """The column the rule checks, or None for rules about the whole table."""
        column = getattr(self, "column", None)
        return column if isinstance(column, str) else None

    def arguments(self) -> dict[str, Any]:
        """The rule's own arguments (not name or severity), as its builder function takes them."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: kind, name, severity, then the arguments in declaration order."""
        head: dict[str, Any] = {"kind": self.kind, "name": self.name, "severity": self.severity}
        return head | {key: json_value(value) for key, value in self.arguments().items()}


@dataclass(frozen=True, kw_only=True)
class ColumnPresent(Rule):
    """The column exists, optionally with a type (an Arrow type string or one of `TYPE_KINDS`)."""

    kind: ClassVar[str] = "column_present"
    column: str
    type: str | None

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column, "type": self.type}


@dataclass(frozen=True, kw_only=True)
class NotNull(Rule):
    """At most `max_share` of the rows (0 by default) are null."""

    kind: ClassVar[str] = "not_null"
    column: str
    max_share: float

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column, "max_share": self.max_share}


@dataclass(frozen=True, kw_only=True)
class Unique(Rule):
    """No non-null value appears twice; failing rows are the extra copies."""

    kind: ClassVar[str] = "unique"
    column: str

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column}


@dataclass(frozen=True, kw_only=True)
class InRange(Rule):
    """Non-null values lie between `min` and `max` (either may be open); NaN is out of range."""

    kind: ClassVar[str] = "in_range"
    column: str
    min: Scalar | None
    max: Scalar | None
    inclusive: bool

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column, "min": self.min, "max": self.max, "inclusive": self.inclusive}


@dataclass(frozen=True, kw_only=True)
class InSet(Rule):
    """Non-null values are members of `values`."""

    kind: ClassVar[str] = "in_set"
    column: str
    values: tuple[Scalar, ...]

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column, "values": list(self.values)}


@dataclass(frozen=True, kw_only=True)
class Matches(Rule):
    """Non-null values, as text, fully match the regular expression `pattern`."""

    kind: ClassVar[str] = "matches"
    column: str
    pattern: str

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column, "pattern": self.pattern}


@dataclass(frozen=True, kw_only=True)
class RowCount(Rule):
    """The number of rows lies between `min` and `max` (inclusive; either may be open)."""

    kind: ClassVar[str] = "row_count"
    min: int | None
    max: int | None

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True, kw_only=True)
class Fresh(Rule):
    """The newest value of a timestamp or date column is at most `max_age` older than `now`.

    `now` defaults to the time of validation; naive datetimes (in `now` and in the column) are read as UTC.
    """

    kind: ClassVar[str] = "fresh"
    column: str
    max_age: dt.timedelta
    now: dt.datetime | None

    def arguments(self) -> dict[str, Any]:
        """The builder arguments."""
        return {"column": self.column, "max_age": format_duration(self.max_age), "now": self.now}


@dataclass(frozen=True, kw_only=True)
class Custom(Rule):
    """A Python check run on each batch of rows (optionally only `columns`); it cannot be written in YAML."""

    kind: ClassVar[str] = "custom"
    fn: CustomCheck
    columns: tuple[str, ...] | None

    def arguments(self) -> dict[str, Any]:
        """The serialisable arguments (the function itself is not)."""
        return {"columns": None if self.columns is None else list(self.columns)}


def default_name(kind: str, column: str | None) -> str:
    """The name a rule gets when none is given: "kind(column)", or the kind alone for table rules."""
    return kind if column is None else f"{kind}({column})"


def _meta(kind: str, column: str | None, name: str | None, severity: str) -> tuple[str, str]:
    """The checked (name, severity) of a new rule; the default name is "kind(column)"."""
    if severity not in SEVERITIES:
        raise InvalidArgument(f"{kind}: severity must be 'error' or 'warning', got {severity!r}")
    if name is None:
        return default_name(kind, column), severity
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"{kind}: name must be non-empty text, got {name!r}")
    return name, severity


def _column(kind: str, column: object) -> str:
    if not isinstance(column, str) or not column:
        raise InvalidArgument(f"{kind}: column must be a non-empty string, got {column!r}")
    return column


def _scalar(kind: str, field: str, value: object, *, allow_bool: bool) -> Scalar:
    if isinstance(value, bool):
        if allow_bool:
            return value
    elif isinstance(value, int | str | dt.date):
        return value
    elif isinstance(value, float):
        if math.isfinite(value):
            return value
        raise InvalidArgument(f"{kind}: {field} must be finite, got {value!r}")
    raise InvalidArgument(f"{kind}: {field} must be a number, text, date or datetime, got {value!r}")


def _check_order(column: str, low: Scalar, high: Scalar) -> None:
    """Refuse reversed bounds, and a number paired with a non-number.

    Text, dates and datetimes may mix (ISO text is read in the column's type when the rule runs).
    """
    numbers = (isinstance(low, int | float), isinstance(high, int | float))
    if numbers[0] != numbers[1]:
        raise InvalidArgument(f"in_range({column}): min {low!r} and max {high!r} do not compare")
    try:
        reversed_bounds = bool(low > high)  # type: ignore[operator]
    except TypeError:
        return
    if reversed_bounds:
        raise InvalidArgument(f"in_range({column}): min {low!r} is greater than max {high!r}")


def column_present(
    column: str, type: str | None = None, *, name: str | None = None, severity: str = "error"
) -> ColumnPresent:
    """The column exists and, when `type` is given, has that Arrow type ("int64") or kind ("integer")."""
    column = _column("column_present", column)
    if type is not None and (not isinstance(type, str) or not type.strip()):
        raise InvalidArgument(
            f"column_present({column}): type must be an Arrow type string or one of {TYPE_KINDS}"
        )
    label, level = _meta("column_present", column, name, severity)
    return ColumnPresent(name=label, severity=level, column=column, type=type)


def not_null(
    column: str, max_share: float = 0.0, *, name: str | None = None, severity: str = "error"
) -> NotNull:
    """At most `max_share` (0..1) of the rows are null in `column`."""
    column = _column("not_null", column)
    if isinstance(max_share, bool) or not isinstance(max_share, int | float) or not 0 <= max_share <= 1:
        raise InvalidArgument(
            f"not_null({column}): max_share must be a number from 0 to 1, got {max_share!r}"
        )
    label, level = _meta("not_null", column, name, severity)
    return NotNull(name=label, severity=level, column=column, max_share=float(max_share))


def unique(column: str, *, name: str | None = None, severity: str = "error") -> Unique:
    """No non-null value of `column` appears more than once."""
    column = _column("unique", column)
    label, level = _meta("unique", column, name, severity)
    return Unique(name=label, severity=level, column=column)


def in_range(
    column: str,
    min: Scalar | None = None,
    max: Scalar | None = None,
    inclusive: bool = True,
    *,
    name: str | None = None,
    severity: str = "error",
) -> InRange:
    """Non-null values of `column` lie between `min` and `max` (bounds included unless `inclusive=False`)."""
    column = _column("in_range", column)
    if min is None and max is None:
        raise InvalidArgument(f"in_range({column}): give min, max or both")
    low = None if min is None else _scalar(f"in_range({column})", "min", min, allow_bool=False)
    high = None if max is None else _scalar(f"in_range({column})", "max", max, allow_bool=False)
    if not isinstance(inclusive, bool):
        raise InvalidArgument(f"in_range({column}): inclusive must be true or false, got {inclusive!r}")
    if low is not None and high is not None:
        _check_order(column, low, high)
    label, level = _meta("in_range", column, name, severity)
    return InRange(name=label, severity=level, column=column, min=low, max=high, inclusive=inclusive)


def in_set(
    column: str, values: Sequence[Scalar], *, name: str | None = None, severity: str = "error"
) -> InSet:
    """Non-null values of `column` are among `values` (numbers, text, booleans, dates)."""
    column = _column("in_set", column)
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | set | frozenset):
        raise InvalidArgument(f"in_set({column}): values must be a list, got {values!r}")
    if not values:
        raise InvalidArgument(f"in_set({column}): values must not be empty")
    members = tuple(_scalar(f"in_set({column})", "each value", value, allow_bool=True) for value in values)
    label, level = _meta("in_set", column, name, severity)
    return InSet(name=label, severity=level, column=column, values=members)


def matches(column: str, pattern: str, *, name: str | None = None, severity: str = "error") -> Matches:
    """Non-null values of `column`, as text, fully match the regular expression `pattern`."""
    column = _column("matches", column)
    if not isinstance(pattern, str):
        raise InvalidArgument(f"matches({column}): pattern must be text, got {pattern!r}")
    try:
        re.compile(pattern)
    except re.error as error:
        raise InvalidArgument(
            f"matches({column}): pattern {pattern!r} is not a valid regex: {error}"
        ) from error
    label, level = _meta("matches", column, name, severity)
    return Matches(name=label, severity=level, column=column, pattern=pattern)


def row_count(
    min: int | None = None, max: int | None = None, *, name: str | None = None, severity: str = "error"
) -> RowCount:
    """The table has between `min` and `max` rows (inclusive)."""
    for field, value in (("min", min), ("max", max)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidArgument(f"row_count: {field} must be a whole number >= 0, got {value!r}")
    if min is None and max is None:
        raise InvalidArgument("row_count: give min, max or both")
    if min is not None and max is not None and min > max:
        raise InvalidArgument(f"row_count: min {min} is greater than max {max}")
    label, level = _meta("row_count", None, name, severity)
    return RowCount(name=label, severity=level, min=min, max=max)


def fresh(
    column: str,
    max_age: dt.timedelta | str,
    now: dt.datetime | None = None,
    *,
    name: str | None = None,
    severity: str = "error",
) -> Fresh:
    """The newest value of `column` is at most `max_age` ("7d", "12h", "30m" or a timedelta) before `now`."""
    column = _column("fresh", column)
    if now is not None and not isinstance(now, dt.datetime):
        raise InvalidArgument(f"fresh({column}): now must be a datetime, got {now!r}")
    age = parse_duration(max_age, f"fresh({column}): max_age")
    label, level = _meta("fresh", column, name, severity)
    return Fresh(name=label, severity=level, column=column, max_age=age, now=now)


def custom(
    name: str, fn: CustomCheck, *, columns: Sequence[str] | None = None, severity: str = "error"
) -> Custom:
    """A check in Python: `fn(batch)` returns a per-row pass mask or the number of failing rows in the batch.

    Args:
        name: The rule's name in reports (required).
        fn: Called once per `pyarrow.RecordBatch`; a null in the mask counts as a failure.
        columns: Only these columns are read and passed to `fn` (default: all).
        severity: "error" or "warning".
    """
    label, level = _meta("custom", None, name, severity)
    if not callable(fn):
        raise InvalidArgument(f"custom({name}): fn must be callable, got {fn!r}")
    names: tuple[str, ...] | None = None
    if columns is not None:
        if isinstance(columns, str):
            raise InvalidArgument(f"custom({name}): columns must be a list of names, got {columns!r}")
        names = tuple(_column(f"custom({name})", column) for column in columns)
    return Custom(name=label, severity=level, fn=fn, columns=names)
