"""What the registry routes of both APIs share: the registry store, the acting user and version numbers."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Request

from cairn._internal.registry_validation import validate_version
from cairn.errors import CairnError, InvalidArgument
from cairn.server.services import Services, get_services
from cairn.store.registry_protocols import (
    LineageStore,
    LoggedModelStore,
    ModelAliasStore,
    ModelVersionStore,
    RegisteredModelStore,
    RegistryStore,
)

UNKNOWN_ACTOR = "unknown"
"""Who a change is recorded for when the request says nothing about its user."""
_REGISTRY_METHODS = tuple(
    sorted(
        name
        for part in (RegisteredModelStore, ModelVersionStore, ModelAliasStore, LoggedModelStore, LineageStore)
        for name, value in vars(part).items()
        if callable(value) and not name.startswith("_")
    )
)


def registry_store(services: Services) -> RegistryStore:
    """The services' store as a RegistryStore (the SQL store is one); a server error if it is not."""
    store: Any = services.store
    missing = [name for name in _REGISTRY_METHODS if not callable(getattr(store, name, None))]
    if missing:
        raise CairnError(f"this server's store has no model registry (it lacks {', '.join(missing[:3])})")
    return cast(RegistryStore, store)


def get_registry(request: Request) -> RegistryStore:
    """FastAPI dependency: the registry store of the app serving this request."""
    return registry_store(get_services(request))


RegistryDep = Annotated[RegistryStore, Depends(get_registry)]
"""Route parameter: the registry store."""


def request_actor(request: Request, claimed: str | None = None) -> str:
    """The user a registry change is recorded for: the one place that decides it.

    Until the server authenticates users, this is the user the request itself names (`claimed`, for
    requests that carry one), else "unknown". Authentication replaces this function's body with the
    authenticated user; routes do not change.
    """
    del request  # the authenticated user will come from here
    return claimed if claimed else UNKNOWN_ACTOR


def parse_version(value: object, field: str = "version") -> int:
    """A model version number from the wire (a string of digits, or an integer), from 1.

    Raises:
        InvalidArgument: naming `field` and the value when it is not such a number.
    """
    try:
        return validate_version(value.strip() if isinstance(value, str) else value, field)
    except InvalidArgument as error:
        raise InvalidArgument(
            f"Invalid value {str(value)[:80]!r} for parameter '{field}' supplied: {error.message}"
        ) from None
