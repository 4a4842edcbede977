"""Registry entities: registered models, model versions, logged models and the registry audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cairn.errors import InvalidArgument


class ModelVersionStatus(StrEnum):
    """Where a model version's registration stands; MLflow's names."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


class ModelStage(StrEnum):
    """MLflow's legacy deployment stages, kept for clients that still send them; aliases replace them."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: str) -> ModelStage:
        """The stage named by `value` in any letter case; `InvalidArgument` naming the field otherwise."""
        for stage in cls:
            if stage.value.lower() == str(value).lower():
                return stage
        allowed = ", ".join(stage.value for stage in cls)
        raise InvalidArgument(f"stage must be one of {allowed}; got {value!r}")


class LoggedModelStatus(StrEnum):
    """The upload state of a logged model; MLflow 3's names."""

    PENDING = "LOGGED_MODEL_PENDING"
    READY = "LOGGED_MODEL_READY"
    UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"


@dataclass(frozen=True)
class ModelVersion:
    """One numbered version of a registered model.

    Attributes:
        name: The registered model's name.
        version: The version number, from 1, never reused within a model.
        source: Where the model files live: a `runs:/`, `models:/` or store artifact URI.
        run_id: The run that produced the model, when known.
        model_id: The logged model (`m-...`) the version was made from, when known.
        aliases: Aliases currently pointing at this version, sorted.
        stage: The legacy stage (`None`, `Staging`, `Production`, `Archived`).
    """

    name: str
    version: int
    creation_time: int
    last_updated_time: int
    source: str
    user_id: str = ""
    description: str = ""
    run_id: str | None = None
    model_id: str | None = None
    status: ModelVersionStatus = ModelVersionStatus.READY
    status_message: str = ""
    run_link: str = ""
    stage: ModelStage = ModelStage.NONE
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisteredModel:
    """A named model whose versions are registered over time.

    Attributes:
        aliases: Alias name -> version number.
        latest_versions: The newest version in each legacy stage (MLflow's `latest_versions`).
    """

    name: str
    creation_time: int
    last_updated_time: int
    user_id: str = ""
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)
    latest_versions: tuple[ModelVersion, ...] = ()


@dataclass(frozen=True)
class LoggedModel:
    """A model logged to an experiment (MLflow 3's LoggedModel), usually from a run.

    Attributes:
        model_id: `m-` followed by 32 hex digits.
        artifact_uri: Where its files are stored (`<experiment location>/models/<model_id>/artifacts`).
        params: Parameters recorded on the model itself.
        registrations: (registered model name, version) pairs made from this model.
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_uri: str
    creation_time: int
    last_updated_time: int
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    status_message: str = ""
    model_type: str = ""
    source_run_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    registrations: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class RegistryChange:
    """One row of the registry's audit trail: who changed what, when, from which value to which.

    Attributes:
        action: What happened, e.g. `create_model`, `rename_model`, `set_alias`, `delete_version`.
        version: The version concerned, if any.
        field_name: The changed field (`description`, `tag:<key>`, `alias:<name>`, `stage`, ...), or "".
        old_value: The value before the change (None when there was none).
        new_value: The value after the change (None when removed).
    """

    change_id: int
    time: int
    actor: str
    action: str
    model_name: str
    version: int | None = None
    field_name: str = ""
    old_value: str | None = None
    new_value: str | None = None
