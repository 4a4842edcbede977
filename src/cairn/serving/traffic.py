"""Traffic policies between a champion and a challenger model: canary, shadow and automatic rollback.

A `TrafficPolicy` says how requests are shared: `canary` sends a share of them to the challenger (its
answers go back to the client, and its failures surface as that request's failure); `shadow` answers every
request with the champion and scores a copy on the challenger on a worker thread, off the request path (its
failures and latencies are counted, never seen by the client). Over the last `window` challenger requests,
once `min_requests` have been seen, a windowed error rate above `max_error_rate` or a p99 latency above
`max_p99_ms` rolls the challenger back: it gets no more traffic. A `TrafficRouter` applies a policy to two
`ModelSlot`s and reports each decision (start, rollback) to its log and its `on_decision` listener.

A request is scored either whole (`score`: route, predict, count) or in steps, for callers that batch:
`choose` routes it, the caller scores it on that arm's slot (its own micro-batcher), then tells the router
with `champion_answered` (which queues the shadow copy) or `challenger_answered` (which judges rollback).
"""

from __future__ import annotations

import logging
import math
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from cairn.errors import InvalidArgument
from cairn.serving.model_slot import ModelSlot, SlotEntry
from cairn.serving.queue_worker import stop_worker, wait_until_drained

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "SHADOW",
    "DecisionListener",
    "TrafficPolicy",
    "TrafficRouter",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
SHADOW = "shadow"
_MODES = ("canary", "shadow")
_TOP_FIELDS = ("mode", "challenger_share", "rollback")
_ROLLBACK_FIELDS = ("max_error_rate", "max_p99_ms", "window", "min_requests")
log = logging.getLogger("cairn.serving.traffic")

DecisionListener = Callable[[str, str], None]
"""`on_decision(decision, reason)`: hears "start" once when a router starts, and "rollback" at most once."""


@dataclass(frozen=True)
class TrafficPolicy:
    """How requests are shared between a champion and a challenger, and when the challenger is rolled back.

    Attributes:
        mode: "canary" (a share of requests is answered by the challenger) or "shadow" (the challenger
            scores a copy of every request; only the champion answers).
        challenger_share: The share of requests the challenger answers in canary mode (0 to 1).
        max_error_rate: Roll back when the challenger's windowed error rate exceeds this (None: never).
        max_p99_ms: Roll back when the challenger's windowed p99 latency exceeds this many ms (None: never).
        window: How many of the challenger's latest requests the bounds are judged over.
        min_requests: Requests the challenger must have seen before it is judged.
    """

    mode: Literal["canary", "shadow"] = "canary"
    challenger_share: float = 0.0
    max_error_rate: float | None = None
    max_p99_ms: float | None = None
    window: int = 100
    min_requests: int = 20

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(_MODES)}; got {self.mode!r}")
        if not 0.0 <= self.challenger_share <= 1.0:
            raise InvalidArgument(f"challenger_share must be between 0 and 1, got {self.challenger_share}")
        if self.mode == "shadow" and self.challenger_share != 0.0:
            raise InvalidArgument(
                "challenger_share applies to canary mode only; shadow mode copies every request"
            )
        if self.max_error_rate is not None and not 0.0 <= self.max_error_rate < 1.0:
            raise InvalidArgument(f"max_error_rate must be at least 0 and below 1, got {self.max_error_rate}")
        if self.max_p99_ms is not None and not self.max_p99_ms > 0:
            raise InvalidArgument(f"max_p99_ms must be more than zero, got {self.max_p99_ms}")
        if self.window < 1:
            raise InvalidArgument(f"window must be at least 1, got {self.window}")
        if not 1 <= self.min_requests <= self.window:
            raise InvalidArgument(
                f"min_requests must be between 1 and window ({self.window}), got {self.min_requests}"
            )

    @classmethod
    def from_yaml(cls, text: str) -> TrafficPolicy:
        """Read a policy from YAML: `mode`, `challenger_share` and an optional `rollback` mapping.

        Example::

            mode: canary
            challenger_share: 0.1
            rollback: {max_error_rate: 0.05, max_p99_ms: 250, window: 100, min_requests: 20}

        Raises:
            InvalidArgument: The text is not YAML, or a field is unknown, of the wrong type or out of range.
        """
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise InvalidArgument(f"traffic policy is not valid YAML: {error}") from error
        top = _mapping(document, "traffic policy")
        rollback = _mapping(top.get("rollback", {}), "rollback")
        _refuse_unknown(top, _TOP_FIELDS, "")
        _refuse_unknown(rollback, _ROLLBACK_FIELDS, "rollback.")
        mode = top.get("mode")
        if mode not in _MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(_MODES)}; got {mode!r}")
        return cls(
            mode=mode,
            challenger_share=_number(top, "challenger_share", "", 0.0),
            max_error_rate=_optional_number(rollback, "max_error_rate"),
            max_p99_ms=_optional_number(rollback, "max_p99_ms"),
            window=_integer(rollback, "window", 100),
            min_requests=_integer(rollback, "min_requests", 20),
        )


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidArgument(
            f"{what} must be a mapping of field names to values, got {type(value).__name__}"
        )
    return value


def _refuse_unknown(fields: Mapping[str, Any], known: tuple[str, ...], prefix: str) -> None:
    unknown = sorted(set(fields) - set(known))
    if unknown:
        names = ", ".join(prefix + name for name in unknown)
        raise InvalidArgument(f"unknown traffic policy field(s) {names}; known: {', '.join(known)}")


def _number(fields: Mapping[str, Any], name: str, prefix: str, default: float) -> float:
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument(f"{prefix}{name} must be a number, got {value!r}")
    return float(value)


def _optional_number(fields: Mapping[str, Any], name: str) -> float | None:
    if fields.get(name) is None:
        return None
    return _number(fields, name, "rollback.", 0.0)


def _integer(fields: Mapping[str, Any], name: str, default: int) -> int:
    value = fields.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"rollback.{name} must be an integer, got {value!r}")
    return value


class _Window:
    """The challenger's latest outcomes (failed?, latency in ms), judged against the policy's bounds."""

    def __init__(self, policy: TrafficPolicy) -> None:
        self.policy = policy
        self._outcomes: deque[tuple[bool, float]] = deque(maxlen=policy.window)

    def add(self, failed: bool, latency_ms: float) -> str | None:
        """Record one outcome; the reason to roll back, if the window now breaks a bound."""
        self._outcomes.append((failed, latency_ms))
        if len(self._outcomes) < self.policy.min_requests:
            return None
        rate, p99, seen = self.error_rate(), self.p99_ms(), len(self._outcomes)
        bound = self.policy.max_error_rate
        if bound is not None and rate > bound:
            return f"challenger error rate {rate:.3f} over the last {seen} requests exceeds {bound}"
        limit = self.policy.max_p99_ms
        if limit is not None and p99 > limit:
            return f"challenger p99 latency {p99:.3f} ms over the last {seen} requests exceeds {limit} ms"
        return None

    @property
    def size(self) -> int:
        """Outcomes in the window now."""
        return len(self._outcomes)

    def error_rate(self) -> float:
        """Failed share of the window (0 when empty)."""
        if not self._outcomes:
            return 0.0
        return sum(failed for failed, _ in self._outcomes) / len(self._outcomes)

    def p99_ms(self) -> float:
        """The window's 99th-percentile latency, nearest rank (0 when empty)."""
        latencies = sorted(latency for _, latency in self._outcomes)
        if not latencies:
            return 0.0
        return latencies[math.ceil(0.99 * len(latencies)) - 1]


class TrafficRouter:
    """Scores requests on a champion and a challenger slot as a `TrafficPolicy` says.

    Args:
        champion: The slot whose model answers by default.
        challenger: The slot whose model gets a share (canary) or a copy (shadow) of the traffic.
        policy: How traffic is shared and when the challenger is rolled back.
        seed: Seeds the canary's draws, making the sequence of choices repeatable (None: random).
        on_decision: Hears each decision: `("start", description)` now, `("rollback", reason)` at most once.
        shadow_queue: Copies waiting for the challenger at most in shadow mode; beyond it they are dropped
            (and counted) rather than slowing the champion.

    Attributes:
        on_served: Called with "shadow" each time the challenger finishes scoring a shadow copy (the app
            counts it); the app counts the answers `score` returns itself.
    """

    def __init__(
        self,
        champion: ModelSlot,
        challenger: ModelSlot,
        policy: TrafficPolicy,
        *,
        seed: int | None = None,
        on_decision: DecisionListener | None = None,
        shadow_queue: int = 1000,
    ) -> None:
        if champion is challenger:
            raise InvalidArgument("champion and challenger must be two different ModelSlots")
        if shadow_queue < 1:
            raise InvalidArgument(f"shadow_queue must be at least 1, got {shadow_queue}")
        self.champion = champion
        self.challenger = challenger
        self.policy = policy
        self.on_served: Callable[[str], None] | None = None
        self._on_decision = on_decision
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._window = _Window(policy)
        self._rolled_back = False
        self._counts = {"champion": 0, "challenger": 0, "challenger_errors": 0, "shadow_dropped": 0}
        self._decisions: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[Any, Mapping[str, Any] | None] | None] = queue.Queue(shadow_queue)
        self._worker: threading.Thread | None = None
        if policy.mode == "shadow":
            self._worker = threading.Thread(target=self._shadow_loop, name="cairn-shadow", daemon=True)
            self._worker.start()
        self._decide("start", self._describe())

    def score(self, data: Any, params: Mapping[str, Any] | None) -> tuple[Any, str]:
        """Predict on `data` and say who answered: `(predictions, "champion" | "challenger")`.

        In canary mode a request sent to the challenger fails if the challenger fails (the caller answers
        500 for it); its failure counts towards rollback. In shadow mode the answer is always the champion's.
        """
        served_by = self.choose()
        return self.predict(served_by, data, params), served_by

    def choose(self) -> str:
        """Route one request: "challenger" for the canary's seeded share (until a rollback), else "champion".

        Every call in canary mode takes the next draw of the seeded sequence, so the choices of N requests
        are the same whatever order they arrive in, and whether they are then scored alone or batched.
        """
        if self.policy.mode == "canary" and self._draw_challenger():
            return CHALLENGER
        return CHAMPION

    def slot_of(self, served_by: str) -> ModelSlot:
        """The champion's or the challenger's slot."""
        return self.challenger if served_by == CHALLENGER else self.champion

    def predict(
        self,
        served_by: str,
        data: Any,
        params: Mapping[str, Any] | None,
        entry: SlotEntry | None = None,
    ) -> Any:
        """Predict on a request already routed to `served_by` (by `choose`), and count it.

        Args:
            served_by: "champion" or "challenger".
            data: The model input.
            params: The predict params.
            entry: The entry of that arm's slot the request read (default: the slot's current one).
        """
        model = (entry or self.slot_of(served_by).current()).model
        if served_by != CHALLENGER:
            predictions = model.predict(data, params=params)
            self.champion_answered(data, params)
            return predictions
        started = time.perf_counter()
        try:
            predictions = model.predict(data, params=params)
        except Exception as error:
            self.challenger_answered(started, error)
            raise
        self.challenger_answered(started, None)
        return predictions

    def champion_answered(self, data: Any, params: Mapping[str, Any] | None) -> None:
        """Count a request the champion answered; in shadow mode, queue a copy of it for the challenger."""
        with self._lock:
            self._counts["champion"] += 1
        if self.policy.mode == "shadow" and not self.rolled_back:
            self._enqueue_copy(data, params)

    def challenger_answered(self, started: float, error: BaseException | None) -> None:
        """Judge a request the challenger scored (from `started`, a `time.perf_counter()`) or failed.

        An `InvalidArgument` is the client's bad input, not the challenger's fault: it is not counted.
        """
        if isinstance(error, InvalidArgument):
            return
        self._observe(error is not None, started)

    def version_of(self, served_by: str) -> str | None:
        """The version the champion or challenger slot serves now."""
        slot = self.challenger if served_by == CHALLENGER else self.champion
        return slot.current().version

    @property
    def rolled_back(self) -> bool:
        """True once the challenger has been rolled back."""
        return self._rolled_back

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued shadow copy has been scored; False if `timeout` seconds passed first."""
        return wait_until_drained(self._queue, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the shadow worker after the copies already queued are scored (idempotent)."""
        worker, self._worker = self._worker, None
        stop_worker(self._queue, worker, timeout)

    def status(self) -> dict[str, Any]:
        """What `/metadata` shows: the policy, counts, the challenger's window and every decision."""
        with self._lock:
            return {
                "mode": self.policy.mode,
                "challenger_share": 0.0 if self._rolled_back else self.policy.challenger_share,
                "rolled_back": self._rolled_back,
                "champion_version": self.champion.current().version,
                "challenger_version": self.challenger.current().version,
                "requests": dict(self._counts),
                "window": {
                    "requests": self._window.size,
                    "error_rate": self._window.error_rate(),
                    "p99_ms": self._window.p99_ms(),
                },
                "decisions": [dict(decision) for decision in self._decisions],
            }

    def _draw_challenger(self) -> bool:
        with self._lock:
            draw = self._random.random()  # drawn even after a rollback, so the sequence stays repeatable
            return not self._rolled_back and draw < self.policy.challenger_share

    def _observe(self, failed: bool, started: float) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self._counts["challenger"] += 1
            self._counts["challenger_errors"] += failed
            reason = None if self._rolled_back else self._window.add(failed, latency_ms)
            if reason is not None:
                self._rolled_back = True
        if reason is not None:
            version = self.challenger.current().version
            self._decide("rollback", f"{reason}; challenger version {version} gets no more traffic")

    def _enqueue_copy(self, data: Any, params: Mapping[str, Any] | None) -> None:
        copy = data.copy() if hasattr(data, "copy") else data
        try:
            self._queue.put_nowait((copy, dict(params) if params is not None else None))
        except queue.Full:
            with self._lock:
                self._counts["shadow_dropped"] += 1

    def _shadow_loop(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if not self.rolled_back:
                    self._shadow_score(*item)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _shadow_score(self, data: Any, params: Mapping[str, Any] | None) -> None:
        try:
            self.predict(CHALLENGER, data, params)
        except Exception:  # counted by predict; a shadow failure never reaches a client
            log.debug("shadow scoring failed", exc_info=True)
        if self.on_served is not None:
            self.on_served(SHADOW)

    def _decide(self, decision: str, reason: str) -> None:
        with self._lock:
            self._decisions.append(
                {"decision": decision, "reason": reason, "timestamp_ms": int(time.time() * 1000)}
            )
        log.warning("traffic decision %s: %s", decision, reason)
        if self._on_decision is not None:
            try:
                self._on_decision(decision, reason)
            except Exception:  # a listener's failure (an unreachable audit trail) must not fail a request
                log.exception("the listener of traffic decision %s failed", decision)

    def _describe(self) -> str:
        policy = self.policy
        what = (
            f"canary sending {policy.challenger_share:.0%} of requests to the challenger"
            if policy.mode == "canary"
            else "shadow copying every request to the challenger"
        )
        return (
            f"{what} (champion version {self.champion.current().version}, challenger version "
            f"{self.challenger.current().version}); rollback above error rate {policy.max_error_rate} or "
            f"p99 {policy.max_p99_ms} ms over {policy.window} requests, judged after {policy.min_requests}"
        )
