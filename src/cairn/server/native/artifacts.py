"""Native artifact routes: a run's files under `/api/v1/runs/{run_id}/artifacts`, with digests."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from cairn.entities import ArtifactInfo
from cairn.server.artifact_transfer import (
    ServicesDep,
    download_response,
    file_key,
    receive_upload,
    refuse_query,
    url_key,
)

router = APIRouter(tags=["artifacts"])


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(run_id: str, services: ServicesDep, path: str | None = None) -> dict[str, Any]:
    """The direct children of folder `path` of the run, paths relative to the run's artifact root.

    Files carry the size and SHA-256 recorded when they were written, where one was.
    """
    root_uri = services.store.get_run(run_id).info.artifact_uri
    prefix = services.proxy_prefix(root_uri)
    key = url_key(path)
    listed = services.destination.list(_join(prefix, key))
    records = services.store.get_artifact_records(run_id, key)
    files = []
    for info in listed:
        relative = info.path[len(prefix) + 1 :]
        recorded = records.get(relative)
        if info.is_dir or recorded is None or recorded.file_size != info.file_size:
            recorded = ArtifactInfo(relative, info.is_dir, info.file_size)
        files.append(_info_json(recorded))
    return {"root_uri": root_uri, "files": files}


@router.put("/runs/{run_id}/artifacts/{path:path}")
async def upload_artifact(run_id: str, path: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Store the raw request body as file `path` of the run, streamed; answer with its size and digest."""
    refuse_query(request)
    key = file_key(path)
    store, prefix = await anyio.to_thread.run_sync(services.run_artifacts, run_id)
    written = await receive_upload(request, store, _join(prefix, key), services.config.max_upload_bytes)
    info = ArtifactInfo(path=key, is_dir=False, file_size=written.file_size, sha256=written.sha256)
    await anyio.to_thread.run_sync(services.store.record_artifacts, run_id, [info])
    return _info_json(info)


@router.get("/runs/{run_id}/artifacts/{path:path}")
def download_artifact(run_id: str, path: str, request: Request, services: ServicesDep) -> StreamingResponse:
    """Stream one file of the run as an attachment."""
    refuse_query(request)
    key = file_key(path)
    store, prefix = services.run_artifacts(run_id)
    return download_response(store, _join(prefix, key))


@router.delete("/runs/{run_id}/artifacts/{path:path}")
def delete_artifact(run_id: str, path: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    """Delete a file or folder of the run; deleting what is not there succeeds."""
    refuse_query(request)
    key = file_key(path)
    store, prefix = services.run_artifacts(run_id)
    store.delete(_join(prefix, key))
    return {}


def _join(prefix: str, key: str) -> str:
    return f"{prefix}/{key}" if key else prefix


def _info_json(info: ArtifactInfo) -> dict[str, Any]:
    return {"path": info.path, "is_dir": info.is_dir, "file_size": info.file_size, "sha256": info.sha256}
