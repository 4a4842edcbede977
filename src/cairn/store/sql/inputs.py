"""Dataset inputs of runs in the SQL store: log them (idempotently) and load them back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, select

from cairn._internal.validation import validate_run_id, validate_string_value
from cairn.entities import Dataset, DatasetInput, InputTag, RunInputs
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.metrics import require_active_runs
from cairn.store.sql.tables import datasets, input_tags, run_inputs, runs
from cairn.store.sql.upsert import insert_for

MAX_DATASETS_PER_REQUEST = 1000
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_TYPE_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65_535
MAX_DATASET_SCHEMA_LENGTH = 1_048_575
MAX_DATASET_PROFILE_LENGTH = 16_777_215
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500

_IN_CHUNK = 900  # ids per IN list, under SQLite's bound-parameter limit on old builds

# A checked request: per (name, digest), the dataset (first spelling wins) and its merged tags.
_Checked = dict[tuple[str, str], tuple[Dataset, dict[str, str]]]


class SqlInputs(SqlBase):
    """Record which datasets runs used, and read them back."""

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        """Record that the run used these datasets, in one transaction.

        A dataset is identified by (experiment, name, digest): logging one that exists already reuses
        the stored row, and logging it again to the same run adds its tags to the ones recorded (a tag
        with the same key gets the new value). Retrying a call therefore changes nothing.

        Raises:
            NotFound: if the run does not exist.
            InvalidArgument: if the run is deleted, or a field is missing or over MLflow's limits.
        """
        run_id = validate_run_id(run_id)
        checked = _checked_inputs(datasets)

        def work(conn: Connection) -> None:
            require_active_runs(conn, [run_id])
            if not checked:
                return
            experiment_id = conn.execute(
                select(runs.c.experiment_id).where(runs.c.run_uuid == run_id)
            ).scalar_one()
            uuids = _ensure_datasets(conn, experiment_id, [dataset for dataset, _ in checked.values()])
            link = insert_for(conn, run_inputs).on_conflict_do_nothing(
                index_elements=["run_uuid", "dataset_uuid"]
            )
            conn.execute(link, [{"run_uuid": run_id, "dataset_uuid": uuids[pair]} for pair in checked])
            tag_rows = [
                {"run_uuid": run_id, "dataset_uuid": uuids[pair], "key": key, "value": value}
                for pair, (_, tags) in checked.items()
                for key, value in tags.items()
            ]
            if tag_rows:
                upsert = insert_for(conn, input_tags)
                upsert = upsert.on_conflict_do_update(
                    index_elements=["run_uuid", "dataset_uuid", "key"], set_={"value": upsert.excluded.value}
                )
                conn.execute(upsert, tag_rows)

        self._write(work)

    def get_run_inputs(self, run_ids: Sequence[str]) -> dict[str, RunInputs]:
        """Return the inputs of each run (empty `RunInputs` for a run that logged none).

        Raises:
            NotFound: if a run does not exist.
        """
        if isinstance(run_ids, str):
            raise InvalidArgument("run_ids must be a list of run ids, not a single string")
        ids = list(dict.fromkeys(validate_run_id(r) for r in run_ids))

        def work(conn: Connection) -> dict[str, RunInputs]:
            found: dict[str, RunInputs] = {}
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                known = set(conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid.in_(chunk))).scalars())
                missing = [r for r in chunk if r not in known]
                if missing:
                    raise NotFound(f"run {missing[0]} does not exist")
                found.update(load_run_inputs(conn, chunk))
            return found

        found = self._read(work) if ids else {}
        return {run_id: found.get(run_id, RunInputs()) for run_id in ids}


def load_run_inputs(conn: Connection, run_ids: Sequence[str]) -> dict[str, RunInputs]:
    """Load, in one query, the inputs of the runs that logged any (keep `run_ids` under ~900).

    Datasets come sorted by name, digest and id; tags by key.
    """
    stmt = (
        select(
            run_inputs.c.run_uuid,
            datasets,
            input_tags.c.key.label("tag_key"),
            input_tags.c.value.label("tag_value"),
        )
        .select_from(
            run_inputs.join(datasets, datasets.c.dataset_uuid == run_inputs.c.dataset_uuid).outerjoin(
                input_tags,
                and_(
                    input_tags.c.run_uuid == run_inputs.c.run_uuid,
                    input_tags.c.dataset_uuid == run_inputs.c.dataset_uuid,
                ),
            )
        )
        .where(run_inputs.c.run_uuid.in_(list(run_ids)))
        .order_by(
            run_inputs.c.run_uuid,
            datasets.c.name,
            datasets.c.digest,
            datasets.c.dataset_uuid,
            input_tags.c.key,
        )
    )
    grouped: dict[str, dict[str, tuple[Dataset, list[InputTag]]]] = {}
    for row in conn.execute(stmt):
        per_run = grouped.setdefault(row.run_uuid, {})
        entry = per_run.get(row.dataset_uuid)
        if entry is None:
            entry = per_run[row.dataset_uuid] = (_dataset_from_row(row), [])
        if row.tag_key is not None:
            entry[1].append(InputTag(row.tag_key, row.tag_value))
    return {
        run_id: RunInputs(tuple(DatasetInput(dataset, tuple(tags)) for dataset, tags in per_run.values()))
        for run_id, per_run in grouped.items()
    }


def _dataset_from_row(row: Any) -> Dataset:
    return Dataset(
        name=row.name,
        digest=row.digest,
        source_type=row.source_type,
        source=row.source,
        schema=row.dataset_schema,
        profile=row.profile,
    )


def _ensure_datasets(
    conn: Connection, experiment_id: int, wanted: Sequence[Dataset]
) -> dict[tuple[str, str], str]:
    """Insert the datasets the experiment lacks; return the id of each, keyed by (name, digest)."""
    rows = [
        {
            "dataset_uuid": uuid.uuid4().hex,
            "experiment_id": experiment_id,
            "name": d.name,
            "digest": d.digest,
            "source_type": d.source_type,
            "source": d.source,
            "dataset_schema": d.schema,
            "profile": d.profile,
        }
        for d in wanted
    ]
    stmt = insert_for(conn, datasets).on_conflict_do_nothing(
        index_elements=["experiment_id", "name", "digest"]
    )
    conn.execute(stmt, rows)
    pairs = {(d.name, d.digest) for d in wanted}
    names = sorted({name for name, _ in pairs})
    uuids: dict[tuple[str, str], str] = {}
    for start in range(0, len(names), _IN_CHUNK):
        query = select(datasets.c.name, datasets.c.digest, datasets.c.dataset_uuid).where(
            datasets.c.experiment_id == experiment_id, datasets.c.name.in_(names[start : start + _IN_CHUNK])
        )
        for name, digest, dataset_uuid in conn.execute(query):
            if (name, digest) in pairs:
                uuids[name, digest] = dataset_uuid
    return uuids


def _checked_inputs(items: Sequence[DatasetInput]) -> _Checked:
    """Validate every field; merge repeats of one dataset (by name and digest) and their tags."""
    if isinstance(items, DatasetInput) or not isinstance(items, Sequence):
        raise InvalidArgument("datasets must be a list of DatasetInput")
    if len(items) > MAX_DATASETS_PER_REQUEST:
        raise InvalidArgument(
            f"datasets: at most {MAX_DATASETS_PER_REQUEST} dataset inputs per request; got {len(items)}"
        )
    checked: _Checked = {}
    for index, item in enumerate(items):
        if not isinstance(item, DatasetInput):
            raise InvalidArgument(f"datasets[{index}] must be a DatasetInput, got {type(item).__name__}")
        dataset = _checked_dataset(item.dataset, f"datasets[{index}].dataset")
        _, tags = checked.setdefault((dataset.name, dataset.digest), (dataset, {}))
        for tag_index, tag in enumerate(item.tags):
            key, value = _checked_tag(tag, f"datasets[{index}].tags[{tag_index}]")
            tags[key] = value
    return checked


def _checked_dataset(dataset: object, where: str) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise InvalidArgument(f"{where} must be a Dataset, got {type(dataset).__name__}")
    return Dataset(
        name=_required_text(f"{where}.name", dataset.name, MAX_DATASET_NAME_LENGTH),
        digest=_required_text(f"{where}.digest", dataset.digest, MAX_DATASET_DIGEST_LENGTH),
        source_type=_required_text(
            f"{where}.source_type", dataset.source_type, MAX_DATASET_SOURCE_TYPE_LENGTH
        ),
        source=_required_text(f"{where}.source", dataset.source, MAX_DATASET_SOURCE_LENGTH),
        schema=_optional_text(f"{where}.schema", dataset.schema, MAX_DATASET_SCHEMA_LENGTH),
        profile=_optional_text(f"{where}.profile", dataset.profile, MAX_DATASET_PROFILE_LENGTH),
    )


def _checked_tag(tag: object, where: str) -> tuple[str, str]:
    if not isinstance(tag, InputTag):
        raise InvalidArgument(f"{where} must be an InputTag, got {type(tag).__name__}")
    key = _required_text(f"{where}.key", tag.key, MAX_INPUT_TAG_KEY_LENGTH)
    if not isinstance(tag.value, str):
        raise InvalidArgument(f"{where}.value must be a string, got {type(tag.value).__name__}")
    return key, validate_string_value(f"{where}.value", tag.value, MAX_INPUT_TAG_VALUE_LENGTH)


def _required_text(field: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidArgument(f"{field} must not be empty")
    return validate_string_value(field, value, limit)


def _optional_text(field: str, value: object, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, got {type(value).__name__}")
    return validate_string_value(field, value, limit)
