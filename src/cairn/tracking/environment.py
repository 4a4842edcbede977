"""Capture of the Python interpreter, platform and installed packages a run executes in."""

from __future__ import annotations

import functools
import os
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from types import MappingProxyType
from typing import Any

_NAME_SEPARATORS = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class EnvironmentInfo:
    """The interpreter, operating system and installed distributions of this process.

    The host name is deliberately not recorded.

    Attributes:
        python_version: Interpreter version such as "3.11.7".
        python_implementation: "CPython", "PyPy", ...
        platform: Human-readable platform string, as `platform.platform()` gives it.
        machine: Hardware architecture such as "x86_64" or "arm64".
        os: Operating system name such as "Linux", "Darwin" or "Windows".
        cpu_count: Logical CPUs, or None when unknown.
        packages: Read-only map from normalised distribution name to version, sorted by name.
    """

    python_version: str
    python_implementation: str
    platform: str
    machine: str
    os: str
    cpu_count: int | None
    packages: Mapping[str, str]

    def to_tags(self) -> dict[str, str]:
        """Run tags summarising the interpreter and platform."""
        return {"cairn.platform": self.platform, "cairn.python.version": self.python_version}

    def requirements_text(self) -> str:
        """Every installed distribution pinned as `name==version`, one per line, sorted by name."""
        return "".join(f"{name}=={version}\n" for name, version in self.packages.items())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy of every field."""
        return {
            "python_version": self.python_version,
            "python_implementation": self.python_implementation,
            "platform": self.platform,
            "machine": self.machine,
            "os": self.os,
            "cpu_count": self.cpu_count,
            "packages": dict(self.packages),
        }


def capture_environment(refresh: bool = False) -> EnvironmentInfo:
    """Describe this process's interpreter, platform and installed packages.

    Scanning installed distributions takes a noticeable fraction of a second, so the result is
    computed once per process and reused.

    Args:
        refresh: Scan again, for example after installing packages at run time.
    """
    if refresh:
        _capture.cache_clear()
    return _capture()


def normalize_distribution_name(name: str) -> str:
    """The PEP 503 normalised form of a distribution name ("Foo_Bar.baz" -> "foo-bar-baz")."""
    return _NAME_SEPARATORS.sub("-", name).lower()


@functools.lru_cache(maxsize=1)
def _capture() -> EnvironmentInfo:
    return EnvironmentInfo(
        python_version=platform.python_version(),
        python_implementation=platform.python_implementation(),
        platform=platform.platform(),
        machine=platform.machine(),
        os=platform.system(),
        cpu_count=os.cpu_count(),
        packages=MappingProxyType(_installed_packages()),
    )


def _installed_packages() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        meta = dist.metadata
        # Broken installs can lack a name or version; skip them rather than fail the run.
        if "Name" not in meta or "Version" not in meta:
            continue
        name, version = str(meta["Name"]).strip(), str(meta["Version"]).strip()
        if not name or not version:
            continue
        # The first distribution on sys.path wins, as it does for imports.
        found.setdefault(normalize_distribution_name(name), version)
    return dict(sorted(found.items()))
