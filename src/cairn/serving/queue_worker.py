"""Waiting for and stopping the background threads that drain a work queue (shadow copies, audit events)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any


def wait_until_drained(work: queue.Queue[Any], timeout: float) -> bool:
    """Wait until every item put on `work` has been marked done; False if `timeout` seconds passed first."""
    deadline = time.monotonic() + timeout
    while work.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def stop_worker(work: queue.Queue[Any], worker: threading.Thread | None, timeout: float) -> None:
    """Ask the worker to stop after the items already queued (a None sentinel) and join it."""
    if worker is not None:
        work.put(None)
        worker.join(timeout)
