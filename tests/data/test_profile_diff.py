from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from cairn.data.distribution_shift import bucket_shares, population_stability_index, total_variation
from cairn.data.profile import ColumnProfile, Histogram, profile_data
from cairn.data.profile_diff import ProfileDiff, diff_profiles, schema_of
from cairn.errors import InvalidArgument


def _sample(seed: int, shift: float = 0.0, n: int = 5000) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "v": rng.normal(loc=shift, size=n),
            "colour": pa.array(rng.choice(["red", "green", "blue"], size=n)),
            "flag": pa.array(rng.random(n) < 0.3),
        }
    )


def _diff(old: pa.Table, new: pa.Table) -> ProfileDiff:
    return diff_profiles(profile_data(old), profile_data(new), schema_of(old), schema_of(new))


def test_identical_data_does_not_shift() -> None:
    table = _sample(1)
    diff = _diff(table, table)
    assert not diff.schema_changed
    assert diff.row_count_change == 0 and diff.row_count_change_relative == 0.0
    assert {shift.name: shift.score for shift in diff.shifts} == {"v": 0.0, "colour": 0.0, "flag": 0.0}
    assert all(shift.null_rate_change == 0.0 for shift in diff.shifts)


def test_another_sample_of_the_same_distribution_barely_shifts() -> None:
    diff = _diff(_sample(1), _sample(2))
    v = next(shift for shift in diff.shifts if shift.name == "v")
    assert v.metric == "psi" and v.score is not None and v.score < 0.05


def test_shifted_normal_has_large_psi_and_ranks_first() -> None:
    diff = _diff(_sample(1), _sample(2, shift=1.0))
    top = diff.most_shifted(1)[0]
    assert top.name == "v" and top.metric == "psi"
    assert top.score is not None and top.score > 0.2
    assert len(diff.most_shifted(10)) == 3


def test_schema_and_row_count_changes() -> None:
    old = pa.table({"a": [1, 2], "b": ["x", "y"], "gone": [1.0, 2.0]})
    new = pa.table({"a": [1.5, 2.5, 3.5], "b": ["x", None, "y"], "extra": [1, 2, 3]})
    diff = _diff(old, new)
    assert diff.added == ("extra",) and diff.removed == ("gone",)
    assert [(c.name, c.old_type, c.new_type) for c in diff.type_changes] == [("a", "int64", "double")]
    assert (diff.row_count_change, diff.row_count_change_relative) == (1, 0.5)
    b = next(shift for shift in diff.shifts if shift.name == "b")
    assert b.null_rate_change == pytest.approx(1 / 3)


def test_string_shift_is_total_variation_of_top_value_shares() -> None:
    old = pa.table({"c": ["a", "a", "b", "b"]})
    new = pa.table({"c": ["a", "a", "a", "a"]})
    (shift,) = _diff(old, new).shifts
    assert (shift.metric, shift.score) == ("tv", 0.5)


def test_total_variation_counts_the_rest_as_other() -> None:
    assert total_variation({"a": 0.5}, {"a": 0.5}) == 0.0
    assert total_variation({"a": 0.6, "b": 0.2}, {"a": 0.6, "c": 0.2}) == pytest.approx(0.2)
    assert total_variation({"a": 0.5}, {"b": 0.5}) == pytest.approx(0.5)


def test_psi_matches_the_formula() -> None:
    expected, actual = [0.5, 0.5], [0.25, 0.75]
    value = 0.25 * math.log(0.75 / 0.5) - 0.25 * math.log(0.25 / 0.5)
    assert population_stability_index(expected, actual) == pytest.approx(value)
    assert population_stability_index([1.0, 0.0], [1.0, 0.0]) == 0.0


def _numeric(histogram: Histogram | None, **extra: Any) -> ColumnProfile:
    return ColumnProfile(
        name="v", type="double", kind="numeric", count=4, null_count=0, histogram=histogram, **extra
    )


def test_rebucketing_spreads_values_evenly_inside_buckets() -> None:
    reference = Histogram(edges=(0.0, 1.0, 2.0), counts=(2, 2))
    wide = _numeric(Histogram(edges=(0.0, 2.0), counts=(4,)))
    assert bucket_shares(reference, wide) == pytest.approx([0.0, 0.5, 0.5, 0.0])
    beyond = _numeric(Histogram(edges=(1.0, 3.0), counts=(4,)))
    assert bucket_shares(reference, beyond) == pytest.approx([0.0, 0.0, 0.5, 0.5])
    point = _numeric(Histogram(edges=(2.0, 2.0), counts=(4,)))
    assert bucket_shares(reference, point) == pytest.approx([0.0, 0.0, 1.0, 0.0])


def test_same_edges_use_the_counts_exactly() -> None:
    reference = Histogram(edges=(0.0, 1.0, 2.0), counts=(2, 2))
    served = _numeric(Histogram(edges=(0.0, 1.0, 2.0), counts=(1, 1), below=1, above=1))
    assert bucket_shares(reference, served) == [0.25, 0.25, 0.25, 0.25]


def test_quantiles_stand_in_for_a_missing_histogram() -> None:
    reference = Histogram(edges=(0.0, 5.0, 10.0), counts=(1, 1))
    quantiles = {"p1": 0.1, "p5": 0.5, "p25": 2.5, "p50": 5.0, "p75": 7.5, "p95": 9.5, "p99": 9.9}
    profile = _numeric(None, min=0.0, max=10.0, quantiles=quantiles)
    assert bucket_shares(reference, profile) == pytest.approx([0.0, 0.5, 0.5, 0.0])
    assert bucket_shares(reference, _numeric(None)) is None


def test_json_form_round_trips() -> None:
    diff = _diff(_sample(1, n=500), _sample(2, shift=0.5, n=400))
    data = json.loads(json.dumps(diff.to_dict(), allow_nan=False))
    assert ProfileDiff.from_dict(data) == diff
    assert list(data) == [
        "added",
        "removed",
        "type_changes",
        "old_row_count",
        "new_row_count",
        "row_count_change",
        "row_count_change_relative",
        "shifts",
    ]


def test_schemas_may_come_from_the_profiles() -> None:
    old = profile_data(pa.table({"a": [1]}))
    new = profile_data(pa.table({"a": ["1"]}))
    diff = diff_profiles(old, new)
    assert [(c.old_type, c.new_type) for c in diff.type_changes] == [("int64", "string")]
    assert diff.shifts[0].score is None
    assert diff.most_shifted() == ()


def test_malformed_schema_is_refused() -> None:
    profile = profile_data(pa.table({"a": [1]}))
    with pytest.raises(InvalidArgument, match="schema"):
        diff_profiles(profile, profile, {"fields": []}, None)


def test_schema_of_lists_name_type_nullable() -> None:
    schema = pa.schema([pa.field("a", pa.int32(), nullable=False), pa.field("b c", pa.string())])
    assert schema_of(schema.empty_table()) == {
        "columns": [
            {"name": "a", "type": "int32", "nullable": False},
            {"name": "b c", "type": "string", "nullable": True},
        ]
    }
