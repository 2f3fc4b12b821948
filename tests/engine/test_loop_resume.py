"""A real run killed by a real signal resumes to the same metrics as an uninterrupted run.

Also pins determinism: two runs of the same config and seed give identical metrics on the CPU.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "ltsc" / "tiny.yaml"
# long enough student stages to be killed in the middle of one
OVERRIDES = ["--set", "train.steps=24", "--set", "train.checkpoint_every=4",
             "--set", "runs.fractions=[]"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "semdistill.cli", *args]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"}


def accuracy_records(run: Path) -> list[dict]:
    """Everything in the run's results except wall-clock timings."""
    timing = ("seconds", "latency", "ms", "time")
    rows = []
    for f in sorted((run / "results").glob("*.json")):
        data = json.loads(f.read_text())
        if "records" not in data or f.stem in ("distill-time", "complexity"):
            continue
        for r in data["records"]:
            rows.append({k: v for k, v in r.items() if not any(t in k for t in timing)})
    return rows


def student_checkpoint(run: Path) -> bool:
    return any(p.name.startswith("step-") for p in (run / "checkpoints").glob("*/step-*"))


@pytest.mark.slow
def test_sigkilled_run_resumes_to_identical_metrics(tmp_path):
    ref = tmp_path / "ref"
    subprocess.run(cli("run", str(CONFIG), "--output-dir", str(tmp_path), "--name", "ref",
                       *OVERRIDES), env=env(), check=True, capture_output=True, timeout=400)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cli("run", str(CONFIG), "--output-dir", str(tmp_path), "--name",
                                "killed", *OVERRIDES), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not student_checkpoint(killed):
        assert proc.poll() is None, "run finished before it could be killed"
        assert time.monotonic() < deadline, "no student checkpoint appeared"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (killed / "report.md").exists()
    subprocess.run(cli("run", "--resume", str(killed)), env=env(), check=True,
                   capture_output=True, timeout=400)
    expected = accuracy_records(ref)
    assert expected, "the reference run wrote no accuracy records"
    assert accuracy_records(killed) == expected
