"""Operational routes: health and version."""

from fastapi import APIRouter

import cairn

router = APIRouter()


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "OK"}


@router.get("/version")
def version() -> dict[str, str]:
    """The Cairn version serving this request."""
    return {"version": cairn.__version__}
