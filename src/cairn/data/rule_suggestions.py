"""Proposing validation rules from a trusted dataset version's profile and schema."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cairn.data import rules
from cairn.data.rules import Rule
from cairn.errors import InvalidArgument

__all__ = ["suggest_rules"]

#: The row-count band: from half to twice the trusted count.
ROW_COUNT_BAND = (0.5, 2.0)
#: Ranges are widened by this share of their span on each side.
RANGE_MARGIN = 0.1
#: A string column with at most this many distinct values gets an `in_set` rule.
MAX_SET_SIZE = 20
#: Null headroom: the allowed share is the trusted share times this, plus `NULL_SLACK`.
NULL_HEADROOM = 1.5
NULL_SLACK = 0.01
#: `unique` is proposed when the distinct count is within this share of the non-null count (the count is a
#: HyperLogLog sketch, a few percent off), and no top value (exact counts, for strings) appears twice.
DISTINCT_TOLERANCE = 0.05
_INTEGER_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def suggest_rules(profile: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> list[Rule]:
    """Rules that the trusted version satisfies, to review and keep.

    Proposes a row-count band, then per column (in schema order): `column_present` with its type, `not_null`
    (exact, or with headroom when the column has some nulls), `unique` for integer and string columns whose
    values are all distinct, `in_range` for numbers (widened by a margin; never below 0 when the trusted
    minimum was not), and `in_set` for strings with at most 20 values all listed among the top values.
    Statistical rules (row count, range, set) are proposed as warnings; structural ones as errors.

    Args:
        profile: `DatasetProfile.to_dict()` of the trusted version.
        schema: `{"columns": [{"name", "type", ...}]}`; column order and exact types (default: the profile's).

    Returns:
        The rules, in a deterministic order.
    """
    if not isinstance(profile, Mapping) or "columns" not in profile or "row_count" not in profile:
        raise InvalidArgument(
            "profile must be a dict with 'row_count' and 'columns' (DatasetProfile.to_dict())"
        )
    row_count = int(profile["row_count"])
    columns = {str(column["name"]): column for column in profile["columns"]}
    suggested: list[Rule] = []
    if row_count > 0:
        low, high = ROW_COUNT_BAND
        suggested.append(
            rules.row_count(
                min=math.floor(row_count * low), max=math.ceil(row_count * high), severity="warning"
            )
        )
    for name, data_type in _schema_types(schema, columns).items():
        suggested.append(rules.column_present(name, data_type))
        column = columns.get(name)
        if column is not None:
            suggested.extend(_column_rules(name, column, data_type, row_count))
    return suggested


def _schema_types(
    schema: Mapping[str, Any] | None, columns: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    if schema is None:
        return {name: str(column["type"]) for name, column in columns.items()}
    try:
        return {str(column["name"]): str(column["type"]) for column in schema["columns"]}
    except (KeyError, TypeError) as error:
        raise InvalidArgument(
            f"schema must be {{'columns': [{{'name', 'type'}}, ...]}}, got {schema!r}"
        ) from error


def _column_rules(name: str, column: Mapping[str, Any], data_type: str, row_count: int) -> list[Rule]:
    found: list[Rule] = []
    nulls = int(column.get("null_count") or 0)
    present = int(column.get("count") or 0)
    if row_count > 0 and nulls == 0:
        found.append(rules.not_null(name))
    elif row_count > 0 and nulls < row_count:
        share = nulls / row_count * NULL_HEADROOM + NULL_SLACK
        allowed = min(1.0, math.ceil(round(share * 1000, 6)) / 1000)  # round first: 0.61 stays 0.61
        found.append(rules.not_null(name, max_share=allowed))
    kind = column.get("kind")
    is_integer = data_type in _INTEGER_TYPES
    if (is_integer or kind == "string") and _all_distinct(column, present):
        found.append(rules.unique(name))
    if kind == "numeric":
        bounds = _widened(column.get("min"), column.get("max"), is_integer)
        if bounds is not None:
            found.append(rules.in_range(name, bounds[0], bounds[1], severity="warning"))
    if kind == "string":
        members = _set_members(column, present)
        if members is not None:
            found.append(rules.in_set(name, members, severity="warning"))
    return found


def _all_distinct(column: Mapping[str, Any], present: int) -> bool:
    """True when the sketched distinct count is near the non-null count and no top value repeats."""
    distinct = column.get("distinct_count")
    if distinct is None or present == 0 or abs(int(distinct) - present) > present * DISTINCT_TOLERANCE:
        return False
    top = column.get("top_values") or []
    return all(int(entry["count"]) <= 1 for entry in top)


def _widened(low: Any, high: Any, is_integer: bool) -> tuple[int | float, int | float] | None:
    """`[low, high]` widened by `RANGE_MARGIN` of the span; integer bounds rounded outward."""
    numbers = (int, float)
    if not isinstance(low, numbers) or not isinstance(high, numbers) or isinstance(low, bool):
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    span = high - low
    margin = span * RANGE_MARGIN if span > 0 else max(abs(low) * RANGE_MARGIN, 1.0)
    new_low, new_high = low - margin, high + margin
    if low >= 0:
        new_low = max(new_low, 0)
    if is_integer:
        return math.floor(new_low), math.ceil(new_high)
    step = 10.0 ** (math.floor(math.log10(margin)) - 1)
    digits = max(0, -math.floor(math.log10(step)))
    return round(math.floor(new_low / step) * step, digits), round(math.ceil(new_high / step) * step, digits)


def _set_members(column: Mapping[str, Any], present: int) -> list[str] | None:
    """The column's values when it has few and the top values cover every non-null row."""
    top = column.get("top_values") or []
    distinct = column.get("distinct_count")
    if not top or present == 0 or distinct is None or int(distinct) > MAX_SET_SIZE or len(top) > MAX_SET_SIZE:
        return None
    if sum(int(entry["count"]) for entry in top) != present:
        return None
    values = [entry["value"] for entry in top]
    if not all(isinstance(value, str) for value in values):
        return None
    return sorted(values)
