"""Safe, value-checked conversion of numpy arrays from one dtype to another."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class CastRefused(Exception):
    """A conversion would lose information; the message says why, for the caller to report."""


def cast_array(values: np.ndarray, target: Any) -> np.ndarray:
    """`values` as dtype `target`, refusing any conversion that changes a value.

    Widening is always fine; integers narrow when every value fits; floats become integers when every
    value is whole; integers become floats when every value is exactly representable. Floats narrow
    (float64 to float32) when every value is within range, because JSON and Python cannot express
    32-bit floats, so the rounding to the nearest float32 is accepted.

    Raises:
        CastRefused: naming the first offending value or the reason.
    """
    import numpy as np

    target = np.dtype(target)
    actual = values.dtype
    if actual == target or (actual.kind == target.kind and actual.kind in "US"):
        return values
    if actual.kind == "O" and target.kind != "O":
        try:
            inferred = np.asarray(values.tolist())
        except ValueError:
            raise CastRefused("values of mixed shapes") from None
        if inferred.dtype.kind == "O":
            raise CastRefused("values of mixed types")
        return cast_array(inferred, target)
    if target.kind == "O" and actual.kind in "OUS":
        return values.astype(object)
    if actual.kind in "iuf" and target.kind in "iuf":
        return _cast_number(values, target)
    raise CastRefused(f"{actual} values cannot become {target}")


def _cast_number(values: np.ndarray, target: np.dtype[Any]) -> np.ndarray:
    import numpy as np

    actual = values.dtype
    if np.can_cast(actual, target, "safe"):
        return values.astype(target)
    if actual.kind == "f" and target.kind == "f":
        finite = values[np.isfinite(values)]
        if finite.size and float(np.abs(finite).max()) > float(np.finfo(target).max):
            raise CastRefused(f"a value is out of range for {target}")
        return values.astype(target)
    if actual.kind == "f":
        if np.isnan(values).any():
            raise CastRefused("it has missing values (NaN)")
        whole = np.isfinite(values) & (values == np.floor(values))
        if not whole.all():
            raise CastRefused(f"{values[~whole].flat[0].item()!r} is not a whole number")
    if target.kind in "iu":
        info = np.iinfo(target)
        if values.size and (values.min() < info.min or values.max() > info.max):
            bad = values.max() if values.max() > info.max else values.min()
            raise CastRefused(f"{bad.item()!r} is out of range for {target}")
        return values.astype(target)
    limit = 2 ** (np.finfo(target).nmant + 1)
    if values.size and (values.max() > limit or values.min() < -limit):
        raise CastRefused(f"a value beyond {limit} cannot be represented exactly as {target}")
    return values.astype(target)
