"""Dataset inputs of runs: the dataset a run read, and tags describing how it was used."""

from __future__ import annotations

from dataclasses import dataclass

DATASET_CONTEXT_TAG = "mlflow.data.context"
"""The input tag saying what a run used a dataset for ("training", "evaluation", ...)."""


@dataclass(frozen=True)
class Dataset:
    """A dataset as recorded with a run: identified by name and content digest within an experiment.

    Attributes:
        name: A human name, at most 500 characters.
        digest: A short fingerprint of the content, at most 36 characters.
        source_type: What kind of place the data came from ("local", "s3", "code", ...).
        source: Where the data came from, usually JSON describing the source.
        schema: The dataset's schema as text (usually JSON), if known.
        profile: Summary statistics as text (usually JSON), if known.
    """

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class InputTag:
    """A key/value label on one dataset input of one run (for example its context)."""

    key: str
    value: str


@dataclass(frozen=True)
class DatasetInput:
    """One dataset a run used, with the tags saying how."""

    dataset: Dataset
    tags: tuple[InputTag, ...] = ()

    @property
    def context(self) -> str | None:
        """The value of the `mlflow.data.context` tag, or None."""
        return next((t.value for t in self.tags if t.key == DATASET_CONTEXT_TAG), None)


@dataclass(frozen=True)
class RunInputs:
    """Everything a run recorded as input."""

    dataset_inputs: tuple[DatasetInput, ...] = ()
