"""MLflow-compatible dataset inputs: the `runs/log-inputs` route and the `RunInputs` JSON shape."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from cairn.entities import Dataset, DatasetInput, InputTag, RunInputs
from cairn.errors import InvalidArgument
from cairn.server.mlflow.requests import Args, Field, Kind, ServicesDep, messages, parsed, string

router = APIRouter(include_in_schema=False)

_DATASET = Field(
    "dataset",
    Kind.MESSAGE,
    required=True,
    fields=(
        string("name", required=True),
        string("digest", required=True),
        string("source_type", required=True),
        string("source", required=True),
        string("schema"),
        string("profile"),
    ),
)
_LOG_INPUTS = parsed(
    string("run_id", required=True),
    messages("datasets", messages("tags", string("key", required=True), string("value")), _DATASET),
    messages("models", string("model_id", required=True)),
)


@router.post("/runs/log-inputs")
def log_inputs(args: Annotated[Args, Depends(_LOG_INPUTS)], services: ServicesDep) -> Response:
    """Record the datasets a run used; logging one again reuses it and merges its input tags."""
    if args.get("models"):
        raise InvalidArgument(
            "Invalid value for parameter 'models': model inputs are not supported, "
            "as this server does not record logged models"
        )
    services.store.log_inputs(args["run_id"], [_dataset_input(item) for item in args.get("datasets", [])])
    return Response(content=b"{}", media_type="application/json")


def _dataset_input(fields: Args) -> DatasetInput:
    dataset: Args = fields["dataset"]
    return DatasetInput(
        dataset=Dataset(
            name=dataset["name"],
            digest=dataset["digest"],
            source_type=dataset["source_type"],
            source=dataset["source"],
            schema=dataset.get("schema"),
            profile=dataset.get("profile"),
        ),
        tags=tuple(InputTag(tag["key"], tag.get("value", "")) for tag in fields.get("tags", [])),
    )


def run_inputs_json(inputs: RunInputs) -> dict[str, Any]:
    """A `RunInputs` message: `{"dataset_inputs": [{"tags": [...], "dataset": {...}}]}`, or `{}` if none.

    Unset fields are left out, as protobuf JSON does (no `schema`/`profile` when unknown, no empty `tags`).
    """
    if not inputs.dataset_inputs:
        return {}
    return {"dataset_inputs": [_dataset_input_json(item) for item in inputs.dataset_inputs]}


def _dataset_input_json(item: DatasetInput) -> dict[str, Any]:
    dataset = item.dataset
    shape: dict[str, Any] = {
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
    }
    if dataset.schema is not None:
        shape["schema"] = dataset.schema
    if dataset.profile is not None:
        shape["profile"] = dataset.profile
    rendered: dict[str, Any] = {"dataset": shape}
    if item.tags:
        rendered["tags"] = [{"key": tag.key, "value": tag.value} for tag in item.tags]
    return rendered
