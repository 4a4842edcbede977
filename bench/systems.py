"""Opening Cairn and MLflow on their embedded SQLite stores inside a benchmark's work folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from cairn import TrackingClient


def cairn_folder(workdir: Path, name: str = "cairn-store") -> Path:
    """The folder of a Cairn store in the work folder (Cairn's embedded default: a folder with cairn.db)."""
    return workdir / name


def mlflow_uri(workdir: Path, name: str = "mlflow") -> str:
    """A `sqlite:///` tracking URI in the work folder; its artifacts go beside the database."""
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def open_cairn(workdir: Path, name: str = "cairn-store") -> TrackingClient:
    """A TrackingClient on a store folder in the work folder, also made the fluent API's store."""
    import cairn

    folder = cairn_folder(workdir, name)
    cairn.set_tracking_uri(folder)
    return cairn.TrackingClient(str(folder))


def open_mlflow(workdir: Path, name: str = "mlflow") -> MlflowClient:
    """An MlflowClient on a SQLite database in the work folder, also made the fluent API's store."""
    import mlflow

    uri = mlflow_uri(workdir, name)
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(uri)


def mlflow_experiment(client: MlflowClient, workdir: Path, name: str) -> str:
    """Create an MLflow experiment whose artifacts stay in the work folder (not ./mlruns); return its id."""
    location = (workdir / "mlflow" / "artifacts" / name).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)
