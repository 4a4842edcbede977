from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from cairn.data import rules
from cairn.data.profile import profile_data
from cairn.data.profile_diff import schema_of
from cairn.data.rule_suggestions import suggest_rules
from cairn.data.validation import validate
from cairn.errors import InvalidArgument


def _column(name: str, type_: str, kind: str, count: int, nulls: int, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "kind": kind, "count": count, "null_count": nulls, **extra}


PROFILE: dict[str, Any] = {
    "row_count": 1000,
    "columns": [
        _column("id", "int64", "numeric", 1000, 0, distinct_count=1004, min=1, max=1000),
        _column("age", "int32", "numeric", 990, 10, distinct_count=80, min=18, max=98),
        _column("temp", "double", "numeric", 1000, 0, distinct_count=900, min=-12.5, max=37.25),
        _column(
            "country",
            "string",
            "string",
            1000,
            0,
            distinct_count=3,
            top_values=[
                {"value": "FR", "count": 600},
                {"value": "DE", "count": 300},
                {"value": "AT", "count": 100},
            ],
        ),
        _column(
            "city",
            "string",
            "string",
            1000,
            0,
            distinct_count=15,
            top_values=[{"value": "Paris", "count": 400}, {"value": "Lyon", "count": 100}],
        ),
        _column(
            "email",
            "string",
            "string",
            600,
            400,
            distinct_count=598,
            top_values=[{"value": "a@x.io", "count": 1}, {"value": "b@x.io", "count": 1}],
        ),
        _column("flag", "bool", "boolean", 1000, 0, distinct_count=2),
        _column("empty", "double", "numeric", 0, 1000, distinct_count=0),
    ],
}
SCHEMA = {"columns": [{"name": c["name"], "type": c["type"], "nullable": True} for c in PROFILE["columns"]]}


def test_suggestions_from_a_sample_profile() -> None:
    assert suggest_rules(PROFILE, SCHEMA) == [
        rules.row_count(min=500, max=2000, severity="warning"),
        rules.column_present("id", "int64"),
        rules.not_null("id"),
        rules.unique("id"),
        rules.in_range("id", 0, 1100, severity="warning"),
        rules.column_present("age", "int32"),
        rules.not_null("age", max_share=0.025),
        rules.in_range("age", 10, 106, severity="warning"),
        rules.column_present("temp", "double"),
        rules.not_null("temp"),
        rules.in_range("temp", -17.5, 42.3, severity="warning"),
        rules.column_present("country", "string"),
        rules.not_null("country"),
        rules.in_set("country", ["AT", "DE", "FR"], severity="warning"),
        rules.column_present("city", "string"),
        rules.not_null("city"),
        rules.column_present("email", "string"),
        rules.not_null("email", max_share=0.61),
        rules.unique("email"),
        rules.column_present("flag", "bool"),
        rules.not_null("flag"),
        rules.column_present("empty", "double"),
    ]


def test_suggestions_are_deterministic_and_follow_schema_order() -> None:
    reordered = {"columns": list(reversed(SCHEMA["columns"]))}
    first = suggest_rules(PROFILE, reordered)
    assert first == suggest_rules(PROFILE, reordered)
    present = [r.column_name for r in first if isinstance(r, rules.ColumnPresent)]
    assert present == [c["name"] for c in reordered["columns"]]


def test_suggestions_hold_on_the_trusted_data() -> None:
    table = pa.table(
        {
            "id": list(range(300)),
            "amount": [i * 0.37 for i in range(300)],
            "kind": ["a", "b", "c"] * 100,
            "note": [None if i % 4 == 0 else f"n{i}" for i in range(300)],
            "constant": [7] * 300,
        }
    )
    suggested = suggest_rules(profile_data(table).to_dict(), schema_of(table))
    report = validate(table, suggested)
    assert report.passed and all(r.passed for r in report.results)
    kinds = {(r.kind, r.column_name) for r in suggested}
    assert {("unique", "id"), ("in_set", "kind"), ("in_range", "constant"), ("not_null", "note")} <= kinds
    assert ("unique", "kind") not in kinds


def test_profile_without_schema_uses_profile_types() -> None:
    suggested = suggest_rules(PROFILE)
    assert suggested[1] == rules.column_present("id", "int64")


def test_bad_inputs() -> None:
    with pytest.raises(InvalidArgument, match="row_count"):
        suggest_rules({"columns": []}, SCHEMA)
    with pytest.raises(InvalidArgument, match="schema"):
        suggest_rules(PROFILE, {"fields": []})
