"""Distribution-shift scores between two column profiles: PSI for numbers, total variation for categories.

Numeric columns are compared by the population stability index (PSI) over the OLD profile's histogram
buckets, plus one bucket below and one above them. When the new profile's histogram has the same
edges (as in a skew check, which profiles the serving sample on the training edges), the bucket shares
are exact. Otherwise the new shares are an approximation: the new histogram (or, without one, its
quantiles) is read as a piecewise-linear cumulative distribution, that is values spread evenly inside
each of its buckets, and the mass of each old bucket is read off that curve.

String columns are compared by the total-variation distance between top-value shares; values absent
from one side's top list count as share 0 there, and the rest of each side's mass forms one "other"
bucket, so the distance is exact when both top lists cover every value and an estimate otherwise.
Boolean columns use the total-variation distance between their true/false shares.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from cairn.data.profile_types import QUANTILE_LEVELS, ColumnProfile, Histogram

__all__ = ["PSI_FLOOR", "bucket_shares", "population_stability_index", "shift_score", "total_variation"]

#: Shares below this are raised to it before taking logarithms, so empty buckets give a finite PSI.
PSI_FLOOR = 1e-4


def shift_score(old: ColumnProfile, new: ColumnProfile) -> tuple[str | None, float | None]:
    """The metric name ("psi" or "tv") and score of the shift from `old` to `new`, or (None, None)."""
    if old.kind != new.kind:
        return None, None
    if old.kind == "numeric" and old.histogram is not None and old.histogram.total > 0:
        actual = bucket_shares(old.histogram, new)
        if actual is None:
            return "psi", None
        return "psi", population_stability_index(_shares_of(old.histogram), actual)
    if old.kind == "string" and old.top_values is not None and new.top_values is not None:
        if old.count == 0 or new.count == 0:
            return "tv", None
        before = {top.value: top.count / old.count for top in old.top_values}
        after = {top.value: top.count / new.count for top in new.top_values}
        return "tv", total_variation(before, after)
    if old.kind == "boolean" and old.true_count is not None and new.true_count is not None:
        if old.count == 0 or new.count == 0:
            return "tv", None
        return "tv", abs(old.true_count / old.count - new.true_count / new.count)
    return None, None


def population_stability_index(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI = sum((a - e) * ln(a / e)) over buckets, shares floored at `PSI_FLOOR`."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, PSI_FLOOR), max(a, PSI_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def total_variation(before: dict[str, float], after: dict[str, float]) -> float:
    """Half the L1 distance between two share maps, each completed by an "other" share."""
    keys = before.keys() | after.keys()
    distance = sum(abs(before.get(key, 0.0) - after.get(key, 0.0)) for key in keys)
    rest_before = max(0.0, 1.0 - sum(before.values()))
    rest_after = max(0.0, 1.0 - sum(after.values()))
    return min(1.0, 0.5 * (distance + abs(rest_before - rest_after)))


def _shares_of(histogram: Histogram) -> list[float]:
    """Shares of [below, bucket 0, ..., bucket n-1, above]."""
    total = histogram.total
    return [count / total for count in (histogram.below, *histogram.counts, histogram.above)]


def bucket_shares(reference: Histogram, profile: ColumnProfile) -> list[float] | None:
    """Shares of `profile`'s values in [below, reference buckets..., above]; None without the data to tell."""
    own = profile.histogram
    if own is not None and own.total > 0 and own.edges == reference.edges:
        return _shares_of(own)
    points = _cdf_points(profile)
    if points is None:
        return None
    edges = reference.edges
    left = [_cdf(points, edge, strict=True) for edge in edges]
    shares = [left[0]]
    shares += [left[index + 1] - left[index] for index in range(len(edges) - 2)]
    last = _cdf(points, edges[-1], strict=False)
    shares += [last - left[-2], 1.0 - last]
    return [max(0.0, share) for share in shares]


def _cdf_points(profile: ColumnProfile) -> list[tuple[float, float]] | None:
    """(value, cumulative share) corners of a piecewise-linear distribution of the column's values."""
    histogram = profile.histogram
    if histogram is not None and histogram.total > 0:
        return _histogram_points(histogram)
    if profile.quantiles is None or profile.min is None or profile.max is None:
        return None
    points = [(float(profile.min), 0.0)]
    for name, level in QUANTILE_LEVELS.items():
        value = profile.quantiles.get(name)
        if value is not None:
            points.append((float(value), level))
    points.append((float(profile.max), 1.0))
    return _monotone(points)


def _histogram_points(histogram: Histogram) -> list[tuple[float, float]]:
    total = histogram.total
    edges = histogram.edges
    width = (edges[-1] - edges[0]) / max(1, len(histogram.counts)) or 1.0
    points: list[tuple[float, float]] = []
    running = 0.0
    if histogram.below:  # mass of unknown place below the edges: put it one bucket-width lower
        points.append((edges[0] - width, 0.0))
        running = histogram.below / total
        points.append((edges[0] - width, running))
    points.append((edges[0], running))
    for edge, count in zip(edges[1:], histogram.counts, strict=True):
        running += count / total
        points.append((edge, running))
    if histogram.above:
        points.append((edges[-1] + width, running))
        points.append((edges[-1] + width, 1.0))
    return _monotone(points)


def _monotone(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    ordered: list[tuple[float, float]] = []
    for value, share in sorted(points, key=lambda point: point[0]):
        floor = ordered[-1][1] if ordered else 0.0
        ordered.append((value, min(1.0, max(share, floor))))
    return ordered


def _cdf(points: list[tuple[float, float]], x: float, *, strict: bool) -> float:
    """Share of values <= x (or < x when `strict`), interpolating linearly between corners."""
    xs = [value for value, _ in points]
    index = (bisect_left(xs, x) if strict else bisect_right(xs, x)) - 1
    if index < 0:
        return 0.0
    if index == len(points) - 1:
        return points[-1][1]
    (x0, c0), (x1, c1) = points[index], points[index + 1]
    return c0 + (c1 - c0) * (x - x0) / (x1 - x0) if x1 > x0 else c1
