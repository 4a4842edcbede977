"""Running validation rules over a table or dataset with DuckDB, and the report they produce."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.data.custom_rule_checks import Verdict, json_value, run_custom_rules
from cairn.data.duckdb_session import duckdb_session
from cairn.data.rule_sql import VIEW, Mismatch, Plan, Sql, plan_column_rule, quote, value_type
from cairn.data.rules import ColumnPresent, Custom, RowCount, Rule
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

__all__ = ["RuleResult", "ValidationFailed", "ValidationReport", "validate"]


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
    outcomes.update(run_custom_rules(data, custom, examples))
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


def _register(con: duckdb.DuckDBPyConnection, data: TabularData, columns: list[str]) -> dict[str, str]:
    """Register the columns under `VIEW`; returns Arrow name -> quoted DuckDB name (DuckDB may rename)."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        con.register(VIEW, data.select(columns))
    else:
        con.register(VIEW, data.replace_schema(pa.schema([data.schema.field(c) for c in columns])))
    description = con.execute(f"SELECT * FROM {VIEW} LIMIT 0").description
    return {arrow: quote(str(duck[0])) for arrow, duck in zip(columns, description, strict=True)}


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
    with duckdb_session(*limits) as con:
        names = _register(con, data, sorted({rule.column_name or "" for rule in rules.values()}))
        plans: dict[int, Plan] = {}
        for position, rule in rules.items():
            column = rule.column_name or ""
            try:
                plans[position] = plan_column_rule(rule, data.schema.field(column).type, names[column])
            except Mismatch as error:
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


def _aggregate(con: duckdb.DuckDBPyConnection, plans: Sequence[Plan]) -> tuple[int, list[list[Any]]]:
    """One scan: the row count and, per plan, the values of its aggregates."""
    parts = [sql for plan in plans for sql in plan.aggregates]
    select = ", ".join(["COUNT(*)", *(text for text, _ in parts)])
    params = [value for _, bound in parts for value in bound]
    row = con.execute(f"SELECT {select} FROM {VIEW}", params).fetchone()
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
    return [json_value(row[0]) for row in rows]


def _count_rows(data: TabularData) -> int:
    import pyarrow as pa

    return data.num_rows if isinstance(data, pa.Table) else int(data.count_rows())


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
        passed = any(getattr(pat, test)(value_type(actual)) for test in tests)
    else:
        passed = str(actual) == rule.type.strip()
    verb = "has" if passed else "has type"
    return passed, f"column {rule.column!r} {verb} {actual}; expected {rule.type}"


def _row_count(rule: RowCount, rows: int) -> tuple[bool, str]:
    low = 0 if rule.min is None else rule.min
    passed = rows >= low and (rule.max is None or rows <= rule.max)
    expected = f"at least {low}" if rule.max is None else f"between {low} and {rule.max}"
    return passed, f"{rows} rows; expected {expected}"
