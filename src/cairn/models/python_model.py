"""The base class for models written as Python code, and the context they load from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PythonModelContext:
    """What a `PythonModel` gets at load and predict time.

    Attributes:
        artifacts: Artifact name -> local path of the file or folder copied into the package.
        model_config: The settings given at save time (the `model_config` option).
    """

    artifacts: Mapping[str, str] = field(default_factory=dict)
    model_config: Mapping[str, Any] = field(default_factory=dict)


class PythonModel(ABC):
    """A model written as Python code: subclass it and implement `predict`.

    The package saves the instance by reference (module and class name, plus the instance's
    JSON-serialisable attributes) when its class lives in one of the `code_paths`; otherwise it is
    saved with cloudpickle. Large state belongs in `artifacts`, read back in `load_context`.
    """

    def load_context(self, context: PythonModelContext) -> None:  # noqa: B027 - optional hook
        """Called once after loading; read artifacts (`context.artifacts[name]`) here."""

    @abstractmethod
    def predict(
        self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
    ) -> Any:
        """Predict on `model_input` (a DataFrame unless the `input_kind` option says otherwise)."""
