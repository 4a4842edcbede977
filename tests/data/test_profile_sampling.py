"""Profiles of large data from a block sample: exact counts and ranges, close estimates of the rest."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cairn.data.profile import profile_data
from cairn.data.profile_types import DatasetProfile
from cairn.errors import InvalidArgument

ROWS = 200_000


def _table() -> pa.Table:
    rng = np.random.default_rng(11)
    values = rng.normal(100.0, 15.0, ROWS)
    values[::1000] = np.nan
    return pa.table(
        {
            "id": pa.array(np.arange(ROWS, dtype=np.int64)),
            "value": pa.array(values, mask=np.arange(ROWS) % 50 == 0),
            "colour": pa.array(rng.choice(["red", "green", "blue", "black"], ROWS, p=[0.4, 0.3, 0.2, 0.1])),
        }
    )


def test_sampled_profile_is_exact_where_cheap_and_close_elsewhere() -> None:
    table = _table()
    full = profile_data(table)
    sampled = profile_data(table, sample_rows=40_000)
    assert full.sampled_rows is None
    assert sampled.sampled_rows is not None and 20_000 <= sampled.sampled_rows <= 60_000
    assert sampled.row_count == full.row_count == ROWS
    for name in ("id", "value", "colour"):
        exact, estimate = full.column(name), sampled.column(name)
        assert (estimate.count, estimate.null_count) == (exact.count, exact.null_count)
        assert (estimate.min, estimate.max) == (exact.min, exact.max)
    ids, values, colours = (sampled.column(n) for n in ("id", "value", "colour"))
    assert ids.distinct_count == pytest.approx(ROWS, rel=0.05)  # all distinct: Duj1 scales up
    assert colours.distinct_count == 4  # heavily repeated: the sample sees every value
    assert values.mean == pytest.approx(full.column("value").mean, abs=0.5)
    assert values.std == pytest.approx(full.column("value").std, rel=0.05)
    assert values.histogram is not None and full.column("value").histogram is not None
    assert sum(values.histogram.counts) == pytest.approx(sum(full.column("value").histogram.counts), rel=0.02)
    top = {t.value: t.count for t in colours.top_values or ()}
    assert top["red"] == pytest.approx(0.4 * ROWS, rel=0.05)
    assert DatasetProfile.from_dict(sampled.to_dict()) == sampled


def test_sample_rows_must_be_positive() -> None:
    with pytest.raises(InvalidArgument, match="sample_rows"):
        profile_data(_table(), sample_rows=0)
