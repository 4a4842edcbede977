"""The model slot: the model a server is currently serving, swapped atomically while requests keep flowing.

A request reads the slot once, with `current()`, and finishes on the `SlotEntry` it got, even if the slot
moves on meanwhile. `swap()` builds the new entry (with its own micro-batcher when the app batches), makes it
current in one step, and retires the old entry's batcher: the close runs on the event loop, so every request
queued on the old batcher is still answered by the old model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.serving.batching import MicroBatcher
    from cairn.serving.inline_gate import InlineGate

__all__ = ["EntryFactory", "ModelSlot", "SlotEntry"]


@dataclass(frozen=True)
class SlotEntry:
    """One served model: the loaded package, its registered version, and its micro-batcher (if batching).

    Attributes:
        model: The loaded model.
        version: Its registered version (None when not from the registry).
        batcher: The batcher scoring its batched requests, or None when the app does not batch.
        inline: Decides when a request it scores alone may run on the event loop (None: never).
    """

    model: LoadedModel
    version: str | None
    batcher: MicroBatcher | None = None
    inline: InlineGate | None = None


EntryFactory = Callable[["LoadedModel", "str | None"], SlotEntry]
"""`prepare(model, version) -> SlotEntry`: how an app turns a loaded model into a servable entry."""

SwapListener = Callable[[SlotEntry], None]


class ModelSlot:
    """Holds the current `SlotEntry` and replaces it atomically.

    Args:
        model: The model served first.
        version: Its registered version, if any.
    """

    def __init__(self, model: LoadedModel, version: str | None = None) -> None:
        self._lock = threading.Lock()
        self._entry = SlotEntry(model, version)
        self._prepare: EntryFactory = SlotEntry
        self._on_swap: SwapListener | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: list[concurrent.futures.Future[None]] = []
        self.swaps = 0

    def current(self) -> SlotEntry:
        """The entry serving now; read it once per request and use it to the end."""
        return self._entry

    def configure(self, prepare: EntryFactory, on_swap: SwapListener | None = None) -> None:
        """Set how entries are built (with the app's batcher) and who hears of swaps; rebuilds the entry."""
        with self._lock:
            self._prepare = prepare
            self._on_swap = on_swap
            self._entry = prepare(self._entry.model, self._entry.version)

    def note_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the event loop batchers run on; call it before submitting to a batcher."""
        if self._loop is None:
            self._loop = loop

    def swap(self, model: LoadedModel, version: str | None) -> SlotEntry:
        """Serve `model` from now on and return its entry; requests already started finish on the old one."""
        with self._lock:
            entry = self._prepare(model, version)
            old, self._entry = self._entry, entry
            self.swaps += 1
            listener = self._on_swap
        if listener is not None:
            listener(entry)
        self._retire(old)
        return entry

    def _retire(self, old: SlotEntry) -> None:
        """Close the old batcher on the event loop, after the requests already queued on it are answered."""
        loop = self._loop  # read after the swap: None means no request ever reached a batcher
        if old.batcher is None or loop is None or loop.is_closed():
            return
        self._closing.append(asyncio.run_coroutine_threadsafe(old.batcher.close(), loop))

    async def close(self) -> None:
        """On the event loop at shutdown: wait for retired batchers to close, then close the current one."""
        while self._closing:
            await asyncio.wrap_future(self._closing.pop())
        batcher = self._entry.batcher
        if batcher is not None:
            await batcher.close()
