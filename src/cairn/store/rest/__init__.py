"""The tracking store protocols over HTTP to a Cairn server (the client of the native `/api/v1` API)."""

from cairn.store.rest.errors import ServerUnavailable
from cairn.store.rest.session import HttpOptions
from cairn.store.rest.store import RestStore

__all__ = ["HttpOptions", "RestStore", "ServerUnavailable"]
