"""Plan the upload of a local folder: every file, its artifact key, and the symlink checks first."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts.paths import safe_artifact_path


@dataclass(frozen=True)
class PlannedFile:
    """One local file to copy: its resolved path and the relative key it will get."""

    source: Path
    relative_key: str


def plan_local_tree(local_dir: str | Path) -> list[PlannedFile]:
    """List the files under `local_dir`, sorted by key, after checking all of them.

    Symlinks are followed only when they resolve inside `local_dir`: a file link is copied as a file;
    a folder link is not descended into (so cycles cannot happen). Nothing is copied by this function,
    so a refused entry means nothing of the folder is written.

    Raises:
        NotFound: if `local_dir` is not an existing folder.
        InvalidArgument: naming an entry that resolves outside `local_dir`, is not a regular file or
            has a name that is not a safe artifact path.
    """
    top = Path(local_dir)
    if not top.is_dir():
        raise NotFound(f"local_dir {str(top)!r} does not exist or is not a folder")
    real_top = Path(os.path.realpath(top))
    planned: list[PlannedFile] = []
    for dirpath, dirnames, filenames in os.walk(real_top):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            shown = str(top / path.relative_to(real_top))
            real = Path(os.path.realpath(path))
            if not real.is_relative_to(real_top):
                raise InvalidArgument(
                    f"local_dir entry {shown!r} is a symlink that resolves outside the folder"
                )
            if name in dirnames:
                continue
            if not _is_regular_file(real):
                raise InvalidArgument(f"local_dir entry {shown!r} is not a regular file")
            relative = safe_artifact_path(path.relative_to(real_top).as_posix(), "local_dir entry")
            planned.append(PlannedFile(source=real, relative_key=relative))
    return sorted(planned, key=lambda item: item.relative_key)


def _is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False
