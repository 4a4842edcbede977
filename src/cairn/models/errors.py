"""Errors and warnings specific to model packages."""

from __future__ import annotations

from cairn.errors import InvalidArgument


class PackageTampered(InvalidArgument):
    """A package file is missing, altered or was added after the package was written."""


class EnvironmentMismatchWarning(UserWarning):
    """The running environment differs from the environment lock a model was saved with."""
