"""Run statuses, lifecycle stages and search view types."""

from __future__ import annotations

from enum import StrEnum

from cairn.errors import InvalidArgument


class RunStatus(StrEnum):
    """The state of a run; the names and numbers are MLflow's."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        """True for FINISHED, FAILED and KILLED."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)

    @classmethod
    def parse(cls, value: str | RunStatus) -> RunStatus:
        """Return the status named by `value`, or raise `InvalidArgument` naming the field."""
        if isinstance(value, RunStatus):
            return value
        try:
            return cls(str(value).upper())
        except ValueError:
            allowed = ", ".join(s.value for s in cls)
            raise InvalidArgument(f"status must be one of {allowed}; got {value!r}") from None


class LifecycleStage(StrEnum):
    """Whether an experiment or run is active or soft-deleted."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(StrEnum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    @property
    def stages(self) -> tuple[LifecycleStage, ...]:
        """The lifecycle stages this view includes."""
        if self is ViewType.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE,)
        if self is ViewType.DELETED_ONLY:
            return (LifecycleStage.DELETED,)
        return (LifecycleStage.ACTIVE, LifecycleStage.DELETED)

    @classmethod
    def parse(cls, value: str | ViewType) -> ViewType:
        """Return the view type named by `value`, or raise `InvalidArgument`."""
        if isinstance(value, ViewType):
            return value
        try:
            return cls(str(value).upper())
        except ValueError:
            raise InvalidArgument(
                f"view_type must be ACTIVE_ONLY, DELETED_ONLY or ALL; got {value!r}"
            ) from None
