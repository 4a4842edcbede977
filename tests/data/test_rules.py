from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest

from cairn.data import rules
from cairn.errors import InvalidArgument


def test_builders_give_default_names_and_severity() -> None:
    assert rules.not_null("email").name == "not_null(email)"
    assert rules.row_count(min=1).name == "row_count"
    assert rules.unique("id", name="primary key").name == "primary key"
    assert rules.in_set("c", ["a"], severity="warning").severity == "warning"
    assert rules.not_null("email").severity == "error"


def test_to_dict_is_json_and_ordered() -> None:
    rule = rules.in_range("when", min=dt.date(2024, 1, 1), max=dt.date(2024, 2, 1))
    data = rule.to_dict()
    assert list(data) == ["kind", "name", "severity", "column", "min", "max", "inclusive"]
    assert data["min"] == "2024-01-01"
    moment = rules.in_range("t", max=dt.datetime(2024, 2, 1, tzinfo=dt.UTC)).to_dict()
    assert moment["max"] == "2024-02-01T00:00:00+00:00"
    assert json.loads(json.dumps(data)) == data
    fresh = rules.fresh("ts", dt.timedelta(hours=36)).to_dict()
    assert fresh["max_age"] == "36h"
    assert rules.custom("c", lambda batch: 0, columns=["a"]).to_dict()["columns"] == ["a"]


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: rules.not_null(""), "column"),
        (lambda: rules.not_null("x", max_share=1.5), "max_share"),
        (lambda: rules.not_null("x", max_share=True), "max_share"),
        (lambda: rules.not_null("x", severity="fatal"), "severity"),
        (lambda: rules.unique("x", name=" "), "name"),
        (lambda: rules.in_range("x"), "min, max"),
        (lambda: rules.in_range("x", 5, 1), "greater than max"),
        (lambda: rules.in_range("x", "a", 1), "do not compare"),
        (lambda: rules.in_range("x", float("nan")), "finite"),
        (lambda: rules.in_range("x", True), "number"),
        (lambda: rules.in_set("x", []), "empty"),
        (lambda: rules.in_set("x", "abc"), "list"),
        (lambda: rules.in_set("x", [[1]]), "each value"),  # type: ignore[list-item]
        (lambda: rules.matches("x", "(unclosed"), "(unclosed"),
        (lambda: rules.row_count(min=-1), "min"),
        (lambda: rules.row_count(min=5, max=2), "greater than max"),
        (lambda: rules.row_count(), "min, max"),
        (lambda: rules.fresh("x", "7 days"), "7 days"),
        (lambda: rules.fresh("x", dt.timedelta(0)), "positive"),
        (lambda: rules.fresh("x", dt.timedelta(seconds=1.5)), "whole number"),
        (lambda: rules.fresh("x", "1d", now=dt.date(2024, 1, 1)), "now"),  # type: ignore[arg-type]
        (lambda: rules.custom("c", "not callable"), "callable"),  # type: ignore[arg-type]
        (lambda: rules.custom("", lambda batch: 0), "name"),
        (lambda: rules.custom("c", lambda batch: 0, columns="a"), "columns"),
        (lambda: rules.column_present("x", type=""), "type"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(build: object, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        build()  # type: ignore[operator]
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("2w", 1209600)]
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert rules.parse_duration(text) == dt.timedelta(seconds=seconds)


def test_durations_format_in_the_largest_whole_unit() -> None:
    assert rules.format_duration(dt.timedelta(days=7)) == "7d"
    assert rules.format_duration(dt.timedelta(minutes=90)) == "90m"
    assert rules.format_duration(dt.timedelta(seconds=61)) == "61s"


def test_rules_are_frozen_and_comparable() -> None:
    rule = rules.in_set("c", ["a", "b"])
    assert rule == rules.in_set("c", ("a", "b"))
    with pytest.raises(AttributeError):
        rule.column = "d"  # type: ignore[misc]


def test_custom_rule_keeps_its_function() -> None:
    def check(batch: pa.RecordBatch) -> int:
        return 0

    rule = rules.custom("never fails", check)
    assert rule.fn is check and rule.columns is None and rule.name == "never fails"
