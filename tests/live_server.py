"""A real uvicorn server on a free loopback port, in a background thread, for tests that speak HTTP."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from cairn.server.app import create_app
from cairn.server.config import ServerConfig
from cairn.server.services import Services, open_services


class LiveServer:
    """Serves a Cairn app until `stop()`; `url` is `http://127.0.0.1:<port>`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        config = uvicorn.Config(
            create_app(services), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)
        self.url = ""

    def start(self) -> LiveServer:
        """Start serving and wait until the socket is bound."""
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop serving, let in-flight requests finish, and close the store."""
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self.services.store.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(backend_store_uri: str, artifacts: Path, **options: object) -> LiveServer:
    """Start a live server over a store and an artifact folder."""
    config = ServerConfig(
        backend_store_uri=backend_store_uri, artifacts_destination=str(artifacts), **options
    )  # type: ignore[arg-type]
    return LiveServer(open_services(config)).start()
