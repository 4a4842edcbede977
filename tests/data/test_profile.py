from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data.profile import DatasetProfile, Histogram, equal_width_edges, profile_data
from cairn.errors import InvalidArgument


def _mixed_table() -> pa.Table:
    return pa.table(
        {
            "x": pa.array([1, 2, 3, 4, None], pa.int64()),
            "f": [1.0, float("nan"), 2.0, float("inf"), None],
            "s": ["a", "bb", "a", None, "ccc"],
            "b": [True, False, True, None, True],
            "ts": pa.array(
                [dt.datetime(2024, 1, i + 1, 12, tzinfo=dt.UTC) for i in range(5)],
                pa.timestamp("us", tz="Europe/Paris"),
            ),
            "day": pa.array([dt.date(2023, 5, i + 1) for i in range(5)], pa.date32()),
            "dec": pa.array(
                [decimal.Decimal("1.50"), None, decimal.Decimal("2.25"), None, None], pa.decimal128(10, 2)
            ),
            "lst": pa.array([[1], [2, 3], None, None, []]),
            "st": pa.array([{"k": 1}, None, {"k": 2}, {"k": 3}, None]),
            "empty": pa.array([None] * 5, pa.float64()),
        }
    )


def test_numeric_column_statistics_are_exact_on_a_small_table() -> None:
    profile = profile_data(_mixed_table(), bins=4)
    assert profile.row_count == 5
    x = profile.column("x")
    assert (x.kind, x.type, x.count, x.null_count, x.distinct_count) == ("numeric", "int64", 4, 1, 4)
    assert (x.min, x.max, x.mean) == (1, 4, 2.5)
    assert isinstance(x.min, int)
    assert x.std == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert x.histogram == Histogram(edges=(1.0, 1.75, 2.5, 3.25, 4.0), counts=(1, 1, 1, 1))
    assert x.quantiles is not None
    assert x.quantiles["p50"] == pytest.approx(2.5, abs=0.51)
    assert x.quantiles["p1"] == pytest.approx(1.0, abs=0.1)
    assert x.quantiles["p99"] == pytest.approx(4.0, abs=0.1)


def test_floats_keep_nan_and_infinity_out_of_the_statistics() -> None:
    f = profile_data(_mixed_table(), bins=2).column("f")
    assert (f.count, f.null_count, f.non_finite_count) == (4, 1, 2)
    assert (f.min, f.max, f.mean) == (1.0, 2.0, 1.5)
    assert f.histogram is not None
    assert f.histogram.counts == (1, 1)


def test_string_boolean_temporal_decimal_and_nested_columns() -> None:
    profile = profile_data(_mixed_table(), top_k=2)
    s = profile.column("s")
    assert (s.kind, s.count, s.null_count, s.distinct_count) == ("string", 4, 1, 3)
    assert (s.min_length, s.max_length, s.mean_length) == (1, 3, 1.75)
    assert s.top_values is not None
    assert s.top_values[0].value == "a" and s.top_values[0].count == 2
    assert len(s.top_values) == 2
    b = profile.column("b")
    assert (b.kind, b.true_count, b.count, b.distinct_count) == ("boolean", 3, 4, 2)
    ts = profile.column("ts")
    assert ts.kind == "temporal"
    assert ts.min == "2024-01-01T12:00:00+00:00" and ts.max == "2024-01-05T12:00:00+00:00"
    day = profile.column("day")
    assert (day.min, day.max) == ("2023-05-01", "2023-05-05")
    dec = profile.column("dec")
    assert (dec.kind, dec.min, dec.max, dec.mean, dec.null_count) == ("numeric", 1.5, 2.25, 1.875, 3)
    for name in ("lst", "st"):
        nested = profile.column(name)
        assert nested.kind == "nested" and nested.null_count == 2 and nested.count == 3
        assert nested.distinct_count is None and nested.min is None


def test_all_null_column_has_counts_and_no_statistics() -> None:
    empty = profile_data(_mixed_table()).column("empty")
    assert (empty.count, empty.null_count, empty.distinct_count) == (0, 5, 0)
    assert empty.min is None and empty.mean is None and empty.histogram is None and empty.quantiles is None


def test_empty_table_profiles_to_zero_rows() -> None:
    profile = profile_data(_mixed_table().slice(0, 0))
    assert profile.row_count == 0
    assert all(column.count == 0 and column.null_count == 0 for column in profile.columns)
    assert profile.column("s").top_values == ()
    assert profile_data(pa.table({})).row_count == 0


def test_json_form_round_trips_without_nan() -> None:
    profile = profile_data(_mixed_table())
    text = json.dumps(profile.to_dict(), allow_nan=False)
    again = DatasetProfile.from_dict(json.loads(text))
    assert again == profile
    assert list(profile.to_dict()["columns"][0])[:5] == ["name", "type", "kind", "count", "null_count"]


def test_names_with_quotes_spaces_and_case_collisions_stay_apart() -> None:
    table = pa.table({'we"ird name': [1, 2], "A": [10, 20], "a": [30, 40], "x') --": ["p", "q"]})
    profile = profile_data(table)
    assert [c.name for c in profile.columns] == ['we"ird name', "A", "a", "x') --"]
    assert profile.column('we"ird name').max == 2
    assert (profile.column("A").min, profile.column("a").min) == (10, 30)
    assert profile.column("x') --").distinct_count == 2


def test_wide_table_is_profiled_in_batches() -> None:
    table = pa.table({f"c{i}": pa.array(np.arange(50) + i) for i in range(200)})
    profile = profile_data(table, bins=5)
    assert len(profile.columns) == 200
    assert [(c.min, c.max) for c in profile.columns[::50]] == [(0, 49), (50, 99), (100, 149), (150, 199)]
    assert all(c.histogram is not None and sum(c.histogram.counts) == 50 for c in profile.columns)


def test_large_strings_and_dictionaries() -> None:
    long = "x" * 100_000
    table = pa.table(
        {
            "big": pa.array([long, "y", long], pa.large_string()),
            "cat": pa.array(["u", "v", "u"]).dictionary_encode(),
        }
    )
    profile = profile_data(table)
    assert profile.column("big").max_length == 100_000
    cat = profile.column("cat")
    assert cat.kind == "string"
    assert cat.top_values is not None and (cat.top_values[0].value, cat.top_values[0].count) == ("u", 2)


def test_types_duckdb_cannot_read_get_null_counts() -> None:
    table = pa.table({"h": pa.array(np.array([1, 2, 3], np.float16)), "x": [1, None, 3]})
    table = table.set_column(0, "h", pa.array([1, None, 3], pa.float16()))
    profile = profile_data(table)
    assert (profile.column("h").count, profile.column("h").null_count) == (2, 1)
    assert profile.column("x").max == 3


def test_dataset_over_parquet_files_profiles_like_the_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    table = pa.table(
        {
            "v": rng.normal(size=3000),
            "k": pa.array(rng.integers(0, 5, 3000)),
            "s": pa.array([f"s{i % 7}" for i in range(3000)]),
            "t": pa.array(
                [dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(3000)]
            ),
        }
    )
    for part in range(3):
        pq.write_table(table.slice(part * 1000, 1000), tmp_path / f"part-{part}.parquet")
    from_files = profile_data(pads.dataset(tmp_path, format="parquet"), threads=2, memory_limit="256MB")
    from_table = profile_data(table, threads=2)
    assert from_files.row_count == 3000
    for a, b in zip(from_files.columns, from_table.columns, strict=True):
        assert (a.name, a.kind, a.count, a.null_count, a.min, a.max) == (
            b.name,
            b.kind,
            b.count,
            b.null_count,
            b.min,
            b.max,
        )
        assert a.distinct_count == b.distinct_count
        assert a.histogram == b.histogram
        assert a.top_values == b.top_values
        if a.mean is not None:
            assert a.mean == pytest.approx(b.mean) and a.std == pytest.approx(b.std)
        if a.quantiles is not None and b.quantiles is not None:
            for key, value in a.quantiles.items():
                assert value == pytest.approx(b.quantiles[key], abs=0.1)


def test_fixed_histogram_edges_count_values_outside() -> None:
    table = pa.table({"v": [-5.0, 0.0, 0.5, 1.0, 1.0, 7.0]})
    histogram = profile_data(table, histogram_edges={"v": [0.0, 0.5, 1.0]}).column("v").histogram
    assert histogram == Histogram(edges=(0.0, 0.5, 1.0), counts=(1, 3), below=1, above=1)


def test_constant_column_gets_one_bucket() -> None:
    histogram = profile_data(pa.table({"v": [3, 3, 3]})).column("v").histogram
    assert histogram == Histogram(edges=(3.0, 3.0), counts=(3,))


def test_selected_columns_only() -> None:
    profile = profile_data(_mixed_table(), columns=["s", "x"])
    assert [c.name for c in profile.columns] == ["x", "s"]


def test_equal_width_edges() -> None:
    assert equal_width_edges(0.0, 10.0, 4) == (0.0, 2.5, 5.0, 7.5, 10.0)
    assert equal_width_edges(-1e308, 1e308, 2) == (-1e308, 0.0, 1e308)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"top_k": -1}, "top_k"),
        ({"bins": 0}, "bins"),
        ({"threads": 0}, "threads"),
        ({"memory_limit": "lots"}, "memory_limit"),
        ({"columns": ["nope"]}, "nope"),
        ({"histogram_edges": {"x": [2.0, 1.0]}}, "histogram_edges"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(InvalidArgument, match=word):
        profile_data(_mixed_table(), **kwargs)  # type: ignore[arg-type]


def test_duplicate_column_names_are_refused() -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["dup", "dup"])
    with pytest.raises(InvalidArgument, match="dup"):
        profile_data(table)
