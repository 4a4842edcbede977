"""Running validation rules over a table or dataset with DuckDB, and the report they produce."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import numbers
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.data.rules import (
    ColumnPresent,
    Custom,
    Fresh,
    InRange,
    InSet,
    Matches,
    NotNull,
    RowCount,
    Rule,
    Unique,
    format_duration,
)
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

__all__ = ["RuleResult", "ValidationFailed", "ValidationReport", "validate"]

_VIEW = "cairn_validated"
_BATCH_ROWS = 65_536
#: (SQL text with `?` placeholders, the values bound to them in order)
Sql = tuple[str, tuple[Any, ...]]
#: From the rule's aggregate values and the row count: (passed, failing rows, message, examples).
Verdict = tuple[bool, int, str, list[Any]]


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule.

    Attributes:
        rule: The rule's JSON form (`Rule.to_dict()`): kind, name, severity and arguments.
        passed: True when the rule holds.
        failing_rows: Rows that break the rule (for table-level rules: all rows when it fails).
        checked_rows: Rows looked at.
        examples: A few failing values (most frequent first) or, for custom rules, failing rows; JSON-able.
        message: What was found, in words.
    """

    rule: dict[str, Any]
    passed: bool
    failing_rows: int
    checked_rows: int
    examples: list[Any]
    message: str

    @property
    def name(self) -> str:
        """The rule's name."""
        return str(self.rule.get("name", self.rule.get("kind", "rule")))

    @property
    def severity(self) -> str:
        """The rule's severity, "error" or "warning"."""
        return str(self.rule.get("severity", "error"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, in a stable key order."""
        return {
            "rule": dict(self.rule),
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "checked_rows": self.checked_rows,
            "examples": list(self.examples),
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleResult:
        """Rebuild from `to_dict` output."""
        try:
            return cls(
                rule=dict(data["rule"]),
                passed=bool(data["passed"]),
                failing_rows=int(data["failing_rows"]),
                checked_rows=int(data["checked_rows"]),
                examples=list(data.get("examples", [])),
                message=str(data.get("message", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(f"not a rule result: {error!r} in {dict(data)!r}") from error


@dataclass(frozen=True)
class ValidationReport:
    """The results of a rule set on one table or dataset.

    Attributes:
        passed: True when no rule of severity "error" failed (failed warnings do not count).
        results: One result per rule, in the order the rules were given.
        row_count: Rows in the data.
        created_at: When the report was made, in milliseconds since the epoch.
    """

    passed: bool
    results: tuple[RuleResult, ...]
    row_count: int
    created_at: int

    @property
    def failures(self) -> list[RuleResult]:
        """The results of failed rules, errors and warnings alike."""
        return [result for result in self.results if not result.passed]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, in a stable key order."""
        return {
            "passed": self.passed,
            "row_count": self.row_count,
            "created_at": self.created_at,
            "results": [result.to_dict() for result in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        """Rebuild from `to_dict` output."""
        missing = {"passed", "row_count", "created_at", "results"} - set(data)
        if missing:
            raise InvalidArgument(f"a validation report needs keys {sorted(missing)}; got {sorted(data)}")
        return cls(
            passed=bool(data["passed"]),
            results=tuple(RuleResult.from_dict(result) for result in data["results"]),
            row_count=int(data["row_count"]),
            created_at=int(data["created_at"]),
        )

    def raise_for_failure(self) -> None:
        """Raise `ValidationFailed` when an error-severity rule failed; do nothing otherwise."""
        if not self.passed:
            raise ValidationFailed(self)


class ValidationFailed(InvalidArgument):
    """Data broke at least one error-severity rule; `report` holds the details."""

    def __init__(self, report: ValidationReport) -> None:
        failed = [r for r in report.results if not r.passed and r.severity == "error"]
        described = "; ".join(f"{r.name}: {r.message}" for r in failed)
        super().__init__(f"data validation failed ({len(failed)} rule(s)): {described}")
        self.report = report


@dataclass(frozen=True)
class _Plan:
    """How one column rule is checked: aggregates in the shared query, then a verdict from their values."""

    aggregates: tuple[Sql, ...]
    verdict: Callable[[Sequence[Any], int], tuple[bool, int, str]]
    examples: Sql | None = None


class _Mismatch(Exception):
    """A rule's value cannot be compared with the column's type (reported as a failed rule)."""


def validate(
    data: TabularData,
    rules: Sequence[Rule],
    *,
    examples: int = 5,
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> ValidationReport:
    """Check `data` against `rules` and report each rule's outcome.

    Column rules run as one DuckDB query over the table or dataset (a dataset is streamed, never loaded
    whole); custom rules stream record batches. A rule that names a missing column, or whose values do not
    fit the column's type, fails with a message instead of stopping the report.

    Args:
        data: A pyarrow Table or Dataset.
        rules: The rules, as built by `cairn.data.rules` or loaded from YAML.
        examples: At most this many failing values (or rows, for custom rules) per rule.
        memory_limit: DuckDB's memory limit, such as "512MB".
        threads: DuckDB worker threads (default: DuckDB's choice, one per core).

    Returns:
        The report; `report.raise_for_failure()` turns a failure into an exception.
    """
    rules = list(rules)
    for position, rule in enumerate(rules):
        if not isinstance(rule, Rule):
            raise InvalidArgument(f"rules[{position}] is not a rule: {rule!r}")
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InvalidArgument(f"examples must be a whole number >= 0, got {examples!r}")
    if threads is not None and threads < 1:
        raise InvalidArgument(f"threads must be 1 or more, got {threads}")
    schema = data.schema
    outcomes: dict[int, Verdict] = {}
    column_rules: dict[int, Rule] = {}
    for position, rule in enumerate(rules):
        if isinstance(rule, ColumnPresent | RowCount | Custom):
            continue
        column = rule.column_name or ""
        if schema.get_field_index(column) < 0:
            outcomes[position] = (False, -1, f"column {column!r} is not in the data", [])
        else:
            column_rules[position] = rule
    row_count = _run_column_rules(data, column_rules, outcomes, examples, (memory_limit, threads))
    custom = {p: r for p, r in enumerate(rules) if isinstance(r, Custom)}
    outcomes.update(_run_custom(data, custom, examples))
    results = [_result(rule, position, outcomes, schema, row_count) for position, rule in enumerate(rules)]
    passed = all(r.passed or r.severity != "error" for r in results)
    return ValidationReport(passed, tuple(results), row_count, int(time.time() * 1000))


def _result(
    rule: Rule, position: int, outcomes: dict[int, Verdict], schema: pa.Schema, rows: int
) -> RuleResult:
    if isinstance(rule, ColumnPresent):
        passed, message = _column_present(rule, schema)
        outcome: Verdict = (passed, 0 if passed else rows, message, [])
    elif isinstance(rule, RowCount):
        passed, message = _row_count(rule, rows)
        outcome = (passed, 0 if passed else rows, message, [])
    else:
        outcome = outcomes[position]
    passed, failing, message, found = outcome
    return RuleResult(rule.to_dict(), passed, rows if failing < 0 else failing, rows, found, message)


def _quote(identifier: str) -> str:
    """`identifier` as a DuckDB quoted identifier, embedded double quotes doubled."""
    return '"' + identifier.replace('"', '""') + '"'


@contextmanager
def _connection(memory_limit: str, threads: int | None) -> Iterator[duckdb.DuckDBPyConnection]:
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit}
    if threads is not None:
        config["threads"] = threads
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as error:
        raise InvalidArgument(
            f"memory_limit {memory_limit!r} or threads {threads!r} not accepted: {error}"
        ) from error
    try:
        con.execute("SET TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def _register(con: duckdb.DuckDBPyConnection, data: TabularData, columns: list[str]) -> dict[str, str]:
    """Register the columns under `_VIEW`; returns Arrow name -> quoted DuckDB name (DuckDB may rename)."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        con.register(_VIEW, data.select(columns))
    else:
        con.register(_VIEW, data.replace_schema(pa.schema([data.schema.field(c) for c in columns])))
    description = con.execute(f"SELECT * FROM {_VIEW} LIMIT 0").description
    return {arrow: _quote(str(duck[0])) for arrow, duck in zip(columns, description, strict=True)}


def _run_column_rules(
    data: TabularData,
    rules: dict[int, Rule],
    outcomes: dict[int, Verdict],
    examples: int,
    limits: tuple[str, int | None],
) -> int:
    """Check column rules with one shared DuckDB query (rule by rule if it fails); return the row count."""
    import duckdb

    if not rules:
        return _count_rows(data)
    with _connection(*limits) as con:
        names = _register(con, data, sorted({rule.column_name or "" for rule in rules.values()}))
        plans: dict[int, _Plan] = {}
        for position, rule in rules.items():
            column = rule.column_name or ""
            try:
                plans[position] = _plan(rule, data.schema.field(column).type, names[column])
            except _Mismatch as error:
                outcomes[position] = (False, -1, str(error), [])
        try:
            row_count, values = _aggregate(con, list(plans.values()))
            shared: list[list[Any]] | None = values
        except duckdb.Error:
            row_count, shared = _aggregate(con, [])[0], None
        for index, (position, plan) in enumerate(plans.items()):
            try:
                own = shared[index] if shared is not None else _aggregate(con, [plan])[1][0]
                passed, failing, message = plan.verdict(own, row_count)
                found = _examples(con, plan.examples, examples) if failing > 0 and examples else []
            except duckdb.Error as error:
                outcomes[position] = (False, -1, f"could not be checked: {error}".strip(), [])
            else:
                outcomes[position] = (passed, failing, message, found)
    return row_count


def _aggregate(con: duckdb.DuckDBPyConnection, plans: Sequence[_Plan]) -> tuple[int, list[list[Any]]]:
    """One scan: the row count and, per plan, the values of its aggregates."""
    parts = [sql for plan in plans for sql in plan.aggregates]
    select = ", ".join(["COUNT(*)", *(text for text, _ in parts)])
    params = [value for _, bound in parts for value in bound]
    row = con.execute(f"SELECT {select} FROM {_VIEW}", params).fetchone()
    assert row is not None  # an aggregate query always returns one row
    values: list[list[Any]] = []
    offset = 1
    for plan in plans:
        values.append(list(row[offset : offset + len(plan.aggregates)]))
        offset += len(plan.aggregates)
    return int(row[0]), values


def _examples(con: duckdb.DuckDBPyConnection, query: Sql | None, limit: int) -> list[Any]:
    """The most frequent failing values (ties by value), JSON-able."""
    if query is None:
        return []
    text, params = query
    rows = con.execute(f"{text} LIMIT {int(limit)}", list(params)).fetchall()
    return [_json(row[0]) for row in rows]


def _count_rows(data: TabularData) -> int:
    import pyarrow as pa

    return data.num_rows if isinstance(data, pa.Table) else int(data.count_rows())


def _json(value: Any) -> Any:
    """A value read from the data in a JSON-able form."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    return str(value)


def _plan(rule: Rule, data_type: pa.DataType, column: str) -> _Plan:
    """The aggregates, verdict and examples query of a column rule; `column` is the quoted DuckDB name."""
    if isinstance(rule, NotNull):
        return _Plan((_sql(f"COUNT(*) FILTER (WHERE {column} IS NULL)"),), _not_null_verdict(rule))
    if isinstance(rule, Unique):
        examples = (
            f"SELECT {column} FROM {_VIEW} WHERE {column} IS NOT NULL GROUP BY {column} "
            f"HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC, {column}",
            (),
        )
        return _Plan((_sql(f"COUNT({column}) - COUNT(DISTINCT {column})"),), _unique_verdict, examples)
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
        f"SELECT {column} FROM {_VIEW} WHERE {predicate} GROUP BY {column} ORDER BY COUNT(*) DESC, {column}",
        params,
    )
    return _Plan(((f"COUNT(*) FILTER (WHERE {predicate})", params),), _count_verdict(described), examples)


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
    nan = f"isnan({column}) OR " if pat.is_floating(_value_type(data_type)) else ""
    predicate = f"{column} IS NOT NULL AND ({nan}NOT ({' AND '.join(tests)}))"
    left, right = ("[", "]") if rule.inclusive else ("(", ")")
    low = "-inf" if rule.min is None else _show(rule.min)
    high = "inf" if rule.max is None else _show(rule.max)
    return (predicate, tuple(params)), f"outside {left}{low}, {high}{right}"


def _show(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else repr(value)


def _fresh_plan(rule: Fresh, data_type: pa.DataType, column: str) -> _Plan:
    import pyarrow.types as pat

    if not (pat.is_timestamp(data_type) or pat.is_date(data_type)):
        raise _Mismatch(
            f"column {rule.column!r} has type {data_type}; fresh needs a timestamp or date column"
        )
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
    return _Plan(aggregates, verdict, _sql(f"SELECT MAX({column}) FROM {_VIEW}"))


def _utc(value: dt.date) -> dt.datetime:
    """A date or datetime as an aware UTC datetime (naive values are read as UTC)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _value_type(data_type: pa.DataType) -> pa.DataType:
    import pyarrow.types as pat

    return data_type.value_type if pat.is_dictionary(data_type) else data_type


def _coerce(value: Any, data_type: pa.DataType, column: str) -> Any:
    """`value` as a Python value DuckDB compares with a column of `data_type`, or `_Mismatch`."""
    import pyarrow.types as pat

    kind = _value_type(data_type)
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
        raise _Mismatch(f"column {column!r} has type {data_type}, which this rule cannot check")
    if not fits:
        raise _Mismatch(f"value {value!r} does not fit column {column!r} of type {data_type}")
    return value


def _temporal(value: Any, kind: pa.DataType, column: str) -> dt.date:
    import pyarrow.types as pat

    moment: dt.date
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError as error:
        raise _Mismatch(f"value {value!r} is not an ISO date or time for column {column!r}") from error
    if not isinstance(moment, dt.date):
        raise _Mismatch(f"value {value!r} does not fit column {column!r} of type {kind}")
    if pat.is_date(kind) or not isinstance(moment, dt.datetime):
        return moment
    if kind.tz is not None:
        return _utc(moment)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


_KIND_TESTS: dict[str, tuple[str, ...]] = {
    "integer": ("is_integer",),
    "float": ("is_floating",),
    "numeric": ("is_integer", "is_floating", "is_decimal"),
    "string": ("is_string", "is_large_string", "is_string_view"),
    "boolean": ("is_boolean",),
    "timestamp": ("is_timestamp",),
    "date": ("is_date",),
}


def _column_present(rule: ColumnPresent, schema: pa.Schema) -> tuple[bool, str]:
    import pyarrow.types as pat

    if rule.column not in schema.names:
        return False, f"column {rule.column!r} is not in the data"
    actual = schema.field(schema.names.index(rule.column)).type
    if rule.type is None:
        return True, f"column {rule.column!r} is present with type {actual}"
    tests = _KIND_TESTS.get(rule.type)
    if tests is not None:
        passed = any(getattr(pat, test)(_value_type(actual)) for test in tests)
    else:
        passed = str(actual) == rule.type.strip()
    verb = "has" if passed else "has type"
    return passed, f"column {rule.column!r} {verb} {actual}; expected {rule.type}"


def _row_count(rule: RowCount, rows: int) -> tuple[bool, str]:
    low = 0 if rule.min is None else rule.min
    passed = rows >= low and (rule.max is None or rows <= rule.max)
    expected = f"at least {low}" if rule.max is None else f"between {low} and {rule.max}"
    return passed, f"{rows} rows; expected {expected}"


class _CustomRun:
    """One custom rule's running totals while batches stream past."""

    def __init__(self, rule: Custom, limit: int) -> None:
        self.rule = rule
        self.limit = limit
        self.rows = 0
        self.failing = 0
        self.examples: list[Any] = []
        self.error: str | None = None

    def feed(self, batch: pa.RecordBatch) -> None:
        """Run the check on one batch and add up its failures."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.error is not None:
            return
        part = batch.select(list(self.rule.columns)) if self.rule.columns is not None else batch
        self.rows += part.num_rows
        try:
            outcome: Any = self.rule.fn(part)
        except Exception as error:  # the user's code: report it as the rule's failure
            self.error = f"custom check raised {type(error).__name__}: {error}"
            return
        if isinstance(outcome, numbers.Integral) and not isinstance(outcome, bool):
            if not 0 <= int(outcome) <= part.num_rows:
                self.error = f"custom check counted {outcome} failing rows in a batch of {part.num_rows}"
            self.failing += int(outcome)
            return
        if isinstance(outcome, pa.ChunkedArray):
            outcome = outcome.combine_chunks()
        if not isinstance(outcome, pa.Array) or outcome.type != pa.bool_() or len(outcome) != part.num_rows:
            self.error = (
                f"custom check returned {type(outcome).__name__}; expected a boolean array of "
                f"{part.num_rows} values or a count of failing rows"
            )
            return
        passing = outcome.fill_null(False)
        bad = part.num_rows - int(pc.sum(passing).as_py() or 0)
        self.failing += bad
        room = self.limit - len(self.examples)
        if bad and room > 0:
            rows = part.filter(pc.invert(passing)).slice(0, room).to_pylist()
            self.examples.extend(_json(row) for row in rows)

    def verdict(self) -> Verdict:
        """The rule's outcome once every batch was seen."""
        if self.error is not None:
            return False, -1, self.error, []
        if self.failing:
            return False, self.failing, f"{self.failing} of {self.rows} rows fail the check", self.examples
        return True, 0, f"all {self.rows} rows pass the check", []


def _run_custom(data: TabularData, rules: dict[int, Custom], examples: int) -> dict[int, Verdict]:
    """Stream the data once for all custom rules, reading only the columns they need."""
    import pyarrow as pa

    outcomes: dict[int, Verdict] = {}
    runs: dict[int, _CustomRun] = {}
    names = data.schema.names
    for position, rule in rules.items():
        missing = [column for column in rule.columns or () if column not in names]
        if missing:
            outcomes[position] = (False, -1, f"columns {missing} are not in the data", [])
        else:
            runs[position] = _CustomRun(rule, examples)
    if not runs:
        return outcomes
    wanted: list[str] | None = None
    if all(run.rule.columns is not None for run in runs.values()):
        needed = {column for run in runs.values() for column in run.rule.columns or ()}
        wanted = [name for name in names if name in needed]
    if isinstance(data, pa.Table):
        batches = (data if wanted is None else data.select(wanted)).to_batches(max_chunksize=_BATCH_ROWS)
    else:
        batches = data.to_batches(columns=wanted, batch_size=_BATCH_ROWS)
    for batch in batches:
        for run in runs.values():
            run.feed(batch)
    outcomes.update({position: run.verdict() for position, run in runs.items()})
    return outcomes
