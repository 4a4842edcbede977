"""The environment lock of a model: pinned versions of the libraries it needs, and drift from them."""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from pathlib import Path

from cairn.errors import InvalidArgument
from cairn.tracking.environment import normalize_distribution_name

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PINNED = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)\s*$")
_OWN_DISTRIBUTIONS = {"cairn"}


def capture_requirements(
    flavor_packages: Iterable[str],
    code_paths: Iterable[str | Path] = (),
    extra: Iterable[str] = (),
    modules: Iterable[str] | None = None,
) -> list[str]:
    """The environment lock: `name==version` lines, sorted by name, one per distribution.

    Args:
        flavor_packages: Distributions the flavor needs (e.g. "scikit-learn"); each must be installed.
        code_paths: The user's .py files and folders; the distributions providing the top-level modules
            they import are pinned (the standard library, cairn and the code's own modules are skipped;
            modules that are not installed are skipped too, as they may be optional imports).
        extra: Requirement lines added by hand, kept as given; a line naming a distribution pinned
            otherwise replaces that pin.
        modules: More top-level module names whose distributions to pin (e.g. the model class's module).
    """
    pins: dict[str, str] = {}
    for name in flavor_packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise InvalidArgument(f"requirement {name!r} is needed by the flavor but not installed") from None
        pins[normalize_distribution_name(name)] = f"{_canonical_name(name)}=={version}"
    imported = set(modules or ()) | imported_modules(code_paths)
    for distribution in _distributions_of(imported - _local_modules(code_paths)):
        key = normalize_distribution_name(distribution)
        if key not in _OWN_DISTRIBUTIONS:
            pins.setdefault(key, f"{distribution}=={metadata.version(distribution)}")
    for line in extra:
        text = line.strip()
        match = _REQUIREMENT_NAME.match(text)
        if not match:
            raise InvalidArgument(f"extra requirement {line!r} does not start with a distribution name")
        pins[normalize_distribution_name(match.group(1))] = text
    return [pins[key] for key in sorted(pins)]


def _canonical_name(name: str) -> str:
    try:
        return str(metadata.metadata(name)["Name"])
    except (metadata.PackageNotFoundError, KeyError):
        return name


def imported_modules(code_paths: Iterable[str | Path]) -> set[str]:
    """Top-level module names imported (absolutely) by the .py files under `code_paths`."""
    found: set[str] = set()
    for source in _python_files(code_paths):
        try:
            tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        except (SyntaxError, UnicodeDecodeError) as error:
            raise InvalidArgument(f"code path {source} cannot be parsed: {error}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "__future__"}


def _python_files(code_paths: Iterable[str | Path]) -> Iterator[Path]:
    for entry in code_paths:
        path = Path(entry)
        if path.is_file() and path.suffix == ".py":
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*.py")) if "__pycache__" not in p.parts)


def _local_modules(code_paths: Iterable[str | Path]) -> set[str]:
    """Top-level names the code paths define themselves (file stems, folder names, modules inside)."""
    names: set[str] = set()
    for entry in code_paths:
        path = Path(entry)
        names.add(path.stem if path.is_file() else path.name)
        if path.is_dir():
            names.update(p.stem for p in path.glob("*.py"))
            names.update(p.name for p in path.iterdir() if p.is_dir())
    return names


@functools.lru_cache(maxsize=1)
def _module_distributions() -> Mapping[str, list[str]]:
    # Scanning every installed distribution takes a noticeable fraction of a second; once per process.
    return metadata.packages_distributions()


def _distributions_of(modules: Iterable[str]) -> list[str]:
    mapping = _module_distributions()
    found: set[str] = set()
    for module in modules:
        if module == "cairn" or module in sys.stdlib_module_names:
            continue
        found.update(mapping.get(module, ()))
    return sorted(found)


def environment_differences(requirements: Iterable[str]) -> list[str]:
    """How this environment differs from the `name==version` lines of a lock; other lines are skipped.

    Returns:
        Lines such as "scikit-learn: lock 1.5.0, installed 1.9.1" or "xgboost: lock 3.2.0, not installed".
    """
    differences = []
    for line in requirements:
        match = _PINNED.match(line)
        if not match:
            continue
        name, locked = match.group(1), match.group(2)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            differences.append(f"{name}: lock {locked}, not installed")
            continue
        if installed != locked:
            differences.append(f"{name}: lock {locked}, installed {installed}")
    return differences
