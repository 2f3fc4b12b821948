"""A real 2-process CPU job (gloo): ranks see disjoint data and agree on parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.distributed
def test_two_process_gloo_job_keeps_ranks_in_sync(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parent)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(WORKER), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert not set(r0["seen"]) & set(r1["seen"]), "ranks must read disjoint shards"
    for a, b in zip(r0["params"], r1["params"], strict=True):
        assert torch.equal(a, b)
    torch.manual_seed(0)
    init = torch.nn.Linear(5, 1)
    assert not torch.equal(init.weight, r0["params"][0]), "the step must have changed the weights"
    assert (tmp_path / "ckpt" / "final" / "manifest.json").is_file()


@pytest.mark.distributed
def test_experiment_runs_under_torchrun_into_one_run_directory(tmp_path):
    """`semdistill run` under a 2-process launch: one run directory, one log, one report."""
    config = Path(__file__).resolve().parents[2] / "configs" / "ltsc" / "tiny.yaml"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "semdistill.cli", "run", str(config), "--output-dir", str(tmp_path),
           "--set", "runs.fractions=[]"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    assert proc.stdout.count("report: ") == 1
    rows = [json.loads(line) for line in (runs[0] / "metrics.jsonl").read_text().splitlines()]
    keys = [(r["tag"], r["step"]) for r in rows]
    assert keys and len(keys) == len(set(keys)), "each (stage, step) is logged once"
    assert (runs[0] / "report.md").is_file()
    store = json.loads((runs[0] / "store" / "manifest.json").read_text())
    assert len(store["chunks"]) == 2  # 64 samples in chunks of 32: one built by each rank
