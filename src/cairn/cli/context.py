"""The state every command shares: the tracking URI and the client opened for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cairn.settings import Settings
    from cairn.tracking.client import TrackingClient


@dataclass
class CliContext:
    """Holds the `--tracking-uri` option and opens one client for it on first use."""

    tracking_uri: str | None
    _client: TrackingClient | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """Settings from the `CAIRN_*` environment variables."""
        from cairn.settings import Settings

        return Settings.from_env()

    def resolved_uri(self) -> str:
        """The tracking URI in force: the option, else `CAIRN_TRACKING_URI`, else `./cairn-store`."""
        if self.tracking_uri:
            return self.tracking_uri
        from cairn.tracking.uri import get_tracking_uri

        return get_tracking_uri(self.settings())

    def client(self) -> TrackingClient:
        """A client on its own store (not the process-wide cache), closed when the command ends."""
        if self._client is None:
            from cairn.store.resolve import open_tracking_store
            from cairn.tracking.client import TrackingClient

            settings = self.settings()
            uri = self.resolved_uri()
            self._client = TrackingClient(uri, settings=settings, store=open_tracking_store(uri, settings))
        return self._client

    def close(self) -> None:
        """Close the store of the client, if one was opened."""
        if self._client is not None:
            self._client.flush()
            self._client.store.close()
            self._client = None


pass_cli = click.make_pass_decorator(CliContext)
