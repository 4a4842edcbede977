"""Column profiles of a pyarrow Table or Dataset, computed by DuckDB in three streaming scans.

The first scan bounds the numeric columns (min/max: free from Parquet footers) to place histogram edges.
The second computes approximate quantiles (t-digest) and top-value candidates, on the whole data or, past
SAMPLE_ROWS rows, on a block sample of about that many rows. The third, the only full scan, computes counts,
nulls, approximate distinct counts (HyperLogLog), min/max/mean/std, string lengths, histogram buckets and
the exact counts of the top-value candidates. Columns are batched so no query grows too wide; DuckDB reads
only the columns a query names. A Dataset is streamed, never materialised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.data.duckdb_session import duckdb_session
from cairn.data.profile_sampling import (
    DEFAULT_SAMPLE_ROWS,
    SAMPLE_TABLE,
    create_sample,
    drop_sample,
    estimated_distinct,
    exact_stats,
    scaled,
)
from cairn.data.profile_sql import (
    ColumnPlan,
    Params,
    column_kind,
    first_pass,
    histogram_expr,
    quote,
    sampled_pass,
    top_counts_expr,
)
from cairn.data.profile_types import QUANTILE_LEVELS, ColumnProfile, DatasetProfile, Histogram, TopValue
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

__all__ = ["ColumnProfile", "DatasetProfile", "Histogram", "TopValue", "equal_width_edges", "profile_data"]

_COLUMNS_PER_QUERY = 40
_VIEW = "cairn_profile_data"

Stats: TypeAlias = dict[str, Any]


def profile_data(
    data: TabularData,
    *,
    memory_limit: str = "1GB",
    threads: int | None = None,
    top_k: int = 10,
    bins: int = 20,
    columns: Sequence[str] | None = None,
    histogram_edges: Mapping[str, Sequence[float]] | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
) -> DatasetProfile:
    """Profile every column (or `columns`) of `data` without loading it whole.

    Args:
        data: A pyarrow Table or Dataset.
        memory_limit: DuckDB's memory limit, such as "512MB" or "2GB".
        threads: DuckDB worker threads (default: one per core).
        top_k: Most frequent values kept per string column (0: none).
        bins: Buckets of the equal-width numeric histograms.
        columns: Profile only these columns (default: all, in schema order).
        histogram_edges: Fixed histogram edges per numeric column (used instead of equal-width
            buckets; values outside them are counted as `below` / `above`).
        sample_rows: Past this many rows, distributions come from a block sample of about this many
            rows (see `cairn.data.profile_sampling`); row counts, non-null counts, min and max stay exact.

    Returns:
        The profile, columns in schema order.

    Raises:
        InvalidArgument: naming the argument or column that is wrong, or when DuckDB cannot read the data.
    """
    import duckdb

    _check_options(top_k, bins, threads, histogram_edges or {})
    if sample_rows < 1:
        raise InvalidArgument(f"sample_rows must be 1 or more, not {sample_rows}")
    fields = _selected_fields(data.schema, columns)
    with duckdb_session(memory_limit, threads) as con:
        try:
            plans = _register(con, data, fields)
            readable = [plan for plan in plans if plan.sql is not None]
            row_count, stats, sampled = _scan_all(
                con, data, readable, top_k, bins, histogram_edges or {}, sample_rows
            )
        except duckdb.Error as error:
            raise InvalidArgument(f"could not profile the data: {error}") from error
    if not readable:
        row_count = _row_count(data)
    for plan in plans:
        if plan.sql is None:
            stats[plan.name] = _arrow_null_stats(data, plan.name, row_count)
    return DatasetProfile(
        row_count,
        tuple(_column_profile(plan, stats[plan.name], row_count) for plan in plans),
        sampled_rows=sampled,
    )


def equal_width_edges(low: float, high: float, bins: int) -> tuple[float, ...]:
    """`bins` equal-width bucket edges from `low` to `high`; a single bucket when they are equal."""
    if low == high:
        return (low, high)
    step = high / bins - low / bins  # no overflow even for the widest float ranges
    return (*(low + step * index for index in range(bins)), high)


def _check_options(
    top_k: int, bins: int, threads: int | None, histogram_edges: Mapping[str, Sequence[float]]
) -> None:
    if top_k < 0:
        raise InvalidArgument(f"top_k must be 0 or more, got {top_k}")
    if bins < 1:
        raise InvalidArgument(f"bins must be 1 or more, got {bins}")
    if threads is not None and threads < 1:
        raise InvalidArgument(f"threads must be 1 or more, got {threads}")
    for name, edges in histogram_edges.items():
        if len(edges) < 2 or any(b < a for a, b in zip(edges, edges[1:], strict=False)):
            raise InvalidArgument(f"histogram_edges[{name!r}] must be 2 or more ascending edges, got {edges}")


def _selected_fields(schema: pa.Schema, columns: Sequence[str] | None) -> list[pa.Field]:
    names = list(schema.names)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidArgument(f"the data has two columns named {name!r}; rename one before profiling")
        seen.add(name)
    if columns is None:
        return list(schema)
    for name in columns:
        if name not in seen:
            raise InvalidArgument(f"column {name!r} is not in the data; columns: {names}")
    wanted = set(columns)
    return [field for field in schema if field.name in wanted]


def _register(con: duckdb.DuckDBPyConnection, data: TabularData, fields: list[pa.Field]) -> list[ColumnPlan]:
    """Register the columns DuckDB can read; plans name each column's DuckDB identifier (or None)."""
    import pyarrow as pa

    readable = [field for field in fields if _duckdb_reads(con, field)]
    schema = pa.schema(readable)
    if readable:
        parquet_files = _local_parquet_files(data)
        if parquet_files is not None:
            # DuckDB's own Parquet reader uses footer statistics and reads row groups in parallel: several
            # times faster than scanning the same files through pyarrow.
            relation = con.read_parquet(parquet_files, union_by_name=True)
            relation.project(", ".join(quote(field.name) for field in readable)).create_view(_VIEW)
        elif isinstance(data, pa.Table):
            con.register(_VIEW, data.select([field.name for field in readable]))
        else:
            con.register(_VIEW, data if schema.equals(data.schema) else data.replace_schema(schema))
        description = con.execute(f"SELECT * FROM {_VIEW} LIMIT 0").description
        duck_names = {field.name: str(column[0]) for field, column in zip(readable, description, strict=True)}
    else:
        duck_names = {}
    return [
        ColumnPlan(
            name=field.name,
            data_type=field.type,
            sql=quote(duck_names[field.name]) if field.name in duck_names else None,
            kind=column_kind(field.type),
        )
        for field in fields
    ]


def _local_parquet_files(data: TabularData) -> list[str] | None:
    """The files of a Dataset made only of local Parquet files, else None."""
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    if not isinstance(data, pads.FileSystemDataset) or not isinstance(data.format, pads.ParquetFileFormat):
        return None
    if not isinstance(data.filesystem, pafs.LocalFileSystem):
        return None
    partitioning = data.partitioning
    if partitioning is not None and len(partitioning.schema) > 0:
        return None  # partition columns live in folder names, which read_parquet would not see the same way
    return list(data.files)


def _duckdb_reads(con: duckdb.DuckDBPyConnection, field: pa.Field) -> bool:
    import duckdb
    import pyarrow as pa

    try:
        con.register("cairn_type_probe", pa.schema([field]).empty_table())
    except duckdb.Error:
        return False
    con.unregister("cairn_type_probe")
    return True


def _scan_all(
    con: duckdb.DuckDBPyConnection,
    data: TabularData,
    plans: list[ColumnPlan],
    top_k: int,
    bins: int,
    fixed_edges: Mapping[str, Sequence[float]],
    sample_rows: int,
) -> tuple[int, dict[str, Stats], int | None]:
    """Every statistic: bounds first, then the distribution scans over the data or, if large, a sample.

    Returns the row count, the statistics per column, and the sample's size when one was used.
    """
    if not plans:
        return 0, {}, None
    row_count, edges, bounds = _bounds_scan(con, plans, bins, fixed_edges)
    sampled = create_sample(con, _VIEW, data, row_count, sample_rows) if row_count > sample_rows else None
    if sampled == 0:  # block sampling can miss every block of small data
        drop_sample(con)
        sampled = None
    source = _VIEW if sampled is None else SAMPLE_TABLE
    stats: dict[str, Stats] = {plan.name: {} for plan in plans}
    _sampled_scan(con, plans, stats, top_k, source)
    for start in range(0, len(plans), _COLUMNS_PER_QUERY):
        batch = plans[start : start + _COLUMNS_PER_QUERY]
        params = Params()
        wanted: list[tuple[str, str, Any]] = []
        for plan in batch:
            wanted += [(plan.name, key, None) for key, _ in first_pass(plan, top_k)]
            if plan.name in edges:
                wanted.append((plan.name, "histogram", edges[plan.name]))
            candidates = stats[plan.name].get("top_candidates")
            if plan.kind == "string" and candidates:
                wanted.append((plan.name, "top_values", tuple(str(value) for value in candidates)))
        exprs = [
            _expression(plan, key, arg, params, top_k) for plan in batch for key, arg in _keys(plan, wanted)
        ]
        row = con.execute(f"SELECT {', '.join(exprs)} FROM {source}", params.values).fetchone()
        assert row is not None  # an aggregate without GROUP BY returns one row
        ordered = [(name, key, arg) for plan in batch for name, key, arg in wanted if name == plan.name]
        for (name, key, arg), value in zip(ordered, row, strict=True):
            stats[name][key] = _finished(key, arg, value)
    if sampled is not None:
        _to_whole_data(con, plans, stats, row_count, sampled, bounds)
    return row_count, stats, sampled


def _to_whole_data(
    con: duckdb.DuckDBPyConnection,
    plans: list[ColumnPlan],
    stats: dict[str, Stats],
    rows: int,
    sampled: int,
    bounds: dict[str, tuple[Any, Any]],
) -> None:
    """Replace sample statistics by exact counts and ranges, scaled counts and distinct estimates."""
    exact = exact_stats(con, _VIEW, plans, bounds)
    for plan in plans:
        in_sample = int(stats[plan.name]["count"])
        whole = scaled(stats[plan.name], rows / sampled)
        whole.update(exact[plan.name])
        if "distinct_count" in whole:
            whole["distinct_count"] = estimated_distinct(con, plan, in_sample, int(whole["count"]))
        stats[plan.name] = whole


def _keys(plan: ColumnPlan, wanted: list[tuple[str, str, Any]]) -> list[tuple[str, Any]]:
    return [(key, arg) for name, key, arg in wanted if name == plan.name]


def _expression(plan: ColumnPlan, key: str, arg: Any, params: Params, top_k: int) -> str:
    if key == "histogram":
        return histogram_expr(plan, arg, params)
    if key == "top_values":
        return top_counts_expr(plan, arg, params)
    return dict(first_pass(plan, top_k))[key]


def _finished(key: str, arg: Any, value: Any) -> Any:
    if key == "histogram":
        return _histogram(arg, dict(value or {}))
    if key == "top_values":
        ranked = sorted(dict(value or {}).items(), key=lambda item: (-item[1], item[0]))
        return tuple(TopValue(str(v), int(n)) for v, n in ranked)
    return value


def _bounds_scan(
    con: duckdb.DuckDBPyConnection,
    plans: list[ColumnPlan],
    bins: int,
    fixed_edges: Mapping[str, Sequence[float]],
) -> tuple[int, dict[str, tuple[float, ...]], dict[str, tuple[Any, Any]]]:
    """Row count, histogram edges and the finite min/max of numeric columns (free from Parquet footers)."""
    numeric = [plan for plan in plans if plan.kind == "numeric"]
    exprs = ["count(*)"] + [f"min({p.sql}), max({p.sql})" for p in numeric]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {_VIEW}").fetchone()
    assert row is not None
    bounds: dict[str, tuple[Any, Any]] = {}
    unbounded = []
    for index, plan in enumerate(numeric):
        low, high = row[1 + 2 * index], row[2 + 2 * index]
        if low is not None and not (math.isfinite(float(low)) and math.isfinite(float(high))):
            unbounded.append(plan)
        else:
            bounds[plan.name] = (low, high)
    bounds.update(zip((p.name for p in unbounded), _finite_bounds(con, unbounded), strict=True))
    edges = {name: tuple(float(edge) for edge in values) for name, values in fixed_edges.items()}
    for name, (low, high) in bounds.items():
        if name not in edges and low is not None:
            edges[name] = equal_width_edges(float(low), float(high), bins)
    return int(row[0]), edges, bounds


def _finite_bounds(con: duckdb.DuckDBPyConnection, plans: list[ColumnPlan]) -> list[tuple[Any, Any]]:
    """Min and max over the finite values of float columns holding NaN or infinities."""
    if not plans:
        return []
    exprs = [
        f"min({p.as_double}) FILTER (WHERE isfinite({p.as_double})), "
        f"max({p.as_double}) FILTER (WHERE isfinite({p.as_double}))"
        for p in plans
    ]
    row = con.execute(f"SELECT {', '.join(exprs)} FROM {_VIEW}").fetchone()
    assert row is not None
    return [(row[2 * i], row[2 * i + 1]) for i in range(len(plans))]


def _sampled_scan(
    con: duckdb.DuckDBPyConnection,
    plans: list[ColumnPlan],
    stats: dict[str, Stats],
    top_k: int,
    source: str,
) -> None:
    """Quantiles and top-value candidates (whose exact counts the main scan then takes)."""
    wanted = [(plan.name, key, expr) for plan in plans for key, expr in sampled_pass(plan, top_k)]
    for start in range(0, len(wanted), _COLUMNS_PER_QUERY):
        batch = wanted[start : start + _COLUMNS_PER_QUERY]
        row = con.execute(f"SELECT {', '.join(e for _, _, e in batch)} FROM {source}").fetchone()
        assert row is not None
        for (name, key, _), value in zip(batch, row, strict=True):
            stats[name][key] = value


def _histogram(edges: tuple[float, ...], counts: Mapping[int, int]) -> Histogram:
    buckets = len(edges) - 1
    return Histogram(
        edges=edges,
        counts=tuple(int(counts.get(index, 0)) for index in range(buckets)),
        below=int(counts.get(-1, 0)),
        above=int(counts.get(buckets, 0)),
    )


def _row_count(data: TabularData) -> int:
    import pyarrow as pa

    return int(data.num_rows) if isinstance(data, pa.Table) else int(data.count_rows())


def _arrow_null_stats(data: TabularData, name: str, row_count: int) -> Stats:
    """Null counts of a column DuckDB cannot read, streamed batch by batch with pyarrow."""
    import pyarrow as pa

    if isinstance(data, pa.Table):
        nulls = int(data.column(name).null_count)
    else:
        nulls = sum(int(batch.column(0).null_count) for batch in data.to_batches(columns=[name]))
    return {"count": row_count - nulls}


def _column_profile(plan: ColumnPlan, stats: Stats, row_count: int) -> ColumnProfile:
    count = int(stats["count"])
    fields: dict[str, Any] = {
        key: stats.get(key)
        for key in (
            "distinct_count",
            "mean",
            "std",
            "histogram",
            "non_finite_count",
            "true_count",
            "top_values",
        )
    }
    if plan.kind == "numeric":
        fields["min"], fields["max"] = _extreme(stats.get("min")), _extreme(stats.get("max"))
        quantiles = stats.get("quantiles")
        if quantiles is not None:
            fields["quantiles"] = dict(zip(QUANTILE_LEVELS, (float(q) for q in quantiles), strict=True))
    elif plan.kind == "temporal":
        fields["min"], fields["max"] = _iso(stats.get("min")), _iso(stats.get("max"))
    elif plan.kind == "string":
        fields["min_length"], fields["max_length"] = stats.get("min_length"), stats.get("max_length")
        mean_length = stats.get("mean_length")
        fields["mean_length"] = None if mean_length is None else float(mean_length)
        if stats.get("top_values") is None and "top_candidates" in stats:
            fields["top_values"] = ()
    if fields["mean"] is not None:
        fields["mean"] = float(fields["mean"])
    if fields["std"] is not None:
        fields["std"] = float(fields["std"])
    return ColumnProfile(
        name=plan.name,
        type=str(plan.data_type),
        kind=plan.kind,
        count=count,
        null_count=row_count - count,
        **fields,
    )


def _extreme(value: Any) -> int | float | None:
    if value is None:
        return None
    return value if isinstance(value, int) else float(value)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)
