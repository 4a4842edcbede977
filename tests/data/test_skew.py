from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data.profile import profile_data
from cairn.data.profile_diff import schema_of
from cairn.data.skew import SkewReport, check_skew
from cairn.errors import InvalidArgument


def _training(n: int = 4000) -> pa.Table:
    rng = np.random.default_rng(11)
    return pa.table(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50_000, 10_000, n),
            "plan": pa.array(rng.choice(["basic", "pro"], n)),
        }
    )


def _check(training: pa.Table, serving: pa.Table | pads.Dataset, **kwargs: object) -> SkewReport:
    return check_skew(profile_data(training), schema_of(training), serving, **kwargs)  # type: ignore[arg-type]


def test_a_sample_of_the_training_data_is_ok() -> None:
    training = _training()
    report = _check(training, training.slice(0, 2000))
    assert report.status == "ok", report.to_dict()
    assert (report.training_rows, report.serving_rows) == (4000, 2000)
    age = report.column("age")
    assert age.metric == "psi" and age.score is not None and age.score < 0.05
    assert age.out_of_range_share == 0.0 and age.null_rate_delta == 0.0


def test_identical_data_has_zero_psi() -> None:
    training = _training()
    report = _check(training, training)
    assert report.column("income").score == 0.0
    assert report.column("plan").score == 0.0


def test_renamed_column_is_missing_and_unexpected() -> None:
    training = _training()
    serving = training.rename_columns(["age", "salary", "plan"])
    report = _check(training, serving)
    assert report.status == "fail"
    income = report.column("income")
    assert (income.status, income.missing, income.serving_type) == ("fail", True, None)
    salary = report.column("salary")
    assert (salary.status, salary.unexpected) == ("warn", True)
    assert report.column("age").status == "ok"


def test_out_of_range_shift_warns_with_exact_share() -> None:
    training = _training()
    income = np.concatenate([np.full(300, 500_000.0), np.full(700, 50_000.0)])
    serving = training.slice(0, 1000).set_column(1, "income", pa.array(income))
    column = _check(training, serving).column("income")
    assert column.status == "warn"
    assert column.out_of_range_share == pytest.approx(0.3)
    assert column.score is not None and column.score > 0.2
    assert any("outside the training range" in issue for issue in column.issues)


def test_shifted_distribution_inside_the_range_warns_by_psi() -> None:
    training = _training()
    rng = np.random.default_rng(5)
    serving = training.slice(0, 2000).set_column(1, "income", pa.array(rng.normal(60_000, 5_000, 2000)))
    column = _check(training, serving).column("income")
    assert column.status == "warn" and column.score is not None and column.score > 0.2


def test_kind_change_fails_and_type_change_within_a_kind_is_only_reported() -> None:
    training = _training()
    serving = pa.table(
        {
            "age": training.column("age").cast(pa.float64()),
            "income": training.column("income").cast(pa.string()),
            "plan": training.column("plan"),
        }
    )
    report = _check(training, serving)
    age, income = report.column("age"), report.column("income")
    assert (age.status, age.type_mismatch) == ("ok", True)
    assert (income.status, income.type_mismatch) == ("fail", True)
    assert "kind changed" in income.issues[0]


def test_null_rate_and_category_shift_warn() -> None:
    training = _training(1000)
    plans = pa.array(["basic"] * 500 + [None] * 500)
    serving = training.set_column(2, "plan", plans)
    column = _check(training, serving).column("plan")
    assert column.status == "warn"
    assert column.null_rate_delta == pytest.approx(0.5)
    assert column.metric == "tv" and column.score is not None and column.score > 0.2


def test_prediction_log_inputs_by_prefix(tmp_path: Path) -> None:
    training = _training()
    sample = training.slice(0, 600)
    log = pa.table(
        {
            "request_id": pa.array([f"r{i}" for i in range(600)]),
            "input_age": sample.column("age").cast(pa.float64()),
            "input_income": sample.column("income"),
            "input_plan": sample.column("plan"),
            "prediction": pa.array(np.zeros(600)),
        }
    )
    folder = tmp_path / "model=m" / "version=1"
    folder.mkdir(parents=True)
    pq.write_table(log.slice(0, 300), folder / "a.parquet")
    pq.write_table(log.slice(300), folder / "b.parquet")
    dataset = pads.dataset(tmp_path, format="parquet", partitioning="hive")
    report = _check(training, dataset, column_prefix="input_")
    assert [c.name for c in report.columns] == ["age", "income", "plan"]
    assert report.status == "ok", report.to_dict()
    assert report.serving_rows == 600
    with pytest.raises(InvalidArgument, match="input."):
        _check(training, dataset, column_prefix="input.")


def test_json_form_round_trips_and_thresholds_are_checked() -> None:
    training = _training(500)
    report = _check(training, training.rename_columns(["age", "x", "plan"]))
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert SkewReport.from_dict(data) == report
    with pytest.raises(InvalidArgument, match="psi_threshold"):
        _check(training, training, psi_threshold=-1.0)
