"""Serialising Python objects (text, dicts, figures, images, tables) into artifact bytes."""

from __future__ import annotations

import io
import json
from typing import Any

from cairn.errors import InvalidArgument, MissingExtra


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """JSON for `.json` files (and files without a suffix), YAML for `.yaml`/`.yml`."""
    lowered = artifact_file.lower()
    if lowered.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dictionary, sort_keys=False, allow_unicode=True).encode()
    if "." in lowered.rsplit("/", 1)[-1] and not lowered.endswith(".json"):
        raise InvalidArgument(f"artifact_file {artifact_file!r}: log_dict writes .json, .yaml or .yml files")
    try:
        return json.dumps(dictionary, indent=2, allow_nan=True, default=_json_default).encode()
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"dictionary for {artifact_file!r} is not JSON-serialisable: {error}") from None


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """Render a matplotlib figure in the format the file's suffix names (png, svg, pdf, jpg...)."""
    if not hasattr(figure, "savefig"):
        raise InvalidArgument(f"figure for {artifact_file!r} must be a matplotlib Figure")
    suffix = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else "png"
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format=suffix)
    except ValueError as error:
        raise InvalidArgument(f"artifact_file {artifact_file!r}: {error}") from None
    return buffer.getvalue()


def image_bytes(image: Any, artifact_file: str) -> bytes:
    """Encode a PIL image or a numpy array (HxW, HxWx3, HxWx4; uint8, or floats in [0, 1]) as PNG/JPEG."""
    try:
        from PIL import Image
    except ImportError:
        raise MissingExtra("pillow", "plots") from None
    if not isinstance(image, Image.Image):
        image = Image.fromarray(_to_uint8(image, artifact_file))
    suffix = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else "png"
    fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "gif": "GIF"}.get(
        suffix
    )
    if fmt is None:
        raise InvalidArgument(
            f"artifact_file {artifact_file!r}: images are written as png, jpg, webp, bmp or gif"
        )
    if fmt == "JPEG" and image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _to_uint8(array: Any, artifact_file: str) -> Any:
    import numpy as np

    data = np.asarray(array)
    if data.ndim not in (2, 3) or (data.ndim == 3 and data.shape[2] not in (1, 3, 4)):
        raise InvalidArgument(
            f"image for {artifact_file!r} must be HxW, HxWx1, HxWx3 or HxWx4; got {data.shape}"
        )
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if data.dtype == np.uint8:
        return data
    if np.issubdtype(data.dtype, np.floating):
        if np.isnan(data).any() or data.min() < 0 or data.max() > 1:
            raise InvalidArgument(f"float image for {artifact_file!r} must hold values in [0, 1]")
        return (data * 255).round().astype(np.uint8)
    if np.issubdtype(data.dtype, np.integer):
        if data.min() < 0 or data.max() > 255:
            raise InvalidArgument(f"integer image for {artifact_file!r} must hold values in [0, 255]")
        return data.astype(np.uint8)
    raise InvalidArgument(f"image for {artifact_file!r} has unsupported dtype {data.dtype}")


def table_bytes(data: Any, artifact_file: str) -> bytes:
    """A pandas DataFrame (or a dict of columns) as Parquet, or JSON when the file ends in `.json`."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    buffer = io.BytesIO()
    if artifact_file.lower().endswith(".json"):
        frame.to_json(buffer, orient="split", index=False)
    elif artifact_file.lower().endswith(".parquet"):
        frame.to_parquet(buffer, index=False)
    else:
        raise InvalidArgument(f"artifact_file {artifact_file!r}: tables are written as .parquet or .json")
    return buffer.getvalue()
