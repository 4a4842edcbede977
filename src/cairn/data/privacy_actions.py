"""The privacy policy actions (drop, mask, keyed hash, generalise, redact text) and their dict form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from cairn.data.pii_patterns import get_detector
from cairn.errors import InvalidArgument

__all__ = ["Action", "Drop", "Generalise", "KeyedHash", "Mask", "RedactText", "action_from_dict"]

DateUnit = Literal["day", "month", "year"]
_DATE_UNITS = ("day", "month", "year")


@dataclass(frozen=True)
class Drop:
    """Remove the column."""

    name: ClassVar[str] = "drop"

    def to_dict(self) -> dict[str, Any]:
        """The action as a JSON-able dict."""
        return {"action": self.name}


@dataclass(frozen=True)
class Mask:
    """Replace letters and digits by `*` except the last `keep_last`; emails keep their domain."""

    keep_last: int = 4
    name: ClassVar[str] = "mask"

    def __post_init__(self) -> None:
        keep = self.keep_last
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise InvalidArgument(f"keep_last must be an integer of 0 or more, got {keep!r}")

    def to_dict(self) -> dict[str, Any]:
        """The action as a JSON-able dict."""
        return {"action": self.name, "keep_last": self.keep_last}


@dataclass(frozen=True)
class KeyedHash:
    """Replace each value by the hex HMAC-SHA256 of its text under the policy's secret; joins still work."""

    name: ClassVar[str] = "keyed_hash"

    def to_dict(self) -> dict[str, Any]:
        """The action as a JSON-able dict."""
        return {"action": self.name}


@dataclass(frozen=True)
class Generalise:
    """Coarsen values: numbers to bins of `bin_width`, dates to `date_unit`, strings to `prefix_length`.

    Only the option that fits the column's type is needed; the bin of a number is its lower bound.
    """

    bin_width: float | None = None
    date_unit: DateUnit | None = None
    prefix_length: int | None = None
    name: ClassVar[str] = "generalise"

    def __post_init__(self) -> None:
        width, prefix = self.bin_width, self.prefix_length
        if width is not None and (
            isinstance(width, bool) or not isinstance(width, int | float) or width <= 0
        ):
            raise InvalidArgument(f"bin_width must be a positive number, got {width!r}")
        if self.date_unit is not None and self.date_unit not in _DATE_UNITS:
            raise InvalidArgument(f"date_unit must be one of {_DATE_UNITS}, got {self.date_unit!r}")
        if prefix is not None and (isinstance(prefix, bool) or not isinstance(prefix, int) or prefix < 1):
            raise InvalidArgument(f"prefix_length must be a positive integer, got {prefix!r}")

    def to_dict(self) -> dict[str, Any]:
        """The action as a JSON-able dict (unset options left out)."""
        options = {
            "bin_width": self.bin_width,
            "date_unit": self.date_unit,
            "prefix_length": self.prefix_length,
        }
        return {"action": self.name, **{key: value for key, value in options.items() if value is not None}}


@dataclass(frozen=True)
class RedactText:
    """Replace personal data inside free text by placeholders such as `[EMAIL]` (all kinds, or `kinds`)."""

    kinds: tuple[str, ...] | None = None
    name: ClassVar[str] = "redact_text"

    def __post_init__(self) -> None:
        if self.kinds is None:
            return
        if not isinstance(self.kinds, tuple) or not all(isinstance(kind, str) for kind in self.kinds):
            raise InvalidArgument(f"kinds must be a list of PII kinds, got {self.kinds!r}")
        for kind in self.kinds:
            get_detector(kind)

    def to_dict(self) -> dict[str, Any]:
        """The action as a JSON-able dict."""
        return {"action": self.name, **({"kinds": list(self.kinds)} if self.kinds is not None else {})}


Action: TypeAlias = Drop | Mask | KeyedHash | Generalise | RedactText
_ACTION_OPTIONS: dict[str, tuple[type[Action], frozenset[str]]] = {
    "drop": (Drop, frozenset()),
    "mask": (Mask, frozenset({"keep_last"})),
    "keyed_hash": (KeyedHash, frozenset()),
    "generalise": (Generalise, frozenset({"bin_width", "date_unit", "prefix_length"})),
    "redact_text": (RedactText, frozenset({"kinds"})),
}


def action_from_dict(value: str | Mapping[str, Any], where: str = "action") -> Action:
    """Build an action from `"mask"` or `{"action": "mask", "keep_last": 2}`.

    Raises:
        InvalidArgument: naming `where` and the unknown action, key or bad value.
    """
    if not isinstance(value, str | Mapping):
        raise InvalidArgument(f"{where} must be an action name or a mapping with 'action', got {value!r}")
    spec: dict[str, Any] = {"action": value} if isinstance(value, str) else dict(value)
    name = spec.pop("action", None)
    if name not in _ACTION_OPTIONS:
        raise InvalidArgument(f"{where}: unknown action {name!r}; choose one of {', '.join(_ACTION_OPTIONS)}")
    cls, allowed = _ACTION_OPTIONS[name]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise InvalidArgument(
            f"{where}: unknown keys {unknown} for action {name!r}; allowed: {sorted(allowed)}"
        )
    if isinstance(spec.get("kinds"), list):
        spec["kinds"] = tuple(spec["kinds"])
    try:
        return cls(**spec)
    except InvalidArgument as error:
        raise InvalidArgument(f"{where}: {error.message}") from None
