"""The DuckDB SQL each column rule compiles to: aggregates, failing-row predicates and example queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn.data.rules import Fresh, InRange, InSet, Matches, NotNull, Rule, Unique, format_duration
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa

#: The name the checked data is registered under in DuckDB.
VIEW = "cairn_validated"
#: (SQL text with `?` placeholders, the values bound to them in order)
Sql = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Plan:
    """How one column rule is checked: aggregates in the shared query, then a verdict from their values."""

    aggregates: tuple[Sql, ...]
    verdict: Callable[[Sequence[Any], int], tuple[bool, int, str]]
    examples: Sql | None = None


class Mismatch(Exception):
    """A rule's value cannot be compared with the column's type (reported as a failed rule)."""


def quote(identifier: str) -> str:
    """`identifier` as a DuckDB quoted identifier, embedded double quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


def plan_column_rule(rule: Rule, data_type: pa.DataType, column: str) -> Plan:
    """The aggregates, verdict and examples query of a column rule; `column` is the quoted DuckDB name."""
    if isinstance(rule, NotNull):
        return Plan((_sql(f"COUNT(*) FILTER (WHERE {column} IS NULL)"),), _not_null_verdict(rule))
    if isinstance(rule, Unique):
        examples = (
            f"SELECT {column} FROM {VIEW} WHERE {column} IS NOT NULL GROUP BY {column} "
            f"HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC, {column}",
            (),
        )
        return Plan((_sql(f"COUNT({column}) - COUNT(DISTINCT {column})"),), _unique_verdict, examples)
    if isinstance(rule, Fresh):
        return _fresh_plan(rule, data_type, column)
    if isinstance(rule, InRange):
        failing, described = _range_predicate(rule, data_type, column)
    elif isinstance(rule, InSet):
        values = [_coerce(value, data_type, rule.column) for value in rule.values]
        marks = ", ".join("?" for _ in values)
        failing = (f"{column} IS NOT NULL AND NOT ({column} IN ({marks}))", tuple(values))
        described = f"not among the {len(values)} allowed values"
    elif isinstance(rule, Matches):
        failing = (
            f"{column} IS NOT NULL AND NOT regexp_full_match(CAST({column} AS VARCHAR), ?)",
            (rule.pattern,),
        )
        described = f"not fully matching {rule.pattern!r}"
    else:
        raise InvalidArgument(f"rule {rule.name!r} of kind {rule.kind!r} is not a column rule")
    predicate, params = failing
    examples = (
        f"SELECT {column} FROM {VIEW} WHERE {predicate} GROUP BY {column} ORDER BY COUNT(*) DESC, {column}",
        params,
    )
    return Plan(((f"COUNT(*) FILTER (WHERE {predicate})", params),), _count_verdict(described), examples)


def _sql(text: str) -> Sql:
    return text, ()


def _not_null_verdict(rule: NotNull) -> Callable[[Sequence[Any], int], tuple[bool, int, str]]:
    def verdict(values: Sequence[Any], rows: int) -> tuple[bool, int, str]:
        nulls = int(values[0])
        share = nulls / rows if rows else 0.0
        passed = share <= rule.max_share
        return passed, nulls, f"{nulls} of {rows} rows are null ({share:.2%}; allowed {rule.max_share:.2%})"

    return verdict


def _unique_verdict(values: Sequence[Any], rows: int) -> tuple[bool, int, str]:
    repeats = int(values[0])
    if repeats == 0:
        return True, 0, "no non-null value appears twice"
    return False, repeats, f"{repeats} rows repeat a value that an earlier row holds"


def _count_verdict(described: str) -> Callable[[Sequence[Any], int], tuple[bool, int, str]]:
    def verdict(values: Sequence[Any], rows: int) -> tuple[bool, int, str]:
        failing = int(values[0])
        return failing == 0, failing, f"{failing} of {rows} rows are {described}"

    return verdict


def _range_predicate(rule: InRange, data_type: pa.DataType, column: str) -> tuple[Sql, str]:
    import pyarrow.types as pat

    low_op, high_op = (">=", "<=") if rule.inclusive else (">", "<")
    tests: list[str] = []
    params: list[Any] = []
    for op, bound in ((low_op, rule.min), (high_op, rule.max)):
        if bound is not None:
            tests.append(f"{column} {op} ?")
            params.append(_coerce(bound, data_type, rule.column))
    nan = f"isnan({column}) OR " if pat.is_floating(value_type(data_type)) else ""
    predicate = f"{column} IS NOT NULL AND ({nan}NOT ({' AND '.join(tests)}))"
    left, right = ("[", "]") if rule.inclusive else ("(", ")")
    low = "-inf" if rule.min is None else _show(rule.min)
    high = "inf" if rule.max is None else _show(rule.max)
    return (predicate, tuple(params)), f"outside {left}{low}, {high}{right}"


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else repr(value)


def _fresh_plan(rule: Fresh, data_type: pa.DataType, column: str) -> Plan:
    import pyarrow.types as pat

    if not (pat.is_timestamp(data_type) or pat.is_date(data_type)):
        raise Mismatch(f"column {rule.column!r} has type {data_type}; fresh needs a timestamp or date column")
    now = _utc(rule.now or dt.datetime.now(dt.UTC))
    cutoff = now - rule.max_age

    def verdict(values: Sequence[Any], rows: int) -> tuple[bool, int, str]:
        newest, present = values[0], int(values[1])
        if newest is None:
            return False, rows, f"column {rule.column!r} has no values"
        latest = _utc(newest)
        window = format_duration(rule.max_age)
        age = f"newest value {latest.isoformat()}, cutoff {cutoff.isoformat()} (now - {window})"
        return (True, 0, age) if latest >= cutoff else (False, present, f"stale: {age}")

    aggregates = (_sql(f"MAX({column})"), _sql(f"COUNT({column})"))
    return Plan(aggregates, verdict, _sql(f"SELECT MAX({column}) FROM {VIEW}"))


def _utc(value: dt.date) -> dt.datetime:
    """A date or datetime as an aware UTC datetime (naive values are read as UTC)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def value_type(data_type: pa.DataType) -> pa.DataType:
    """The value type of a dictionary type; any other type as it is."""
    import pyarrow.types as pat

    return data_type.value_type if pat.is_dictionary(data_type) else data_type


def _coerce(value: Any, data_type: pa.DataType, column: str) -> Any:
    """`value` as a Python value DuckDB compares with a column of `data_type`, or `Mismatch`."""
    import pyarrow.types as pat

    kind = value_type(data_type)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if pat.is_integer(kind) or pat.is_floating(kind) or pat.is_decimal(kind):
        fits = is_number
    elif pat.is_string(kind) or pat.is_large_string(kind) or pat.is_string_view(kind):
        fits = isinstance(value, str)
    elif pat.is_boolean(kind):
        fits = isinstance(value, bool)
    elif pat.is_timestamp(kind) or pat.is_date(kind):
        return _temporal(value, kind, column)
    else:
        raise Mismatch(f"column {column!r} has type {data_type}, which this rule cannot check")
    if not fits:
        raise Mismatch(f"value {value!r} does not fit column {column!r} of type {data_type}")
    return value


def _temporal(value: Any, kind: pa.DataType, column: str) -> dt.date:
    import pyarrow.types as pat

    moment: dt.date
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError as error:
        raise Mismatch(f"value {value!r} is not an ISO date or time for column {column!r}") from error
    if not isinstance(moment, dt.date):
        raise Mismatch(f"value {value!r} does not fit column {column!r} of type {kind}")
    if pat.is_date(kind) or not isinstance(moment, dt.datetime):
        return moment
    if kind.tz is not None:
        return _utc(moment)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment
