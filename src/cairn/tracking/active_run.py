"""The active-run stack of the fluent API (one per thread) and the ActiveRun context manager."""

from __future__ import annotations

import atexit
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from cairn.entities import Run, RunData, RunInfo, RunStatus

if TYPE_CHECKING:
    from cairn.tracking.client import TrackingClient
    from cairn.tracking.system_metrics import SystemMetricsSampler


class ActiveRun:
    """A run started by `cairn.start_run`; as a context manager it ends the run on exit.

    Leaving the block normally ends the run FINISHED, by an exception FAILED, by Ctrl-C KILLED.
    """

    def __init__(self, run: Run, client: TrackingClient, sampler: SystemMetricsSampler | None = None) -> None:
        self._run = run
        self.client = client
        self.sampler = sampler
        self.run_id = run.info.run_id  # a plain attribute: read on every fluent log_metric

    @property
    def info(self) -> RunInfo:
        """The run's info as it was when the run started."""
        return self._run.info

    @property
    def data(self) -> RunData:
        """The run's current params, tags and latest metrics (read from the store)."""
        return self.client.get_run(self.run_id).data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        end_run_object(self, status)

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.run_id!r}, name={self.info.run_name!r})"


local_state = threading.local()
_all_lock = threading.Lock()
_all_active: list[ActiveRun] = []
_uncaught_exception = False


def run_stack() -> list[ActiveRun]:
    """This thread's stack of active runs, innermost last."""
    stack: list[ActiveRun] | None = getattr(local_state, "stack", None)
    if stack is None:
        stack = local_state.stack = []
    return stack


def push(active: ActiveRun) -> None:
    """Make `active` this thread's innermost active run."""
    run_stack().append(active)
    with _all_lock:
        _all_active.append(active)


def end_run_object(active: ActiveRun, status: RunStatus) -> None:
    """Stop the run's sampler, flush, set the final status and take it off the stacks."""
    stack = run_stack()
    if active in stack:
        stack.remove(active)
    with _all_lock:
        if active not in _all_active:
            return
        _all_active.remove(active)
    if active.sampler is not None:
        active.sampler.stop(timeout=5.0)
    active.client.set_terminated(active.run_id, status)


def _end_all_at_exit() -> None:
    status = RunStatus.FAILED if _uncaught_exception else RunStatus.FINISHED
    with _all_lock:
        remaining = list(reversed(_all_active))
    for active in remaining:
        try:
            end_run_object(active, status)
        except Exception as error:  # exit must go on; say what was not recorded
            print(f"cairn: could not end run {active.run_id} at exit: {error}", file=sys.stderr)


def _note_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    global _uncaught_exception
    _uncaught_exception = True
    _previous_hook(exc_type, exc, tb)


_previous_hook = sys.excepthook
sys.excepthook = _note_uncaught
atexit.register(_end_all_at_exit)
