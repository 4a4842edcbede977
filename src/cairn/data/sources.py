"""Turning what a user passes to `log_dataset` (a DataFrame, a Table, a path or a URI) into tabular data."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cairn.data.formats import (
    CSV,
    JSONL,
    PARQUET,
    SUPPORTED,
    check_json_lines,
    format_of,
    is_skipped,
)
from cairn.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as pads
    from fsspec import AbstractFileSystem

SourceKind = Literal["table", "files"]
SCHEMA_WORKERS = 4


@dataclass(frozen=True)
class SourceFile:
    """One data file of a source.

    Attributes:
        location: A local path, or an fsspec URI (`s3://bucket/key`) for remote files.
        name: The file's name inside the dataset: a posix path relative to the folder logged.
        size: Size in bytes.
        format: `csv`, `parquet` or `jsonl`.
    """

    location: str
    name: str
    size: int
    format: str

    @property
    def is_local(self) -> bool:
        """True when `location` is a path on this machine."""
        return "://" not in self.location


@dataclass(frozen=True)
class ResolvedSource:
    """What a source holds: an in-memory table, or a list of files in one format.

    Attributes:
        kind: "table" for in-memory data, "files" for files on disk or behind a URI.
        table: The data when kind is "table".
        files: The data files, sorted by name, when kind is "files".
        source: A readable description: the path or URI, or the type of the in-memory object.
        source_type: Where it came from: pandas, polars, pyarrow, local, or a URI scheme (s3, gs, ...).
    """

    kind: SourceKind
    source: str
    source_type: str
    table: pa.Table | None = None
    files: list[SourceFile] = field(default_factory=list)

    @property
    def format(self) -> str | None:
        """The files' common format (None for a table)."""
        return self.files[0].format if self.files else None


def resolve_source(source: Any) -> ResolvedSource:
    """Resolve a DataFrame, Table, path or URI into a table or a list of files.

    Raises:
        NotFound: for a path or URI where nothing exists.
        InvalidArgument: for an unsupported object, an unknown file format, or a folder mixing formats.
    """
    table = _in_memory_table(source)
    if table is not None:
        return ResolvedSource(kind="table", table=table[0], source=table[1], source_type=table[2])
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str):
        raise InvalidArgument(
            f"source must be a pandas or polars DataFrame, a pyarrow Table, a path or a URI, "
            f"not {type(source).__name__}"
        )
    if not source:
        raise InvalidArgument("source must not be an empty path")
    if source.startswith("file://"):
        source = source[len("file://") :]
    if "://" in source:
        return _resolve_uri(source)
    return _resolve_local(source)


def _in_memory_table(source: Any) -> tuple[pa.Table, str, str] | None:
    """(table, description, source_type) for in-memory data; None for anything else."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(source, pandas.DataFrame):
        import pyarrow as pa

        return pa.Table.from_pandas(source, preserve_index=False), "pandas.DataFrame", "pandas"
    polars = sys.modules.get("polars")
    if polars is not None and isinstance(source, polars.DataFrame):
        return source.to_arrow(), "polars.DataFrame", "polars"
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and isinstance(source, pyarrow.Table):
        return source, "pyarrow.Table", "pyarrow"
    if pyarrow is not None and isinstance(source, pyarrow.RecordBatch):
        return pyarrow.Table.from_batches([source]), "pyarrow.RecordBatch", "pyarrow"
    return None


def _resolve_local(path_text: str) -> ResolvedSource:
    path = Path(path_text).expanduser()
    if not path.exists():
        raise NotFound(f"path {path_text!r} does not exist")
    root = path.resolve()
    if root.is_file():
        files = [_local_file(root, root.name)]
    else:
        found = [_local_file(p, p.relative_to(root).as_posix()) for p in _walk(root)]
        files = _single_format(found, path_text)
    return ResolvedSource(kind="files", files=files, source=str(root), source_type="local")


def _walk(root: Path) -> list[Path]:
    """Every file below `root`, skipping hidden entries and markers (iterative, so deep trees are fine)."""
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if is_skipped(entry.name):
                    continue
                if entry.is_dir():
                    pending.append(Path(entry.path))
                elif entry.is_file():
                    found.append(Path(entry.path))
    return found


def _local_file(path: Path, name: str) -> SourceFile:
    fmt = format_of(name)
    if fmt == JSONL and name.lower().endswith(".json"):
        check_json_lines(name, lambda: path.open("rb"))
    return SourceFile(location=str(path), name=name, size=path.stat().st_size, format=fmt)


def _single_format(files: list[SourceFile], where: str) -> list[SourceFile]:
    """The files sorted by name, checked to share one format."""
    if not files:
        raise InvalidArgument(f"folder {where!r} holds no data files (hidden files and markers are skipped)")
    ordered = sorted(files, key=lambda f: f.name)
    first = ordered[0]
    for other in ordered[1:]:
        if other.format != first.format:
            raise InvalidArgument(
                f"folder {where!r} mixes formats: {first.name!r} is {first.format} but "
                f"{other.name!r} is {other.format}; log each format as its own dataset"
            )
    return ordered


def _resolve_uri(uri: str) -> ResolvedSource:
    fs, root = _filesystem(uri)
    scheme = uri.split("://", 1)[0]
    info = _info(fs, root, uri)
    if info["type"] == "file":
        name = root.rstrip("/").rsplit("/", 1)[-1]
        files = [_remote_file(fs, scheme, root, name, int(info.get("size") or 0))]
    else:
        listing = fs.find(root, detail=True, withdirs=False)
        files = []
        for path, detail in sorted(listing.items()):
            relative = path[len(root.rstrip("/")) :].lstrip("/")
            if not relative or any(is_skipped(part) for part in relative.split("/")):
                continue
            files.append(_remote_file(fs, scheme, path, relative, int(detail.get("size") or 0)))
        files = _single_format(files, uri)
    return ResolvedSource(kind="files", files=files, source=uri, source_type=scheme)


def _filesystem(uri: str) -> tuple[AbstractFileSystem, str]:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as exc:
        raise InvalidArgument(f"cannot read URI {uri!r}: {exc}") from exc
    return fs, str(path)


def _info(fs: AbstractFileSystem, path: str, uri: str) -> dict[str, Any]:
    try:
        info: dict[str, Any] = fs.info(path)
    except FileNotFoundError:
        raise NotFound(f"URI {uri!r} does not exist") from None
    return info


def _remote_file(fs: AbstractFileSystem, scheme: str, path: str, name: str, size: int) -> SourceFile:
    fmt = format_of(name)
    if fmt == JSONL and name.lower().endswith(".json"):
        check_json_lines(name, lambda: fs.open(path, "rb"))
    return SourceFile(location=_uri(scheme, path), name=name, size=size, format=fmt)


def _uri(scheme: str, path: str) -> str:
    return f"{scheme}://{path.lstrip('/')}" if scheme != "memory" else f"memory://{path}"


def tabular_of(source: Any) -> pa.Table | pads.Dataset:
    """Tabular data for any `log_dataset` source (or a pyarrow Dataset): a table, or a lazy Dataset."""
    pyarrow_dataset = sys.modules.get("pyarrow.dataset")
    if pyarrow_dataset is not None and isinstance(source, pyarrow_dataset.Dataset):
        return source
    resolved = resolve_source(source)
    if resolved.table is not None:
        return resolved.table
    return open_tabular(resolved.files)


def open_tabular(files: Sequence[SourceFile], format: str | None = None) -> pads.Dataset:
    """A lazy pyarrow Dataset over `files`, with one schema unified from every file's own.

    Every file is checked first (Parquet footer, first CSV or JSON block) so that an unreadable file or
    a schema conflict fails here rather than halfway through a scan. Columns missing from some files
    read as null; numbers widen where files disagree (int64 and double give double).

    Raises:
        InvalidArgument: for no files, mixed formats, an unreadable file (named), or a column whose
            types conflict between two files (both named).
    """
    import pyarrow as pa
    import pyarrow.dataset as pads
    from pyarrow.fs import LocalFileSystem

    if not files:
        raise InvalidArgument("there are no files to read")
    fmt = format or files[0].format
    for file in files:
        if file.format != fmt:
            raise InvalidArgument(f"file {file.name!r} is {file.format}, but the others are {fmt}")
    filesystem, paths = _arrow_paths(files)
    arrow_format = _arrow_format(fmt)
    try:
        factory = pads.FileSystemDatasetFactory(filesystem or LocalFileSystem(), paths, arrow_format)
        schema = factory.inspect(promote_options="permissive", fragments=None)
    except (pa.ArrowException, OSError, ValueError) as exc:
        _explain(files, paths, arrow_format, filesystem)
        raise InvalidArgument(f"the {len(files)} files cannot be read together: {exc}") from exc
    return factory.finish(schema)


def _explain(files: Sequence[SourceFile], paths: list[str], arrow_format: Any, filesystem: Any) -> None:
    """Find which file is unreadable or which column conflicts (slower, file by file) and say so."""
    with ThreadPoolExecutor(max_workers=SCHEMA_WORKERS) as pool:
        schemas = list(
            pool.map(
                lambda item: _file_schema(item[0], item[1], arrow_format, filesystem),
                zip(files, paths, strict=True),
            )
        )
    _unify(files, schemas)


def _arrow_format(fmt: str) -> Any:
    import pyarrow.dataset as pads

    formats = {CSV: pads.CsvFileFormat, PARQUET: pads.ParquetFileFormat, JSONL: pads.JsonFileFormat}
    if fmt not in formats:
        raise InvalidArgument(f"format {fmt!r} is not one Cairn reads; supported: {SUPPORTED}")
    return formats[fmt]()


def _arrow_paths(files: Sequence[SourceFile]) -> tuple[Any, list[str]]:
    """The pyarrow file system the files live on and their paths on it."""
    if all(f.is_local for f in files):
        return None, [os.path.abspath(f.location) for f in files]
    schemes = {f.location.split("://", 1)[0] for f in files if not f.is_local}
    if len(schemes) > 1 or any(f.is_local for f in files):
        raise InvalidArgument("the files of one dataset must all be local or all on one remote file system")
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, _ = _filesystem(files[0].location)
    return PyFileSystem(FSSpecHandler(fs)), [_filesystem(f.location)[1] for f in files]


def _file_schema(file: SourceFile, path: str, arrow_format: Any, filesystem: Any) -> pa.Schema:
    import pyarrow as pa
    from pyarrow.fs import LocalFileSystem

    try:
        return arrow_format.inspect(path, filesystem=filesystem or LocalFileSystem())
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidArgument(f"file {file.name!r} cannot be read as {file.format}: {exc}") from exc


def _unify(files: Sequence[SourceFile], schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for all files; a conflict names the column and the two files that disagree."""
    import pyarrow as pa

    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowException, ValueError):
        pass
    seen: dict[str, tuple[pa.Schema, SourceFile]] = {}
    for file, schema in zip(files, schemas, strict=True):
        for column in schema:
            if column.name not in seen:
                seen[column.name] = (pa.schema([column]), file)
                continue
            earlier, earlier_file = seen[column.name]
            try:
                widened = pa.unify_schemas([earlier, pa.schema([column])], promote_options="permissive")
            except (pa.ArrowException, ValueError):
                raise InvalidArgument(
                    f"schema conflict in column {column.name!r}: file {file.name!r} has type {column.type}, "
                    f"but file {earlier_file.name!r} has type {earlier.field(0).type}"
                ) from None
            changed = widened.field(0).type != earlier.field(0).type
            seen[column.name] = (widened, file if changed else earlier_file)
    raise InvalidArgument(f"the schemas of {len(files)} files cannot be unified")
