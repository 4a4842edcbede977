"""Profiling large data from a block sample: exact counts and ranges, estimated distributions.

Past `sample_rows` rows, a profile keeps what the whole data answers cheaply exact (row count, non-null
counts, min and max: Parquet footers hold them) and computes the rest (mean, std, histograms, quantiles,
top values, string lengths) from one block sample of about `sample_rows` rows. Histogram and top-value
counts are scaled to the whole data, and distinct counts are estimated from the sample's frequency profile
with the Duj1 estimator (Haas, Naughton, Seshadri and Stokes, VLDB 1995), which is exact for all-distinct
and for heavily repeated columns and biased in between. The profile records `sampled_rows`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cairn.data.profile_sql import ColumnPlan
from cairn.data.profile_types import Histogram, TopValue

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as pads

SAMPLE_TABLE = "cairn_profile_sample"
_TABLE_BLOCK_ROWS = 65_536
DEFAULT_SAMPLE_ROWS = 1_000_000
"""Rows above which a profile is computed from a block sample of about this many rows."""


def create_sample(
    con: duckdb.DuckDBPyConnection, view: str, data: pa.Table | pads.Dataset, row_count: int, sample_rows: int
) -> int:
    """Register a block sample of about `sample_rows` rows of `view` as SAMPLE_TABLE; return its size.

    Parquet row groups and slices of an in-memory table are picked at even intervals, so only the sample
    is read; other data is sampled by DuckDB's block sampling, which parses everything once.
    """
    names = [str(column[0]) for column in con.execute(f"SELECT * FROM {view} LIMIT 0").description]
    blocks = _spread_blocks(data, row_count, sample_rows)
    if blocks is not None:
        con.register(SAMPLE_TABLE, blocks.select(names))
        return int(blocks.num_rows)
    percent = 100.0 * sample_rows / row_count
    sample = f"USING SAMPLE {percent:.6f} PERCENT (system, 7)"
    con.execute(f"CREATE TEMP TABLE {SAMPLE_TABLE} AS SELECT * FROM {view} {sample}")
    row = con.execute(f"SELECT count(*) FROM {SAMPLE_TABLE}").fetchone()
    assert row is not None
    return int(row[0])


def drop_sample(con: duckdb.DuckDBPyConnection) -> None:
    """Remove SAMPLE_TABLE, whichever way it was made."""
    con.execute(f"DROP VIEW IF EXISTS {SAMPLE_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {SAMPLE_TABLE}")


def _spread_blocks(data: pa.Table | pads.Dataset, row_count: int, sample_rows: int) -> pa.Table | None:
    """Evenly spread blocks of a Table or of a Parquet Dataset's row groups, or None for other data."""
    import pyarrow as pa
    import pyarrow.dataset as pads

    if isinstance(data, pa.Table):
        count = max(1, sample_rows // _TABLE_BLOCK_ROWS)
        step = row_count / count
        return pa.concat_tables(
            [data.slice(int(i * step), min(_TABLE_BLOCK_ROWS, sample_rows)) for i in range(count)]
        ).combine_chunks()
    if not isinstance(data, pads.FileSystemDataset) or not isinstance(data.format, pads.ParquetFileFormat):
        return None
    groups = [group for fragment in data.get_fragments() for group in fragment.split_by_row_group()]
    if not groups:
        return None
    wanted = max(1, min(len(groups), round(len(groups) * sample_rows / row_count)))
    step = len(groups) / wanted
    chosen = [groups[int(i * step)] for i in range(wanted)]
    return pa.concat_tables([group.to_table(schema=data.schema) for group in chosen])


def exact_stats(
    con: duckdb.DuckDBPyConnection, view: str, plans: list[ColumnPlan], bounds: dict[str, tuple[Any, Any]]
) -> dict[str, dict[str, Any]]:
    """Non-null counts, and min/max of temporal columns, over the whole data; numeric bounds as given.

    Both come from Parquet footers when the data is Parquet, so this costs no scan there.
    """
    wanted: list[tuple[str, str, str]] = []
    for plan in plans:
        wanted.append((plan.name, "count", f"count({plan.sql})"))
        if plan.kind == "temporal":
            wanted += [(plan.name, "min", f"min({plan.sql})"), (plan.name, "max", f"max({plan.sql})")]
    row = con.execute(f"SELECT {', '.join(expr for _, _, expr in wanted)} FROM {view}").fetchone()
    assert row is not None
    found: dict[str, dict[str, Any]] = {plan.name: {} for plan in plans}
    for (name, key, _), value in zip(wanted, row, strict=True):
        found[name][key] = value
    for name, (low, high) in bounds.items():
        found[name].update(min=low, max=high)
    return found


def estimated_distinct(
    con: duckdb.DuckDBPyConnection, plan: ColumnPlan, sample_non_null: int, total_non_null: int
) -> int | None:
    """Duj1 estimate of a column's distinct values in the whole data, from the sample's frequencies."""
    if plan.kind == "nested" or sample_non_null == 0:
        return 0 if sample_non_null == 0 else None
    row = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE seen = 1) FROM "
        f"(SELECT count(*) AS seen FROM {SAMPLE_TABLE} WHERE {plan.sql} IS NOT NULL GROUP BY {plan.sql})"
    ).fetchone()
    assert row is not None
    distinct, singletons = int(row[0]), int(row[1])
    n, total = sample_non_null, max(total_non_null, sample_non_null)
    estimate = n * distinct / (n - singletons + singletons * n / total)
    return int(round(min(max(estimate, distinct), total)))


def scaled(stats: dict[str, Any], factor: float) -> dict[str, Any]:
    """Histogram, top-value, true and non-finite counts of the sample scaled to the whole data."""
    out = dict(stats)
    histogram = stats.get("histogram")
    if isinstance(histogram, Histogram):
        out["histogram"] = replace(
            histogram,
            counts=tuple(round(c * factor) for c in histogram.counts),
            below=round(histogram.below * factor),
            above=round(histogram.above * factor),
        )
    top = stats.get("top_values")
    if top:
        out["top_values"] = tuple(TopValue(t.value, round(t.count * factor)) for t in top)
    for key in ("true_count", "non_finite_count"):
        if stats.get(key) is not None:
            out[key] = round(int(stats[key]) * factor)
    return out
