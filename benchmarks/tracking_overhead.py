"""Cost of experiment tracking: one metrics row with no tracker, TensorBoard and W&B (offline).

    python benchmarks/tracking_overhead.py                # 2,000 rows per tracker, 5 rounds
    python benchmarks/tracking_overhead.py --rows 200     # a quick look

Each round logs ``--rows`` rows of a training stage's shape (loss, three loss terms, lr,
grad_norm, samples_per_s) through ``RunDir.log_metrics`` into a fresh run directory, once per
tracker, the trackers interleaved in one process. Prints the tracker's start at the first row
(the first round includes importing the tracker's package), the median time per later row over
the rounds and the extra time per row against ``none`` (which still appends each row to
``metrics.jsonl``), with the machine named. W&B is
timed only when it is installed (``WANDB_MODE=offline``: nothing leaves the machine).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from pydantic import BaseModel

from semdistill.experiments.rundir import RunDir


class _Cfg(BaseModel):
    system: str = "ltsc"


def time_rows(kind: str, root: Path, rows: int) -> tuple[float, float]:
    """(seconds to start tracker ``kind`` at the first row, seconds per later row)."""
    rd = RunDir.create(root, _Cfg(), name=kind)
    with rd.tracking(kind):
        t0 = time.perf_counter()
        rd.log_metrics(0, "warm-up", loss=1.0)  # starts the tracker
        start = time.perf_counter() - t0
        t0 = time.perf_counter()
        for step in range(1, rows + 1):
            rd.log_metrics(step, "stage", loss=1.0 / step, ce=0.5, rate=0.25, kd=0.125,
                           lr=1e-3, grad_norm=2.0, samples_per_s=1000.0 + step)
        elapsed = time.perf_counter() - t0
    return start, elapsed / rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    kinds = ["none", "tensorboard"] + (["wandb"] if importlib.util.find_spec("wandb") else [])
    per_row: dict[str, list[float]] = {k: [] for k in kinds}
    starts: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for kind in kinds:
                start, row = time_rows(kind, Path(tmp) / f"round{r}", args.rows)
                starts[kind].append(start)
                per_row[kind].append(row)
    base = statistics.median(per_row["none"])
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}; {args.rows} rows x {args.rounds} rounds\n")
    print("| tracker | start, first round / median of later [ms] | per row [µs] | "
          "extra per row vs none [µs] | per-row rounds [µs] |")
    print("|---|---:|---:|---:|---|")
    for kind in kinds:
        med = statistics.median(per_row[kind])
        rounds = ", ".join(f"{v * 1e6:.0f}" for v in per_row[kind])
        later = statistics.median(starts[kind][1:]) if len(starts[kind]) > 1 else float("nan")
        print(f"| {kind} | {starts[kind][0] * 1e3:.0f} / {later * 1e3:.0f} | {med * 1e6:.0f} | "
              f"{(med - base) * 1e6:.0f} | {rounds} |")


if __name__ == "__main__":
    main()
