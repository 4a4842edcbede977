"""`cairn models predict`: score a CSV, Parquet or JSON-lines file with a model, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cairn.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.serving.batch_scoring import ProgressCallback

FORMAT_CHOICE = click.Choice(["csv", "parquet", "jsonl"], case_sensitive=False)


@click.command("predict")
@click.argument("model_uri")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to score (.csv, .parquet or .jsonl).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: the input columns plus the prediction column(s).",
)
@click.option("--input-format", type=FORMAT_CHOICE, help="Input format [default: from the suffix].")
@click.option("--output-format", type=FORMAT_CHOICE, help="Output format [default: from the suffix].")
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Rows read, scored and written at a time.",
)
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
@pass_cli
def predict_command(
    state: CliContext,
    model_uri: str,
    input_path: Path,
    output_path: Path,
    input_format: str | None,
    output_format: str | None,
    chunk_rows: int,
    overwrite: bool,
) -> None:
    """Score a file with a model, streaming it in chunks; the output appears only when complete.

    MODEL_URI is a package folder, a file: URI, runs:/<run_id>/<path>, models:/<name>/<version> or
    models:/<name>@<alias>.
    """
    from cairn.serving.batch_scoring import score_file

    model = load_for_cli(state, model_uri)
    with progress_bar() as on_progress:
        summary = score_file(
            model,
            input_path,
            output_path,
            input_format=input_format,
            output_format=output_format,
            chunk_rows=chunk_rows,
            overwrite=overwrite,
            progress=on_progress,
        )
    click.echo(
        f"Scored {summary.rows:,} rows in {summary.chunks:,} chunk(s) in {summary.seconds:.2f}s; "
        f"wrote {output_path}"
    )


def load_for_cli(state: CliContext, model_uri: str) -> LoadedModel:
    """The model a URI names; runs:/ and models:/ URIs are fetched from the store `--tracking-uri` names."""
    from cairn.models import load_model

    if model_uri.startswith(("runs:/", "models:/")):
        from cairn.models.remote import fetch_model

        return load_model(fetch_model(model_uri, tracking_uri=state.resolved_uri()))
    return load_model(model_uri)


@contextmanager
def progress_bar() -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr counting rows (with a total when one is known), as a callback."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("Scoring"),
        BarColumn(),
        TextColumn("{task.fields[counted]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    task = progress.add_task("score", total=None, counted="0 rows")

    def update(done: int, total: int | None) -> None:
        counted = f"{done:,} / {total:,} rows" if total is not None else f"{done:,} rows"
        progress.update(task, completed=done, total=total, counted=counted)

    with progress:
        yield update
