"""FastAPI dependencies shared by the native API's routes, and checks of optional store abilities."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cairn.errors import CairnError
from cairn.server.services import Services, get_services
from cairn.store.protocols import PurgeStore

ServicesDep = Annotated[Services, Depends(get_services)]


def purge_store(services: Services) -> PurgeStore:
    """The services' store as a PurgeStore (the SQL store is one); a server error if it is not."""
    store = services.store
    if not isinstance(store, PurgeStore):
        raise CairnError("this server's store cannot purge deleted runs or experiments")
    return store
