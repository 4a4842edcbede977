from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data import rules
from cairn.data.validation import RuleResult, ValidationFailed, ValidationReport, validate
from cairn.errors import InvalidArgument

HOSTILE = 'x"; DROP TABLE cairn_validated; --'


def _table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 3, 5, 6, 6, 6], pa.int64()),
            "age": pa.array([10, 200, None, -1, 40, 50, 60, 70], pa.int32()),
            "score": [0.5, float("nan"), 1.5, None, 0.0, 0.9, 1.0, 0.2],
            "email": ["a@x.io", None, "bad", "c@y.io", "bad", None, "d@z.io", "e@z.io"],
            "country": ["DE", "FR", "XX", "DE", None, "FR", "YY", "DE"],
            HOSTILE: ["a", "b", "a", "c", "d", "e", "f", "g"],
            "ts": pa.array(
                [dt.datetime(2024, 1, day, 12) for day in range(1, 9)], pa.timestamp("us", tz="UTC")
            ),
            "day": pa.array([dt.date(2024, 1, day) for day in range(1, 9)], pa.date32()),
        }
    )


def _by_name(report: ValidationReport) -> dict[str, RuleResult]:
    return {result.name: result for result in report.results}


def _rule_set() -> list[rules.Rule]:
    return [
        rules.column_present("age", "integer"),
        rules.column_present("email", "int64", name="email is int"),
        rules.column_present("ts", "timestamp[us, tz=UTC]"),
        rules.not_null("email"),
        rules.not_null("email", max_share=0.25, name="email mostly present"),
        rules.unique("id"),
        rules.unique(HOSTILE),
        rules.in_range("age", 0, 130),
        rules.in_range("score", min=0.0, max=1.0, inclusive=False),
        rules.in_set("country", ["DE", "FR"]),
        rules.matches("email", r"[^@]+@[^@]+\.[a-z]+"),
        rules.row_count(min=10, severity="warning"),
        rules.row_count(max=8, name="at most 8"),
        rules.fresh("ts", "2d", now=dt.datetime(2024, 1, 10, tzinfo=dt.UTC)),
        rules.fresh("day", "1d", now=dt.datetime(2024, 1, 20), name="day stale"),
        rules.in_range("ts", "2024-01-03", dt.datetime(2024, 1, 6, 23, tzinfo=dt.UTC)),
    ]


def test_each_rule_reports_known_failing_counts_and_examples() -> None:
    found = _by_name(validate(_table(), _rule_set(), examples=5))
    expected = {
        "column_present(age)": (True, 0),
        "email is int": (False, 8),
        "column_present(ts)": (True, 0),
        "not_null(email)": (False, 2),
        "email mostly present": (True, 2),
        "unique(id)": (False, 3),
        f"unique({HOSTILE})": (False, 1),
        "in_range(age)": (False, 2),
        "in_range(score)": (False, 4),
        "in_set(country)": (False, 2),
        "matches(email)": (False, 2),
        "row_count": (False, 8),
        "at most 8": (True, 0),
        "fresh(ts)": (True, 0),
        "day stale": (False, 8),
        "in_range(ts)": (False, 4),
    }
    assert {name: (r.passed, r.failing_rows) for name, r in found.items() if name in expected} == expected
    assert found["unique(id)"].examples == [6, 3]
    assert found["in_range(age)"].examples == [-1, 200]
    assert found["in_range(score)"].examples == [0.0, 1.0, 1.5, "nan"]
    assert found["in_set(country)"].examples == ["XX", "YY"]
    assert found["matches(email)"].examples == ["bad"]
    assert found["day stale"].examples == ["2024-01-08"]
    assert all(r.checked_rows == 8 for r in found.values())
    assert "2 of 8 rows are null" in found["not_null(email)"].message


def test_report_passes_when_only_warnings_fail() -> None:
    table = _table()
    report = validate(table, [rules.row_count(min=100, severity="warning"), rules.not_null("id")])
    assert report.passed
    assert [r.passed for r in report.results] == [False, True]
    report.raise_for_failure()


def test_raise_for_failure_names_the_failed_error_rules() -> None:
    report = validate(_table(), [rules.not_null("email"), rules.unique("id", severity="warning")])
    assert not report.passed
    with pytest.raises(ValidationFailed) as caught:
        report.raise_for_failure()
    assert isinstance(caught.value, InvalidArgument)
    assert "not_null(email)" in caught.value.message
    assert "unique(id)" not in caught.value.message
    assert caught.value.report is report


def test_table_and_parquet_dataset_give_the_same_report(tmp_path: Path) -> None:
    table = _table()
    for part, start in enumerate(range(0, 8, 3)):
        pq.write_table(table.slice(start, 3), tmp_path / f"part-{part}.parquet")
    dataset = pads.dataset(tmp_path, format="parquet")
    checks = [*_rule_set(), rules.custom("id odd", lambda b: pc.equal(pc.bit_wise_and(b["id"], 1), 1))]
    from_table = validate(table, checks).to_dict()
    from_dataset = validate(dataset, checks, memory_limit="256MB", threads=1).to_dict()
    from_table.pop("created_at")
    from_dataset.pop("created_at")
    assert from_table == from_dataset


def test_missing_column_and_type_mismatch_fail_without_stopping_the_report() -> None:
    report = validate(
        _table(),
        [
            rules.in_range("nope", 0, 1),
            rules.in_set("age", ["old"]),
            rules.fresh("email", "1d"),
            rules.custom("needs nope", lambda b: 0, columns=["nope"]),
            rules.not_null("id"),
        ],
    )
    results = report.results
    assert [r.passed for r in results] == [False, False, False, False, True]
    assert results[0].message == "column 'nope' is not in the data"
    assert "'old'" in results[1].message and "'age'" in results[1].message
    assert "timestamp or date" in results[2].message
    assert "nope" in results[3].message
    assert results[0].failing_rows == 8


def test_a_rule_duckdb_rejects_fails_alone() -> None:
    # Python's re accepts the lookahead; DuckDB's RE2 does not, so only this rule fails to run.
    report = validate(_table(), [rules.matches("email", r"(?=a).*"), rules.unique("id")])
    bad, good = report.results
    assert not bad.passed and "could not be checked" in bad.message
    assert not good.passed and good.failing_rows == 3


def test_custom_rules_with_masks_counts_and_broken_functions() -> None:
    def raises(batch: pa.RecordBatch) -> int:
        raise ValueError("boom")

    report = validate(
        _table(),
        [
            rules.custom("age set", lambda b: pc.is_valid(b["age"]), columns=["age"]),
            rules.custom("count", lambda b: 3),
            rules.custom("raises", raises),
            rules.custom("wrong type", lambda b: "yes"),
            rules.custom("too many", lambda b: 99),
        ],
        examples=2,
    )
    mask, count, broken, wrong, too_many = report.results
    assert (mask.passed, mask.failing_rows, mask.examples) == (False, 1, [{"age": None}])
    assert (count.passed, count.failing_rows) == (False, 3)
    assert not broken.passed and "ValueError: boom" in broken.message
    assert not wrong.passed and "expected a boolean array" in wrong.message
    assert not too_many.passed and "99" in too_many.message


def test_custom_examples_are_json_rows() -> None:
    report = validate(
        _table(), [rules.custom("late", lambda b: pc.less(b["day"], dt.date(2024, 1, 2)))], examples=3
    )
    (result,) = report.results
    assert result.failing_rows == 7
    assert len(result.examples) == 3
    assert result.examples[0]["day"] == "2024-01-02"
    assert result.examples[0]["ts"] == "2024-01-02T12:00:00+00:00"
    json.dumps(result.examples)


def test_fresh_reads_naive_timestamps_as_utc() -> None:
    table = pa.table({"t": pa.array([dt.datetime(2024, 1, 1, 0, 0)], pa.timestamp("s"))})
    now = dt.datetime(2024, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=2)))  # 11:00 UTC
    assert validate(table, [rules.fresh("t", "12h", now=now)]).passed
    assert not validate(table, [rules.fresh("t", "10h", now=now)]).passed
    empty = pa.table({"t": pa.array([None], pa.timestamp("s"))})
    (result,) = validate(empty, [rules.fresh("t", "1d")]).results
    assert not result.passed and "no values" in result.message


def test_empty_table_and_examples_zero() -> None:
    empty = _table().slice(0, 0)
    report = validate(empty, [rules.not_null("email"), rules.unique("id"), rules.row_count(min=1)])
    assert report.row_count == 0
    assert [r.passed for r in report.results] == [True, True, False]
    report = validate(_table(), [rules.unique("id")], examples=0)
    assert report.results[0].examples == []


def test_report_json_round_trip() -> None:
    report = validate(_table(), _rule_set())
    document: dict[str, Any] = json.loads(json.dumps(report.to_dict()))
    assert list(document) == ["passed", "row_count", "created_at", "results"]
    assert ValidationReport.from_dict(document) == report
    with pytest.raises(InvalidArgument, match="results"):
        ValidationReport.from_dict({"passed": True})


def test_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match="rules\\[0\\]"):
        validate(_table(), ["not a rule"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match="examples"):
        validate(_table(), [], examples=-1)
    with pytest.raises(InvalidArgument, match="memory_limit"):
        validate(_table(), [rules.not_null("id")], memory_limit="lots")


def test_columns_differing_only_in_case_are_kept_apart() -> None:
    table = pa.table({"A": [1, 1, 2], "a": [1, 2, 3]})
    report = validate(table, [rules.unique("A"), rules.unique("a"), rules.in_range("a", max=2)])
    assert [(r.passed, r.failing_rows) for r in report.results] == [(False, 1), (True, 0), (False, 1)]
