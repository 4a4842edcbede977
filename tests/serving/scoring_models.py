"""Python models the scoring-app tests save by reference (this file is their code path)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cairn.models import PythonModel, PythonModelContext


class ScaledSum(PythonModel):
    """Each row's sum times the `scale` param, with a label: a DataFrame output."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        scale = float((params or {}).get("scale", 1.0))
        total = model_input.sum(axis=1) * scale
        labels = ["high" if value > 10 else "low" for value in total]
        return pd.DataFrame({"total": total.to_numpy(), "label": labels})


class Broken(PythonModel):
    """Fails on every call, as a model with a bug would."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
    ) -> Any:
        raise RuntimeError("the model broke")
