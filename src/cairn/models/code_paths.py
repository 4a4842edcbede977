"""The user's code shipped inside a package: copying it in, finding objects in it, importing it back."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cairn.errors import InvalidArgument
from cairn.models.spec import CODE_DIR


def copy_code_paths(code_paths: Iterable[str | Path], root: Path) -> list[str]:
    """Copy each file or folder into `root/code/` under its own name; return the package-relative paths.

    Bytecode caches are left out and symbolic links are copied as the files they point to.
    """
    copied: list[str] = []
    for entry in code_paths:
        source = Path(entry)
        if not source.exists():
            raise InvalidArgument(f"code path {str(entry)!r} does not exist")
        relative = f"{CODE_DIR}/{source.resolve().name}"
        if relative in copied:
            raise InvalidArgument(f"code paths name {source.name!r} twice; each needs its own name")
        target = root / relative
        target.parent.mkdir(exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(source, target)
        copied.append(relative)
    return copied


def code_reference(obj: Any, code_paths: Iterable[str | Path]) -> str | None:
    """The "module:qualname" of `obj` (a class or function) if importable from `code_paths`, else None.

    The module's file must lie in a code path, under a name that imports as the module's name once the
    code path sits in `code/`, and the qualified name must lead back to `obj` itself.
    """
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    module = sys.modules.get(module_name or "")
    module_file = getattr(module, "__file__", None)
    if not module_name or not qualname or "<locals>" in qualname or module_file is None:
        return None
    if _resolve(module, qualname) is not obj:
        return None
    location = Path(module_file).resolve()
    for entry in code_paths:
        base = Path(entry).resolve()
        if location != base and base not in location.parents:
            continue
        parts = list(location.relative_to(base.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if ".".join(parts) == module_name:
            return f"{module_name}:{qualname}"
    return None


def _resolve(module: Any, qualname: str) -> Any:
    target = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
    return target


def import_reference(reference: str) -> Any:
    """The object a "module:qualname" reference names; `InvalidArgument` naming it if it cannot load."""
    module_name, _, qualname = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InvalidArgument(f"cannot import {module_name!r} for the model: {error}") from None
    target = _resolve(module, qualname)
    if target is None:
        raise InvalidArgument(f"module {module_name!r} has no {qualname!r}")
    return target


def drop_bytecode_caches(root: Path) -> None:
    """Delete `__pycache__` folders under `root/code`.

    They are not part of the package, and stale or planted bytecode must never run in place of the
    verified sources.
    """
    code = root / CODE_DIR
    if not code.is_dir() or code.is_symlink():
        return
    for cache in sorted(code.rglob("__pycache__"), reverse=True):
        if cache.is_dir() and not cache.is_symlink():
            shutil.rmtree(cache, ignore_errors=True)


def add_code_to_path(root: Path) -> None:
    """Put the package's `code/` folder first on `sys.path` (once)."""
    code = str((root / CODE_DIR).resolve())
    if code not in sys.path:
        sys.path.insert(0, code)
