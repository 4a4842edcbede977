"""Metric points and columnar metric histories."""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Metric:
    """One point of a metric: value at a step, with a timestamp in milliseconds."""

    key: str
    value: float
    timestamp: int
    step: int = 0


class MetricHistory(Sequence[Metric]):
    """The full history of one metric, held as three columns (steps, timestamps, values).

    It behaves as a read-only sequence of `Metric` points, built on access, so that a history of millions of
    points costs three arrays rather than millions of objects. Points are in the order they were logged.
    """

    __slots__ = ("key", "steps", "timestamps", "values")

    def __init__(self, key: str, steps: array[int], timestamps: array[int], values: array[float]) -> None:
        if not len(steps) == len(timestamps) == len(values):
            raise ValueError("steps, timestamps and values must have the same length")
        self.key = key
        self.steps = steps
        self.timestamps = timestamps
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    @overload
    def __getitem__(self, index: int) -> Metric: ...

    @overload
    def __getitem__(self, index: slice) -> list[Metric]: ...

    def __getitem__(self, index: int | slice) -> Metric | list[Metric]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Metric(self.key, self.values[index], self.timestamps[index], self.steps[index])

    def __iter__(self) -> Iterator[Metric]:
        key = self.key
        for value, timestamp, step in zip(self.values, self.timestamps, self.steps, strict=True):
            yield Metric(key, value, timestamp, step)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MetricHistory):
            return (
                self.key == other.key
                and self.steps == other.steps
                and self.timestamps == other.timestamps
                and _same_floats(self.values, other.values)
            )
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MetricHistory(key={self.key!r}, points={len(self)})"

    def to_numpy(self) -> dict[str, Any]:
        """Return the columns as numpy arrays without copying: keys `step`, `timestamp`, `value`."""
        import numpy as np

        return {
            "step": np.frombuffer(self.steps, dtype=np.int64),
            "timestamp": np.frombuffer(self.timestamps, dtype=np.int64),
            "value": np.frombuffer(self.values, dtype=np.float64),
        }

    def to_pandas(self) -> pd.DataFrame:
        """Return the history as a DataFrame with columns step, timestamp and value."""
        import pandas as pd

        return pd.DataFrame(self.to_numpy())


def _same_floats(a: array[float], b: array[float]) -> bool:
    """Compare float arrays bit for bit so that NaN equals NaN."""
    return a.tobytes() == b.tobytes()
