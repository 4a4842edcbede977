"""SHA-256 digests of every file in a model package, and the check that nothing changed since."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.models.errors import PackageTampered
from cairn.models.spec import SPEC_FILE

if TYPE_CHECKING:
    from cairn.models.spec import ModelSpec

_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def package_files(root: Path) -> list[str]:
    """The relative POSIX paths of every file under `root` except the spec file, sorted.

    Raises:
        PackageTampered: the folder holds a symbolic link or something that is neither file nor folder.
    """
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            raise PackageTampered(f"model package file {relative!r} is a symbolic link")
        if path.is_dir():
            continue
        if not path.is_file():
            raise PackageTampered(f"model package entry {relative!r} is not a regular file")
        if relative != SPEC_FILE:
            found.append(relative)
    return found


def digest_package(root: Path) -> dict[str, str]:
    """Relative POSIX path -> SHA-256 hex for every file under `root` except the spec file."""
    return {relative: file_digest(root / relative) for relative in package_files(root)}


def verify_package(root: Path, spec: ModelSpec) -> None:
    """Check that `root` holds exactly the files listed in `spec.files`, each with its recorded digest.

    Raises:
        PackageTampered: naming every missing, altered and added file.
    """
    files = spec.files
    present = set(package_files(root))
    problems = [f"{name!r} is missing" for name in sorted(set(files) - present)]
    problems += [
        f"{name!r} was altered (its SHA-256 differs from the spec)"
        for name in sorted(present & set(files))
        if file_digest(root / name) != files[name]
    ]
    problems += [f"{name!r} was added (it is not in the spec)" for name in sorted(present - set(files))]
    if problems:
        raise PackageTampered(f"model package {root} failed verification: " + "; ".join(problems))
