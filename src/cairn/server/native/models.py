"""Pydantic request and response models of the native API (they are its OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from cairn.entities import (
    ArtifactInfo,
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    Metric,
    Run,
    RunInfo,
    RunInputs,
    RunStatus,
    ViewType,
)
from cairn.store.wire_format import float_from_json, float_to_json

MAX_BATCH_ITEMS = 10_000
MAX_IDS = 10_000

WireFloat = Annotated[
    float,
    BeforeValidator(lambda value: float_from_json(value, "metric value")),
    PlainSerializer(float_to_json, return_type=float | str, when_used="json"),
    Field(description='A number; NaN and infinities as "NaN", "Infinity" and "-Infinity".'),
]


class Request(BaseModel):
    """Base of request bodies: unknown fields are refused, so that a misspelt field is never ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """The error shape of every failed request."""

    error_code: str
    message: str


# Experiments


class ExperimentModel(BaseModel):
    """An experiment."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    creation_time: int
    last_update_time: int
    tags: dict[str, str]

    @classmethod
    def of(cls, experiment: Experiment) -> ExperimentModel:
        """The model of an Experiment entity."""
        return cls(
            experiment_id=experiment.experiment_id,
            name=experiment.name,
            artifact_location=experiment.artifact_location,
            lifecycle_stage=experiment.lifecycle_stage,
            creation_time=experiment.creation_time,
            last_update_time=experiment.last_update_time,
            tags=dict(experiment.tags),
        )


class CreateExperiment(Request):
    """Create an experiment; the server chooses its artifact location."""

    name: str
    artifact_location: str | None = Field(None, description="Refused if set: the server places artifacts.")
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_BATCH_ITEMS)


class CreatedExperiment(BaseModel):
    """The id of a new experiment."""

    experiment_id: str


class RenameExperiment(Request):
    """A new name for an experiment."""

    name: str


class TagValue(Request):
    """The value of a tag set by key."""

    value: str


class SearchExperiments(Request):
    """One page of an experiment search."""

    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: int = 1000
    filter_string: str | None = None
    order_by: list[str] = Field(default_factory=list, max_length=100)
    page_token: str | None = None


class ExperimentPage(BaseModel):
    """A page of experiments and the token of the next page (null on the last)."""

    experiments: list[ExperimentModel]
    next_page_token: str | None = None


class ExperimentIds(Request):
    """Experiment ids to act on."""

    experiment_ids: list[str] = Field(max_length=MAX_IDS)


# Runs


class KeyValue(BaseModel):
    """A param or tag."""

    model_config = ConfigDict(extra="forbid")

    key: str
    value: str


class MetricModel(BaseModel):
    """One metric point."""

    model_config = ConfigDict(extra="forbid")

    key: str
    value: WireFloat
    timestamp: int
    step: int = 0

    @classmethod
    def of(cls, metric: Metric) -> MetricModel:
        """The model of a Metric entity."""
        return cls(key=metric.key, value=metric.value, timestamp=metric.timestamp, step=metric.step)


class RunInfoModel(BaseModel):
    """A run's identity, status and timing."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage

    @classmethod
    def of(cls, info: RunInfo) -> RunInfoModel:
        """The model of a RunInfo entity."""
        return cls(
            run_id=info.run_id,
            experiment_id=info.experiment_id,
            run_name=info.run_name,
            user_id=info.user_id,
            status=info.status,
            start_time=info.start_time,
            end_time=info.end_time,
            artifact_uri=info.artifact_uri,
            lifecycle_stage=info.lifecycle_stage,
        )


class RunDataModel(BaseModel):
    """A run's params, tags and the latest point of each metric."""

    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[MetricModel]


class DatasetModel(BaseModel):
    """A dataset as recorded with a run, identified by name and digest within its experiment."""

    model_config = ConfigDict(extra="forbid")

    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(None, alias="schema")
    profile: str | None = None


class DatasetInputModel(BaseModel):
    """One dataset a run used, with input tags saying how (for example `mlflow.data.context`)."""

    model_config = ConfigDict(extra="forbid")

    dataset: DatasetModel
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)

    @classmethod
    def of(cls, item: DatasetInput) -> DatasetInputModel:
        """The model of a DatasetInput entity."""
        d = item.dataset
        dataset = DatasetModel(
            name=d.name,
            digest=d.digest,
            source_type=d.source_type,
            source=d.source,
            schema=d.schema,
            profile=d.profile,
        )
        return cls(dataset=dataset, tags=[KeyValue(key=t.key, value=t.value) for t in item.tags])

    def entity(self) -> DatasetInput:
        """The DatasetInput entity this model describes."""
        d = self.dataset
        dataset = Dataset(d.name, d.digest, d.source_type, d.source, d.schema_, d.profile)
        return DatasetInput(dataset, tuple(InputTag(t.key, t.value) for t in self.tags))


class RunInputsModel(BaseModel):
    """Everything a run recorded as input."""

    dataset_inputs: list[DatasetInputModel]

    @classmethod
    def of(cls, inputs: RunInputs) -> RunInputsModel:
        """The model of a RunInputs entity."""
        return cls(dataset_inputs=[DatasetInputModel.of(item) for item in inputs.dataset_inputs])


class RunModel(BaseModel):
    """A run: its info, its data and its inputs."""

    info: RunInfoModel
    data: RunDataModel
    inputs: RunInputsModel

    @classmethod
    def of(cls, run: Run) -> RunModel:
        """The model of a Run entity."""
        data = RunDataModel(
            params=dict(run.data.params),
            tags=dict(run.data.tags),
            metrics=[MetricModel.of(m) for m in run.data.latest_metrics.values()],
        )
        return cls(info=RunInfoModel.of(run.info), data=data, inputs=RunInputsModel.of(run.inputs))


class LogInputs(Request):
    """Datasets a run used; logging one again reuses it and merges its input tags."""

    datasets: list[DatasetInputModel] = Field(max_length=MAX_BATCH_ITEMS)


class CreateRun(Request):
    """Create a RUNNING run in an active experiment."""

    experiment_id: str
    user_id: str
    start_time: int
    run_name: str
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)
    parent_run_id: str | None = None


class UpdateRun(Request):
    """Change a run's status, end time or name (fields left null are unchanged)."""

    status: RunStatus | None = None
    end_time: int | None = None
    run_name: str | None = None


class LogBatch(Request):
    """Metrics, params and tags logged to a run in one transaction: all of it, or none."""

    metrics: list[MetricModel] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)
    params: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)


class SearchRuns(Request):
    """One page of a run search over some experiments."""

    experiment_ids: list[str] = Field(max_length=MAX_IDS)
    filter_string: str | None = None
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: int = 1000
    order_by: list[str] = Field(default_factory=list, max_length=100)
    page_token: str | None = None


class RunPage(BaseModel):
    """A page of runs and the token of the next page (null on the last)."""

    runs: list[RunModel]
    next_page_token: str | None = None


class Heartbeat(Request):
    """The processes driving these runs are alive at `now` (ms since the epoch)."""

    run_ids: list[str] = Field(max_length=MAX_IDS)
    now: int


class FailStale(Request):
    """Fail RUNNING runs without a heartbeat for `timeout_ms` before `now`."""

    timeout_ms: int = Field(ge=0)
    now: int


class RunIds(BaseModel):
    """Run ids to act on, or that were acted on."""

    model_config = ConfigDict(extra="forbid")

    run_ids: list[str] = Field(max_length=MAX_IDS)


class DeletedRun(BaseModel):
    """A soft-deleted run and where its artifacts are."""

    run_id: str
    artifact_uri: str


class DeletedRuns(BaseModel):
    """Soft-deleted runs."""

    runs: list[DeletedRun]


# Metric histories, ingestion and artifact records


class MetricHistoryModel(BaseModel):
    """Every point of one metric as three columns, in logging order."""

    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[WireFloat]


class IngestResult(BaseModel):
    """The outcome of an ingestion batch: `applied` is false when the batch id was applied before."""

    batch_id: str
    applied: bool
    points: int


class ArtifactRecord(BaseModel):
    """The recorded size and SHA-256 of one artifact file."""

    model_config = ConfigDict(extra="forbid")

    path: str
    is_dir: bool = False
    file_size: int | None = None
    sha256: str | None = None

    @classmethod
    def of(cls, info: ArtifactInfo) -> ArtifactRecord:
        """The model of an ArtifactInfo entity."""
        return cls(path=info.path, is_dir=info.is_dir, file_size=info.file_size, sha256=info.sha256)

    def entity(self) -> ArtifactInfo:
        """The ArtifactInfo entity this record describes."""
        return ArtifactInfo(self.path, self.is_dir, self.file_size, self.sha256)


class ArtifactRecords(BaseModel):
    """Recorded artifact files of a run."""

    model_config = ConfigDict(extra="forbid")

    files: list[ArtifactRecord] = Field(max_length=MAX_BATCH_ITEMS)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, all with the `ErrorBody` shape."""
    return {status: {"model": ErrorBody} for status in statuses}
