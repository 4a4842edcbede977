"""A scoring app served by a real uvicorn server on a free loopback port, in a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette


@contextmanager
def serving(app: Starlette, lifespan: str = "off") -> Iterator[httpx.Client]:
    """Serve `app` until the block ends; yields an HTTP client whose base URL is the server.

    With `lifespan="on"` the app's start-up and shut-down hooks run (alias followers, event recorders);
    the server thread must have ended when the block exits.
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="scoring-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the scoring server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    assert not thread.is_alive(), "the scoring server did not stop"
