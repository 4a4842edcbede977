"""When to score a request on the event loop instead of handing it to a worker thread.

Handing work to a thread and back costs two thread wake-ups and two GIL hand-overs: about 0.3 ms of CPU
per request on the benchmark machine, half the time a small scikit-learn model takes to predict. Scoring on
the event loop saves that, but blocks every other request (and health checks) while the model runs, so an
`InlineGate` only lets through work that is known to be short:

- the model's flavor runs library code that computes and does no I/O (not `python_function`, whose code
  could wait on a network call);
- the running average of its scoring times is at most `limit_s` (2 ms). Until the first measurement,
  every request goes to a thread. Thread runs are timed in the thread's CPU time (waits for the GIL are
  not the model's), loop runs by the clock. A run slower than the limit replaces the average, so the next
  requests go to threads until fast runs bring it down again.

The caller also keeps large bodies off the loop, since decoding them takes time of its own.
"""

from __future__ import annotations

__all__ = ["COMPUTE_ONLY_FLAVORS", "INLINE_LIMIT_S", "InlineGate"]

COMPUTE_ONLY_FLAVORS = frozenset({"sklearn", "xgboost", "lightgbm", "onnx", "pytorch"})
INLINE_LIMIT_S = 0.002
_WEIGHT = 0.1  # of the newest sample in the running average


class InlineGate:
    """A per-model decision, updated by every scored request, to score on the loop or on a thread.

    Args:
        flavor: The served model's flavor; only `COMPUTE_ONLY_FLAVORS` are ever scored on the loop.
        limit_s: The longest average scoring time that still runs on the loop.
    """

    def __init__(self, flavor: str, limit_s: float = INLINE_LIMIT_S) -> None:
        self._eligible = flavor in COMPUTE_ONLY_FLAVORS
        self._limit = limit_s
        self._average: float | None = None

    def allows(self) -> bool:
        """True when the next small request may be scored on the event loop."""
        average = self._average
        return self._eligible and average is not None and average <= self._limit

    def observe(self, seconds: float) -> None:
        """Add one scoring time (seconds) to the running average; safe to call from any thread."""
        average = self._average
        if average is None or seconds > max(average, self._limit):
            self._average = seconds  # too slow for the loop: closed at once, reopened as fast runs come in
        else:
            self._average = average + _WEIGHT * (seconds - average)

    @property
    def average_s(self) -> float | None:
        """The running average of scoring times, or None before the first request."""
        return self._average
