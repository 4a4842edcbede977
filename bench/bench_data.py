"""Benchmark: versioning and profiling data with `cairn.data.log_dataset`, against reading it with pyarrow.

Measured:
- a large Parquet file: reading it whole with pyarrow (the baseline), logging it as a new version (digest,
  PII scan, profile, copy into the store), and logging it again unchanged;
- a folder of many small CSV files: the first version, and a second run over the unchanged folder (the local
  hash cache means nothing is hashed again);
- MLflow's nearest equivalent for the Parquet file: `mlflow.data.from_pandas` + `mlflow.log_input`, which
  records a digest of a sample and stores no content (so it is not the same work; shown for orientation).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, median, run_main, wanted_systems

ROWS_PER_MB = 33_000  # about 1 MB of Parquet per 33k generated rows (the real size is reported)


def write_parquet(path: Path, megabytes: int, seed: int = 7) -> int:
    """Write a Parquet file of about `megabytes` MB (numeric, string, timestamp columns); return its rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    rows = megabytes * ROWS_PER_MB
    chunk = 1_000_000
    writer: pq.ParquetWriter | None = None
    written = 0
    while written < rows:
        n = min(chunk, rows - written)
        ids = np.arange(written, written + n, dtype=np.int64)
        table = pa.table(
            {
                "user_id": ids,
                "amount": rng.gamma(2.0, 30.0, n),
                "score": rng.normal(0.0, 1.0, n),
                "clicks": rng.poisson(3.0, n).astype(np.int32),
                "country": pa.array(rng.choice(["DE", "FR", "NL", "US", "GB", "IN"], n)),
                "event_time": pa.array(
                    (1_700_000_000_000 + ids * 1000).astype("datetime64[ms]"), type=pa.timestamp("ms")
                ),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=256_000)
        written += n
    assert writer is not None
    writer.close()
    return rows


def write_small_files(folder: Path, count: int) -> None:
    """Write `count` small CSV files (a few rows each) into nested subfolders."""
    for i in range(count):
        sub = folder / f"part-{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:06d}.csv").write_text(f"id,value,label\n{i},{i * 0.5},a\n{i + 1},{i * 0.25},b\n")


def warm_page_cache(path: Path) -> None:
    """Read the file once so every timed pass starts from the same (warm) page cache."""
    with path.open("rb") as handle:
        while handle.read(16 << 20):
            pass


def measure_cairn(args: argparse.Namespace, workdir: Path, parquet: Path, files: Path) -> dict[str, Any]:
    """Time pyarrow's read, Cairn's first and repeated log of the Parquet file, and of the small files."""
    import pyarrow.parquet as pq

    import cairn
    from cairn.data import DataClient
    from cairn.data.dataset_logging import LogOptions

    os.environ["CAIRN_HASH_CACHE"] = str(workdir / "hash-cache.sqlite")
    os.environ["CAIRN_DATA_CACHE"] = str(workdir / "data-cache")
    import pandas as pd

    warm = DataClient(tracking=cairn.TrackingClient(str(workdir / "store-warm-up")))
    warm.log_dataset(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "warm-up")  # first-use imports, untimed
    reads = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        pq.read_table(parquet)
        reads.append(time.perf_counter() - start)
    out: dict[str, Any] = {"read_s": median(reads), "read_samples": reads}
    firsts, agains = [], []
    for i in range(args.repeats):
        client = DataClient(tracking=cairn.TrackingClient(str(workdir / f"store-{i}")))
        start = time.perf_counter()
        version = client.log_dataset(str(parquet), "big", options=LogOptions())
        firsts.append(time.perf_counter() - start)
        start = time.perf_counter()
        again = client.log_dataset(str(parquet), "big", options=LogOptions())
        agains.append(time.perf_counter() - start)
        assert again.version == version.version, "unchanged data must not make a new version"
        out["rows"] = version.row_count
    out.update(first_s=median(firsts), first_samples=firsts, again_s=median(agains), again_samples=agains)
    client = DataClient(tracking=cairn.TrackingClient(str(workdir / "store-files")))
    start = time.perf_counter()
    client.log_dataset(str(files), "many", options=LogOptions(scan_pii=False))
    out["files_first_s"] = time.perf_counter() - start
    start = time.perf_counter()
    client.log_dataset(str(files), "many", options=LogOptions(scan_pii=False))
    out["files_again_s"] = time.perf_counter() - start
    return out


# VmHWM, not getrusage: Linux carries ru_maxrss over from the parent across fork and exec.
_MEMORY_PROBE = """
import re, sys
import cairn
from cairn.data import DataClient
client = DataClient(tracking=cairn.TrackingClient(sys.argv[1]))
if sys.argv[3] == "log":
    client.log_dataset(sys.argv[2], "big")
else:
    import duckdb, pyarrow.dataset  # the same libraries, loaded but idle
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


def peak_rss_mb(workdir: Path, parquet: Path, mode: str) -> int:
    """Peak resident memory (MiB) of a fresh process that logs `parquet` ("log") or only imports ("idle")."""
    env = dict(os.environ)
    env["CAIRN_HASH_CACHE"] = str(workdir / f"rss-{mode}-hashes.sqlite")
    env["CAIRN_DATA_CACHE"] = str(workdir / f"rss-{mode}-cache")
    store = str(workdir / f"rss-{mode}-store")
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, store, str(parquet), mode],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def measure_mlflow(workdir: Path, parquet: Path) -> dict[str, Any]:
    """Time MLflow's pandas dataset + log_input for the same file (reads it into pandas first)."""
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    with mlflow.start_run():  # first-use imports and the store's creation, untimed
        mlflow.log_input(
            mlflow.data.from_pandas(pd.DataFrame({"a": [1]}), name="warm-up"), context="training"
        )
    start = time.perf_counter()
    frame = pd.read_parquet(parquet)
    dataset = mlflow.data.from_pandas(frame, source=str(parquet), name="big")
    with mlflow.start_run():
        mlflow.log_input(dataset, context="training")
    return {"log_s": time.perf_counter() - start}


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Generate the data, then measure each system."""
    systems = wanted_systems(args)
    parquet = workdir / "big.parquet"
    rows = write_parquet(parquet, args.mb)
    files = workdir / "small-files"
    write_small_files(files, args.files)
    warm_page_cache(parquet)
    size_mb = parquet.stat().st_size / 1e6
    result = Result(
        "data",
        "Dataset versioning and profiling",
        {"parquet_mb": round(size_mb, 1), "rows": rows, "small_files": args.files, "repeats": args.repeats},
    )
    cairn = measure_cairn(args, workdir, parquet, files) if "cairn" in systems else None
    if cairn is not None:
        cairn["rss_log_mb"] = peak_rss_mb(workdir, parquet, "log")
        cairn["rss_idle_mb"] = peak_rss_mb(workdir, parquet, "idle")
    mlflow = measure_mlflow(workdir, parquet) if "mlflow" in systems else None
    if cairn is not None:
        ratio = cairn["first_s"] / cairn["read_s"]
        again_share = 100 * cairn["again_s"] / cairn["first_s"]
        result.rows += [
            Row(f"pyarrow read_table of {size_mb:.0f} MB Parquet", "s", cairn["read_s"]),
            Row(
                "log_dataset, new version (digest, PII scan, profile, copy)",
                "s",
                cairn["first_s"],
                mlflow["log_s"] if mlflow else None,
                note="MLflow: pandas read + from_pandas + log_input; stores no content",
            ),
            Row("log_dataset time / pyarrow read time", "x", ratio, target=Target("<=", 3.0)),
            Row("log_dataset again, unchanged", "s", cairn["again_s"]),
            Row(
                f"peak memory logging the {size_mb:.0f} MB file (fresh process)",
                "MiB",
                float(cairn["rss_log_mb"]),
                note=f"the same process with the libraries loaded and idle: {cairn['rss_idle_mb']} MiB",
            ),
            Row("unchanged re-log, share of first log", "%", again_share, target=Target("<=", 5.0)),
            Row(f"folder of {args.files:,} small files, first version", "s", cairn["files_first_s"]),
            Row(f"folder of {args.files:,} small files, unchanged again", "s", cairn["files_again_s"]),
        ]
    result.details = {"cairn": cairn, "mlflow": mlflow}
    result.notes.append("Timings are medians over --repeats fresh stores; the file is in the page cache.")
    return result


def main() -> None:
    """Entry point."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--mb", type=int, default=20, help="size of the Parquet file in MB")
    parser.add_argument("--files", type=int, default=500, help="number of small files in the folder")
    parser.add_argument("--repeats", type=int, default=1)
    run_main(parser, measure)


if __name__ == "__main__":
    main()
