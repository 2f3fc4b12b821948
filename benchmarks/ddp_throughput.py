"""Student-training throughput under DDP: 1 process against N processes, same global batch.

    python benchmarks/ddp_throughput.py [--procs 1 2] [--steps 40] [--config configs/ltsc/flat.yaml]

Each setting runs ``torchrun --standalone --nproc_per_node N`` on the CPU (gloo), with the cores
split evenly between processes (OMP_NUM_THREADS = cores / N). The work is the task-oriented
student's training step through the shared Trainer (the ``scratch`` trainer: render, augment,
channel, backward), so the figure is what DDP buys the real trainer on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def worker(out: Path, steps: int, config: str) -> None:
    from semdistill.channels import Link
    from semdistill.distill import DistillJob, distill
    from semdistill.experiments.ltsc import aug_seed, augment_of
    from semdistill.experiments.registry import load_config_file
    from semdistill.models.student import TaskStudent

    _, cfg = load_config_file(config)
    train_ds = cfg.data.build("train")
    student = TaskStudent(cfg.student, train_ds.num_classes, cfg.data.image_size)
    train = cfg.train.model_copy(update={"steps": steps, "checkpoint_every": 10**6, "cpu": True,
                                         "warmup_steps": 0})
    with tempfile.TemporaryDirectory() as tmp:
        link = Link.from_config(cfg.channel, normalize=False)
        job = DistillJob(student=student, link=link, dataset=train_ds,
                         train=train, loss=cfg.loss, snr=cfg.snr, checkpoint_dir=Path(tmp),
                         augment=augment_of(cfg), aug_seed=aug_seed(cfg), views=1, seed=0,
                         tag="bench")
        summary = distill("scratch", job)
    if int(os.environ.get("RANK", "0")) == 0:
        out.write_text(json.dumps({"seconds": summary.seconds,
                                   "samples": steps * train.batch_size}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--config", default="configs/ltsc/flat.yaml")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        worker(args.worker, args.steps, args.config)
        return
    cores = os.cpu_count() or 1
    rows = []
    for n in args.procs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            env = {**os.environ, "OMP_NUM_THREADS": str(max(1, cores // n)), "TQDM_DISABLE": "1"}
            subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                            "--nproc_per_node", str(n), __file__, "--worker", str(out),
                            "--steps", str(args.steps), "--config", args.config],
                           env=env, check=True)
            r = json.loads(out.read_text())
        rows.append((n, r["samples"] / r["seconds"]))
    base = rows[0][1]
    print(f"\n{cores} CPU cores, {args.steps} steps, config {args.config}\n")
    print("| processes | threads each | samples/s | x 1 process |")
    print("|---:|---:|---:|---:|")
    for n, rate in rows:
        print(f"| {n} | {max(1, cores // n)} | {rate:,.0f} | {rate / base:.2f} |")


if __name__ == "__main__":
    main()
