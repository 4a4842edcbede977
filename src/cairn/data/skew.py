"""Training/serving skew: a serving sample checked against a training version's schema and profile.

The serving sample is profiled on the training histogram edges, so PSI and the share of values outside
the training range are exact on the sample. Per column the status is:

- "fail": the column is missing from serving, or its kind changed (numbers became text, ...);
- "warn": PSI above `psi_threshold`, total-variation distance above `tv_threshold`, null-rate change
  above `null_rate_threshold`, more than `out_of_range_threshold` of the values outside the training
  [min, max], or a serving column the training data did not have;
- "ok": none of these.

A type change within one kind (int64 in training, double in a prediction log) is reported in
`type_mismatch` without changing the status. The overall status is the worst column status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from cairn.data.distribution_shift import shift_score
from cairn.data.profile import profile_data
from cairn.data.profile_diff import schema_columns
from cairn.data.profile_types import ColumnProfile, DatasetProfile
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads

    TabularData: TypeAlias = pa.Table | pads.Dataset

__all__ = ["ColumnSkew", "SkewReport", "check_skew"]

_SEVERITY = {"ok": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class ColumnSkew:
    """The skew of one column between training and serving.

    Attributes:
        name: Column name (with any serving prefix stripped).
        status: "ok", "warn" or "fail".
        issues: Why the status is not "ok", in words.
        training_type: Arrow type in training (None for an unexpected serving column).
        serving_type: Arrow type in serving (None for a column missing from serving).
        missing: The column is in training but not in serving.
        unexpected: The column is in serving but not in training.
        type_mismatch: Both have the column with different types.
        null_rate_delta: Serving minus training null rate.
        out_of_range_share: Share of serving values outside the training [min, max] (numeric).
        metric: "psi" or "tv" (the distribution-shift score used), or None.
        score: The PSI or total-variation distance, or None.
    """

    name: str
    status: str
    issues: tuple[str, ...] = ()
    training_type: str | None = None
    serving_type: str | None = None
    missing: bool = False
    unexpected: bool = False
    type_mismatch: bool = False
    null_rate_delta: float | None = None
    out_of_range_share: float | None = None
    metric: str | None = None
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "status": self.status,
            "issues": list(self.issues),
            "training_type": self.training_type,
            "serving_type": self.serving_type,
            "missing": self.missing,
            "unexpected": self.unexpected,
            "type_mismatch": self.type_mismatch,
            "null_rate_delta": self.null_rate_delta,
            "out_of_range_share": self.out_of_range_share,
            "metric": self.metric,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSkew:
        """Rebuild from `to_dict` output."""
        return cls(**{**data, "issues": tuple(data.get("issues", ()))})


@dataclass(frozen=True)
class SkewReport:
    """Training/serving skew of every column, and the overall status.

    Attributes:
        status: The worst column status ("ok" when there are no columns).
        training_rows: Rows in the training version.
        serving_rows: Rows in the serving sample.
        columns: Training columns in training order, then unexpected serving columns.
    """

    status: str
    training_rows: int
    serving_rows: int
    columns: tuple[ColumnSkew, ...]

    def column(self, name: str) -> ColumnSkew:
        """The skew of column `name`.

        Raises:
            InvalidArgument: when the report has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidArgument(f"the skew report has no column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stable key order)."""
        return {
            "status": self.status,
            "training_rows": self.training_rows,
            "serving_rows": self.serving_rows,
            "columns": [column.to_dict() for column in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkewReport:
        """Rebuild from `to_dict` output."""
        return cls(
            status=str(data["status"]),
            training_rows=int(data["training_rows"]),
            serving_rows=int(data["serving_rows"]),
            columns=tuple(ColumnSkew.from_dict(column) for column in data["columns"]),
        )


@dataclass(frozen=True)
class _Thresholds:
    psi: float
    tv: float
    null_rate: float
    out_of_range: float


def check_skew(
    training: DatasetProfile,
    training_schema: Mapping[str, Any] | None,
    serving: TabularData,
    *,
    psi_threshold: float = 0.2,
    tv_threshold: float = 0.2,
    null_rate_threshold: float = 0.1,
    out_of_range_threshold: float = 0.05,
    column_prefix: str | None = None,
    memory_limit: str = "1GB",
) -> SkewReport:
    """Compare a serving sample with the training version's schema and profile.

    Args:
        training: The training version's profile.
        training_schema: Its schema (`schema_of` form); None takes names and types from the profile.
        serving: The serving sample, a pyarrow Table or Dataset.
        psi_threshold: PSI above which a numeric column warns.
        tv_threshold: Total-variation distance above which a string or boolean column warns.
        null_rate_threshold: Null-rate change (either way) above which a column warns.
        out_of_range_threshold: Share of values outside the training range above which a column warns.
        column_prefix: Only serving columns with this prefix are inputs, compared with the prefix
            removed (a prediction-event log names them `input_<feature>`).
        memory_limit: DuckDB memory limit for profiling the sample.

    Returns:
        The report, per column and overall.

    Raises:
        InvalidArgument: for a negative threshold, a malformed schema, or a prefix no column has.
    """
    limits = _Thresholds(psi_threshold, tv_threshold, null_rate_threshold, out_of_range_threshold)
    for label, value in vars(limits).items():
        if value < 0:
            raise InvalidArgument(f"{label}_threshold must be 0 or more, got {value}")
    expected = schema_columns(training_schema, training)
    renames = _serving_names(serving, column_prefix)
    edges = {}
    for original, name in renames.items():
        column = training.find_column(name)
        if column is not None and column.kind == "numeric" and column.histogram is not None:
            edges[original] = column.histogram.edges
    profile = profile_data(
        serving,
        columns=list(renames),
        histogram_edges=edges,
        memory_limit=memory_limit,
        top_k=_top_k(training),
    )
    served = {renames[column.name]: column for column in profile.columns}
    results = [
        _column(name, type_, training.find_column(name), served.get(name), limits)
        for name, type_ in expected.items()
    ]
    results += [
        ColumnSkew(name, "warn", ("not in the training data",), serving_type=column.type, unexpected=True)
        for name, column in served.items()
        if name not in expected
    ]
    worst = max((result.status for result in results), key=_SEVERITY.__getitem__, default="ok")
    return SkewReport(worst, training.row_count, profile.row_count, tuple(results))


def _serving_names(serving: TabularData, prefix: str | None) -> dict[str, str]:
    """Serving column name -> compared name (prefix removed), for the columns that are inputs."""
    names = list(serving.schema.names)
    if not prefix:
        return {name: name for name in names}
    renames = {
        name: name[len(prefix) :] for name in names if name.startswith(prefix) and len(name) > len(prefix)
    }
    if not renames:
        raise InvalidArgument(f"no serving column starts with column_prefix {prefix!r}; columns: {names}")
    return renames


def _top_k(training: DatasetProfile) -> int:
    longest = max((len(column.top_values or ()) for column in training.columns), default=0)
    return max(10, longest)


def _column(
    name: str,
    training_type: str,
    trained: ColumnProfile | None,
    served: ColumnProfile | None,
    limits: _Thresholds,
) -> ColumnSkew:
    if served is None:
        return ColumnSkew(name, "fail", ("missing from serving",), training_type=training_type, missing=True)
    mismatch = training_type != served.type
    if trained is None:  # the schema knows the column but the profile does not: compare types only
        return ColumnSkew(
            name, "ok", training_type=training_type, serving_type=served.type, type_mismatch=mismatch
        )
    if trained.kind != served.kind:
        issue = f"kind changed from {trained.kind} ({training_type}) to {served.kind} ({served.type})"
        return ColumnSkew(
            name, "fail", (issue,), training_type=training_type, serving_type=served.type, type_mismatch=True
        )
    metric, score = shift_score(trained, served)
    delta = _null_delta(trained, served)
    outside = _out_of_range(trained, served)
    issues = _drift_issues(metric, score, delta, outside, limits)
    return ColumnSkew(
        name,
        "warn" if issues else "ok",
        issues,
        training_type=training_type,
        serving_type=served.type,
        type_mismatch=mismatch,
        null_rate_delta=delta,
        out_of_range_share=outside,
        metric=metric,
        score=score,
    )


def _null_delta(trained: ColumnProfile, served: ColumnProfile) -> float | None:
    before, after = trained.null_rate, served.null_rate
    return after - before if before is not None and after is not None else None


def _out_of_range(trained: ColumnProfile, served: ColumnProfile) -> float | None:
    """Share of serving values beyond the training edges (the serving histogram was cut on them)."""
    histogram = served.histogram
    if histogram is None or histogram.total == 0 or trained.histogram is None:
        return None
    if histogram.edges != trained.histogram.edges:
        return None
    return (histogram.below + histogram.above) / histogram.total


def _drift_issues(
    metric: str | None, score: float | None, delta: float | None, outside: float | None, limits: _Thresholds
) -> tuple[str, ...]:
    issues = []
    if score is not None and metric == "psi" and score > limits.psi:
        issues.append(f"PSI {score:.3f} above {limits.psi}")
    if score is not None and metric == "tv" and score > limits.tv:
        issues.append(f"total-variation distance {score:.3f} above {limits.tv}")
    if delta is not None and abs(delta) > limits.null_rate:
        issues.append(f"null rate changed by {delta:+.3f} (limit {limits.null_rate})")
    if outside is not None and outside > limits.out_of_range:
        issues.append(f"{outside:.1%} of values outside the training range (limit {limits.out_of_range:.1%})")
    return tuple(issues)
