"""MLflow-compatible artifact routes: the `mlflow-artifacts` proxy and the run artifact listing."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument, NotFound
from cairn.server.artifact_transfer import (
    ServicesDep,
    download_response,
    file_key,
    receive_upload,
    refuse_query,
    url_key,
)
from cairn.server.errors import error_body
from cairn.server.services import Services

router = APIRouter()
"""The proxy, mounted under `/api/2.0/mlflow-artifacts` (and the `/ajax-api` alias)."""
listing_router = APIRouter()
"""`artifacts/list`, mounted with the tracking routes under `/api/2.0/mlflow`."""

MULTIPART_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"
"""The message the MLflow client recognises to fall back from multipart to a single PUT."""
RUN_ARTIFACTS_FOLDER = "artifacts"


@router.put("/artifacts/{path:path}")
async def upload_artifact(path: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Store the raw request body as one file, streamed; runs' files get their digest recorded."""
    refuse_query(request)
    key = file_key(path)
    info = await receive_upload(request, services.destination, key, services.config.max_upload_bytes)
    await anyio.to_thread.run_sync(_record_run_file, services, info)
    return {}


@router.get("/artifacts")
def list_proxied(services: ServicesDep, path: str | None = None) -> dict[str, Any]:
    """List the direct children of folder `path` by name (nothing for a file), as MLflow's client expects."""
    key = url_key(path)
    return {"files": [_listed(info, len(key) + 1 if key else 0) for info in services.destination.list(key)]}


@router.get("/artifacts/{path:path}")
def download_artifact(path: str, request: Request, services: ServicesDep) -> StreamingResponse:
    """Stream one file as an attachment."""
    refuse_query(request)
    return download_response(services.destination, file_key(path))


@router.delete("/artifacts/{path:path}")
def delete_artifact(path: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Delete a file or folder; deleting what is not there succeeds. The destination root is refused."""
    refuse_query(request)
    services.destination.delete(file_key(path))
    return {}


@router.post("/mpu/{action}/{path:path}")
def multipart_upload(action: str, path: str) -> JSONResponse:
    """Multipart uploads are not offered: answer so that the MLflow client falls back to a single PUT."""
    message = f"{MULTIPART_UNSUPPORTED} (multipart {action!r} of {path!r}); upload the file with one PUT"
    return JSONResponse(error_body("ENDPOINT_NOT_FOUND", message), status_code=404)


@listing_router.get("/artifacts/list")
def list_run_artifacts(
    services: ServicesDep,
    run_id: str | None = None,
    run_uuid: str | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """List a run's folder: `root_uri` is the run's artifact URI, file paths are relative to it."""
    chosen = run_id or run_uuid
    if not chosen:
        raise InvalidArgument("run_id must be given to list a run's artifacts")
    root_uri = services.store.get_run(chosen).info.artifact_uri
    prefix = services.proxy_prefix(root_uri)
    key = url_key(path)
    folder = f"{prefix}/{key}" if key else prefix
    files = [_listed(info, len(prefix) + 1) for info in services.destination.list(folder)]
    return {"root_uri": root_uri, "files": files}


def _listed(info: ArtifactInfo, strip: int) -> dict[str, Any]:
    """MLflow's FileInfo JSON for an entry, its path cut to the part after `strip` characters."""
    entry: dict[str, Any] = {"path": info.path[strip:], "is_dir": info.is_dir}
    if not info.is_dir and info.file_size is not None:
        entry["file_size"] = info.file_size
    return entry


def _record_run_file(services: Services, info: ArtifactInfo) -> None:
    """Record size and digest when the key is `<exp>/<run_id>/artifacts/<file>` of an existing run."""
    parts = info.path.split("/", 3)
    if len(parts) < 4 or parts[2] != RUN_ARTIFACTS_FOLDER:
        return
    run_id = parts[1]
    try:
        artifact_uri = services.store.get_run(run_id).info.artifact_uri
        prefix = services.proxy_prefix(artifact_uri)
    except (NotFound, InvalidArgument):
        return
    if prefix != "/".join(parts[:3]):
        return
    record = ArtifactInfo(path=parts[3], is_dir=False, file_size=info.file_size, sha256=info.sha256)
    services.store.record_artifacts(run_id, [record])
