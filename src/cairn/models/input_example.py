"""Writing a model's input example into the package as JSON, and reading it back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.errors import InvalidArgument
from cairn.models.input_forms import to_dataframe


def write_input_example(example: Any, path: Path) -> None:
    """Write `example` to `path`: tables in pandas' "split" orient (`columns`, `data`), arrays as `inputs`.

    DataFrames, Series, dicts of values, lists of dicts and lists of scalars are tables; numpy arrays,
    dicts of arrays and lists of lists are arrays.
    """
    import numpy as np

    if isinstance(example, np.ndarray):
        payload: Any = {"inputs": example.tolist()}
    elif (
        isinstance(example, Mapping) and example and all(isinstance(v, np.ndarray) for v in example.values())
    ):
        payload = {"inputs": {str(name): value.tolist() for name, value in example.items()}}
    elif isinstance(example, list | tuple) and example and all(isinstance(r, list | tuple) for r in example):
        payload = {"inputs": np.asarray(example).tolist()}
    else:
        frame = to_dataframe(example)
        text = frame.to_json(orient="split", index=False, date_format="iso", default_handler=str)
        path.write_text(text, encoding="utf-8")
        return
    try:
        path.write_text(json.dumps(payload), encoding="utf-8")
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"input_example cannot be written as JSON: {error}") from None


def read_input_example(path: Path) -> Any:
    """The example written by `write_input_example`: a DataFrame, an array, or a dict of arrays."""
    import numpy as np
    import pandas as pd

    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InvalidArgument(f"input example {path.name} is not valid JSON: {error}") from None
    if isinstance(payload, dict) and "inputs" in payload:
        inputs = payload["inputs"]
        if isinstance(inputs, dict):
            return {name: np.asarray(value) for name, value in inputs.items()}
        return np.asarray(inputs)
    if isinstance(payload, dict) and "columns" in payload and "data" in payload:
        return pd.DataFrame(payload["data"], columns=payload["columns"])
    raise InvalidArgument(f"input example {path.name} holds neither 'inputs' nor 'columns' and 'data'")
