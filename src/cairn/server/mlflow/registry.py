"""The MLflow-compatible model registry and MLflow 3's logged models, as one router.

Registered models and model versions (ModelRegistryService), logged models and run outputs.
"""

from __future__ import annotations

from fastapi import APIRouter

from cairn.server.mlflow import logged_models, model_versions, registered_models

router = APIRouter(include_in_schema=False)
for _part in (registered_models.router, model_versions.router, logged_models.router):
    router.include_router(_part)

__all__ = ["router"]
