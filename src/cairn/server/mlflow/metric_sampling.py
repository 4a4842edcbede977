"""Down-sampling a metric history for charts while keeping its shape: ends, minima and maxima survive."""

from __future__ import annotations

from typing import Any

import numpy as np

from cairn.entities import Metric, MetricHistory


def sample_history(
    history: MetricHistory, max_points: int, start_step: int | None = None, end_step: int | None = None
) -> list[Metric]:
    """At most `max_points` points of a history, ordered by step (then timestamp).

    Only points with `start_step <= step <= end_step` take part when a range is given. When more points
    remain than `max_points`, the first and last points are always kept, and the step range between them is
    cut into `(max_points - 2) // 2` equal intervals of which each keeps its lowest and highest value, so that
    spikes and dips stay visible on a chart. With `max_points` 1 only the last point is kept.
    """
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    columns = history.to_numpy()
    steps, values = columns["step"], columns["value"]
    selected = np.arange(len(steps))
    if start_step is not None and end_step is not None:
        selected = selected[(steps >= start_step) & (steps <= end_step)]
    ordered = selected[np.lexsort((columns["timestamp"][selected], steps[selected]))]
    if len(ordered) > max_points:
        ordered = _extremes_by_interval(ordered, steps, values, max_points)
    return [history[int(index)] for index in ordered]


def _extremes_by_interval(ordered: Any, steps: Any, values: Any, max_points: int) -> Any:
    """The first and last of `ordered` plus the min and max value of each step interval in between."""
    if max_points == 1:
        return ordered[-1:]
    interior = ordered[1:-1]
    intervals = (max_points - 2) // 2
    kept = [ordered[:1]]
    if intervals and len(interior):
        groups = _interval_ids(
            interior, steps, float(steps[ordered[0]]), float(steps[ordered[-1]]), intervals
        )
        boundaries = np.flatnonzero(np.diff(groups)) + 1
        kept.extend(_min_and_max(group, values) for group in np.split(interior, boundaries))
    kept.append(ordered[-1:])
    return np.concatenate(kept)


def _interval_ids(interior: Any, steps: Any, first: float, last: float, intervals: int) -> Any:
    """The interval each interior point falls in, by step; by position when all steps are equal."""
    if last > first:
        fraction = (steps[interior].astype(np.float64) - first) / (last - first)
    else:
        fraction = np.arange(len(interior), dtype=np.float64) / len(interior)
    return np.minimum((fraction * intervals).astype(np.int64), intervals - 1)


def _min_and_max(group: Any, values: Any) -> Any:
    """The points of `group` (in order) holding its lowest and highest value; the first if all are NaN."""
    group_values = values[group]
    if np.isnan(group_values).all():
        return group[:1]
    positions = sorted({int(np.nanargmin(group_values)), int(np.nanargmax(group_values))})
    return group[positions]
