"""Frozen domain types shared by every layer; no I/O happens here."""

from cairn.entities.artifact import ArtifactInfo
from cairn.entities.dataset import Dataset, DatasetInput, InputTag, RunInputs
from cairn.entities.dataset_version import (
    DatasetStorage,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionDraft,
    DatasetVersionStatus,
)
from cairn.entities.experiment import Experiment
from cairn.entities.lifecycle import LifecycleStage, RunStatus, ViewType
from cairn.entities.metric import Metric, MetricHistory
from cairn.entities.page import PagedList
from cairn.entities.registry import (
    LoggedModel,
    LoggedModelStatus,
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryChange,
)
from cairn.entities.run import Param, Run, RunData, RunInfo, RunTag

__all__ = [
    "ArtifactInfo",
    "Dataset",
    "DatasetInput",
    "DatasetStorage",
    "DatasetSummary",
    "DatasetVersion",
    "DatasetVersionDraft",
    "DatasetVersionStatus",
    "Experiment",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelStatus",
    "Metric",
    "MetricHistory",
    "ModelStage",
    "ModelVersion",
    "ModelVersionStatus",
    "PagedList",
    "Param",
    "RegisteredModel",
    "RegistryChange",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
