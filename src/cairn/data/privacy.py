"""Privacy policies: refuse, warn about or transform columns holding personal data before they are stored."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from cairn.data.pii_patterns import mask_text, redact_text
from cairn.data.pii_scan import PiiReport
from cairn.data.privacy_actions import (
    Action,
    Drop,
    Generalise,
    KeyedHash,
    Mask,
    RedactText,
    action_from_dict,
)
from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Action",
    "Drop",
    "Generalise",
    "KeyedHash",
    "Mask",
    "PiiRefused",
    "PolicyOutcome",
    "PolicyPlan",
    "PrivacyPolicy",
    "RedactText",
    "action_from_dict",
    "apply_policy",
    "apply_policy_batches",
    "load_policy",
    "plan_policy",
]

OnPii = Literal["refuse", "warn", "transform"]
_ON_PII = ("refuse", "warn", "transform")


class PiiRefused(InvalidArgument):
    """The policy says `refuse` and the data holds personal data.

    Attributes:
        columns: Each offending column and the kinds found in it (`tagged` for hand-tagged columns).
    """

    def __init__(self, columns: Mapping[str, Iterable[str]]) -> None:
        self.columns = {name: tuple(kinds) for name, kinds in columns.items()}
        listed = "; ".join(f"column {name!r} ({', '.join(kinds)})" for name, kinds in self.columns.items())
        super().__init__(
            f"refusing to store data holding PII: {listed}; "
            "change the policy's on_pii to 'warn' or 'transform' to store it"
        )


@dataclass(frozen=True)
class PrivacyPolicy:
    """What to do with personal data in a dataset (or in every dataset of a project).

    Attributes:
        on_pii: `refuse` to store, `warn` and store unchanged, or `transform` before storing.
        actions: Explicit action per column; applied in `transform` mode whether or not PII was detected.
        default_action: For detected or tagged PII columns without an explicit action.
        free_text_action: For columns where every finding sits inside longer text.
        pii_columns: Columns tagged as PII by hand, treated as detected.
        min_confidence: Findings below this confidence are only mentioned in warnings.
        secret: The key for `keyed_hash`; prefer `secret_env`. Never written by `to_dict`.
        secret_env: The environment variable holding the key when `secret` is not given.
    """

    on_pii: OnPii = "warn"
    actions: Mapping[str, Action] = field(default_factory=dict)
    default_action: Action = field(default_factory=Drop)
    free_text_action: Action = field(default_factory=RedactText)
    pii_columns: frozenset[str] = frozenset()
    min_confidence: float = 0.5
    secret: str | None = field(default=None, repr=False)
    secret_env: str = "CAIRN_PII_KEY"

    def __post_init__(self) -> None:
        if self.on_pii not in _ON_PII:
            raise InvalidArgument(f"on_pii must be one of {_ON_PII}, got {self.on_pii!r}")
        if isinstance(self.min_confidence, bool) or not isinstance(self.min_confidence, int | float):
            raise InvalidArgument(f"min_confidence must be a number, got {self.min_confidence!r}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise InvalidArgument(f"min_confidence must be between 0 and 1, got {self.min_confidence}")
        if self.secret is not None and not isinstance(self.secret, str):
            raise InvalidArgument(f"secret must be a string, got {type(self.secret).__name__}")
        if not isinstance(self.secret_env, str) or not self.secret_env:
            raise InvalidArgument(f"secret_env must name an environment variable, got {self.secret_env!r}")

    def with_pii_columns(self, columns: Iterable[str]) -> PrivacyPolicy:
        """A copy of this policy with `columns` tagged as PII too."""
        return dataclasses.replace(self, pii_columns=self.pii_columns | frozenset(columns))

    def resolve_secret(self) -> bytes:
        """The `keyed_hash` key: `secret`, else the value of the `secret_env` variable.

        Raises:
            InvalidArgument: naming the environment variable when neither is set.
        """
        key = self.secret or os.environ.get(self.secret_env)
        if not key:
            raise InvalidArgument(
                f"keyed_hash needs a secret: set the environment variable {self.secret_env} "
                "(the policy's secret_env) or give the policy a secret"
            )
        return key.encode()

    def to_dict(self) -> dict[str, Any]:
        """The policy as a JSON-able dict with a stable key order; the secret itself is left out."""
        return {
            "on_pii": self.on_pii,
            "actions": {column: action.to_dict() for column, action in sorted(self.actions.items())},
            "default_action": self.default_action.to_dict(),
            "free_text_action": self.free_text_action.to_dict(),
            "pii_columns": sorted(self.pii_columns),
            "min_confidence": self.min_confidence,
            "secret_env": self.secret_env,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "policy") -> PrivacyPolicy:
        """Build a policy from a dict such as `to_dict` output or a parsed YAML file.

        Raises:
            InvalidArgument: naming `where` and the unknown key or bad value.
        """
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidArgument(
                f"{where}: unknown keys {unknown}; allowed: {sorted(cls.__dataclass_fields__)}"
            )
        options = dict(data)
        actions = options.get("actions", {})
        if not isinstance(actions, Mapping):
            raise InvalidArgument(f"{where}.actions must map column names to actions, got {actions!r}")
        options["actions"] = {
            str(column): action_from_dict(spec, f"{where}.actions.{column}")
            for column, spec in actions.items()
        }
        for key in ("default_action", "free_text_action"):
            if key in options:
                options[key] = action_from_dict(options[key], f"{where}.{key}")
        columns = options.get("pii_columns", [])
        if not isinstance(columns, list | tuple | set | frozenset):
            raise InvalidArgument(f"{where}.pii_columns must be a list of column names, got {columns!r}")
        options["pii_columns"] = frozenset(str(column) for column in columns)
        try:
            return cls(**options)
        except InvalidArgument as error:
            raise InvalidArgument(f"{where}: {error.message}") from None


def load_policy(path: str | os.PathLike[str]) -> PrivacyPolicy:
    """Read a policy from a YAML file (safe loader, strict keys).

    Raises:
        InvalidArgument: naming the file, and the key or line at fault.
    """
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidArgument(f"cannot read privacy policy {str(file)!r}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise InvalidArgument(f"privacy policy {str(file)!r} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(
            f"privacy policy {str(file)!r} must be a mapping of keys, got {type(data).__name__}"
        )
    return PrivacyPolicy.from_dict(data, where=f"privacy policy {str(file)!r}")


@dataclass(frozen=True)
class PolicyPlan:
    """What a policy does to one schema: the action per column, the output schema and the warnings."""

    steps: tuple[tuple[str, Action], ...]
    output_schema: pa.Schema
    warnings: tuple[str, ...]
    secret: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PolicyOutcome:
    """The transformed table, the actions taken per column, and the warnings for the user."""

    table: pa.Table
    actions_taken: list[tuple[str, Action]]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        """The actions and warnings (not the table) as a JSON-able dict."""
        return {
            "actions_taken": [
                {"column": column, **action.to_dict()} for column, action in self.actions_taken
            ],
            "warnings": list(self.warnings),
        }


def plan_policy(schema: pa.Schema, report: PiiReport, policy: PrivacyPolicy) -> PolicyPlan:
    """Decide what `policy` does to data of `schema` given the scan `report`.

    Raises:
        PiiRefused: when the policy refuses and PII was found or tagged.
        InvalidArgument: when an action does not fit a column's type, or `keyed_hash` has no secret.
    """
    flagged, warnings = _flagged_columns(schema, report, policy)
    if flagged and policy.on_pii == "refuse":
        raise PiiRefused(flagged)
    if policy.on_pii == "warn":
        warnings += [
            f"column {name!r} holds PII ({', '.join(kinds)}); stored unchanged because on_pii is 'warn'"
            for name, kinds in flagged.items()
        ]
        return PolicyPlan(steps=(), output_schema=schema, warnings=tuple(warnings))
    steps = tuple(
        (name, action)
        for name in schema.names
        if (action := _action_for(name, flagged, report, policy)) is not None
    )
    secret = policy.resolve_secret() if any(isinstance(a, KeyedHash) for _, a in steps) else None
    output = _output_schema(schema, dict(steps))
    return PolicyPlan(steps=steps, output_schema=output, warnings=tuple(warnings), secret=secret)


def _flagged_columns(
    schema: pa.Schema, report: PiiReport, policy: PrivacyPolicy
) -> tuple[dict[str, list[str]], list[str]]:
    flagged: dict[str, list[str]] = {}
    warnings: list[str] = []
    for finding in report.findings:
        if finding.column not in schema.names:
            continue
        if finding.confidence >= policy.min_confidence:
            flagged.setdefault(finding.column, []).append(finding.kind)
        else:
            warnings.append(
                f"column {finding.column!r} may hold {finding.kind} (confidence {finding.confidence:.2f}, "
                f"below min_confidence {policy.min_confidence}); left as it is"
            )
    for name in schema.names:
        if name in policy.pii_columns and "tagged" not in flagged.setdefault(name, []):
            flagged[name].append("tagged")
    return {name: flagged[name] for name in schema.names if name in flagged}, warnings


def _action_for(
    name: str, flagged: Mapping[str, list[str]], report: PiiReport, policy: PrivacyPolicy
) -> Action | None:
    if name in policy.actions:
        return policy.actions[name]
    if name not in flagged:
        return None
    findings = [f for f in report.for_column(name) if f.confidence >= policy.min_confidence]
    all_free_text = bool(findings) and all(f.free_text for f in findings) and name not in policy.pii_columns
    return policy.free_text_action if all_free_text else policy.default_action


def _output_schema(schema: pa.Schema, actions: Mapping[str, Action]) -> pa.Schema:
    import pyarrow as pa

    fields = []
    for column in schema:
        action = actions.get(column.name)
        if isinstance(action, Drop):
            continue
        fields.append(column if action is None else column.with_type(_output_type(column, action)))
    metadata = schema.metadata
    if actions and metadata:
        # The pandas metadata describes the original columns; it would be wrong after a transform.
        metadata = {key: value for key, value in metadata.items() if key != b"pandas"}
    return pa.schema(fields, metadata=metadata or None)


def _is_text(data_type: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return bool(pa.types.is_string(data_type) or pa.types.is_large_string(data_type))


def _output_type(column: pa.Field, action: Action) -> pa.DataType:
    import pyarrow as pa

    kind = column.type
    if isinstance(action, Mask | KeyedHash):
        return pa.string()
    if isinstance(action, RedactText):
        if not _is_text(kind):
            raise InvalidArgument(f"column {column.name!r} is {kind}; redact_text needs a text column")
        return pa.string()
    assert isinstance(action, Generalise)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if action.bin_width is None:
            raise InvalidArgument(f"column {column.name!r} is numeric; generalise needs bin_width")
        keeps_int = pa.types.is_integer(kind) and float(action.bin_width).is_integer()
        return kind if keeps_int else pa.float64()
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if action.date_unit is None:
            raise InvalidArgument(
                f"column {column.name!r} is a date or timestamp; generalise needs date_unit"
            )
        return kind
    if _is_text(kind):
        if action.prefix_length is None:
            raise InvalidArgument(f"column {column.name!r} is text; generalise needs prefix_length")
        return pa.string()
    raise InvalidArgument(f"column {column.name!r} is {kind}; generalise handles numbers, dates and text")


def apply_policy(table: pa.Table, report: PiiReport, policy: PrivacyPolicy) -> PolicyOutcome:
    """Apply `policy` to an in-memory table, given its PII scan `report`.

    Raises:
        PiiRefused: when the policy refuses and PII was found or tagged.
        InvalidArgument: when an action does not fit a column, or `keyed_hash` has no secret.
    """
    import pyarrow as pa

    plan = plan_policy(table.schema, report, policy)
    batches = list(apply_policy_batches(table.to_batches(), plan))
    result = pa.Table.from_batches(batches, schema=plan.output_schema)
    return PolicyOutcome(table=result, actions_taken=list(plan.steps), warnings=list(plan.warnings))


def apply_policy_batches(batches: Iterable[pa.RecordBatch], plan: PolicyPlan) -> Iterator[pa.RecordBatch]:
    """Transform a stream of record batches by a plan from `plan_policy`; each has `plan.output_schema`."""
    import pyarrow as pa

    actions = dict(plan.steps)
    for batch in batches:
        arrays = []
        for target in plan.output_schema:
            source = batch.column(target.name)
            action = actions.get(target.name)
            array = source if action is None else _transform(source, action, plan.secret)
            arrays.append(array if array.type == target.type else array.cast(target.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=plan.output_schema)


def _transform(array: pa.Array, action: Action, secret: bytes | None) -> pa.Array:
    if isinstance(action, Mask):
        keep = action.keep_last
        return _map_text(array, lambda text: mask_text(text, keep))
    if isinstance(action, KeyedHash):
        assert secret is not None
        return _map_text(array, lambda text: hmac.new(secret, text.encode(), hashlib.sha256).hexdigest())
    if isinstance(action, RedactText):
        kinds = action.kinds
        return _map_text(array, lambda text: redact_text(text, kinds))
    assert isinstance(action, Generalise)
    return _generalise(array, action)


def _map_text(array: pa.Array, function: Callable[[str], str]) -> pa.Array:
    """Apply `function` once per distinct value (as text); nulls stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = array if array.type == pa.string() else array.cast(pa.string())
    encoded = pc.dictionary_encode(text)
    mapped = pa.array([function(value) for value in encoded.dictionary.to_pylist()], type=pa.string())
    return pc.take(mapped, encoded.indices)


def _generalise(array: pa.Array, action: Generalise) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        assert action.bin_width is not None
        width = float(action.bin_width)
        return pc.multiply(pc.floor(pc.divide(array.cast(pa.float64()), width)), width)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pc.floor_temporal(array, unit=action.date_unit)
    assert action.prefix_length is not None
    text = array if array.type == pa.string() else array.cast(pa.string())
    return pc.utf8_slice_codeunits(text, start=0, stop=action.prefix_length)
