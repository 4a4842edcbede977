"""The exception hierarchy every Cairn layer raises."""

from __future__ import annotations


class CairnError(Exception):
    """Base class of every error Cairn raises on purpose.

    Attributes:
        message: What went wrong, in words a user can act on.
        error_code: A stable, MLflow-compatible code naming the kind of error.
    """

    error_code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CairnError):
    """The named experiment, run, artifact or other entity does not exist."""

    error_code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(CairnError):
    """An entity with that name or id exists already."""

    error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidArgument(CairnError):
    """An argument is malformed, out of range or not allowed in this state."""

    error_code = "INVALID_PARAMETER_VALUE"


class PermissionDenied(CairnError):
    """The caller may not perform this operation."""

    error_code = "PERMISSION_DENIED"


class Conflict(CairnError):
    """The operation conflicts with the stored state (for example, changing a logged param)."""

    error_code = "INVALID_PARAMETER_VALUE"


class MissingExtra(CairnError):
    """An optional dependency is not installed; the message names the `pip install` to run."""

    error_code = "INTERNAL_ERROR"

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(f"{module} is not installed; run: pip install 'cairn[{extra}]'")
