"""Stage 3 of system ``ltsc``: evaluate the trained students (docs/ltsc.md, "Evaluation and
report").

Reads only finished checkpoints (``checkpoints/<variant>/final``) and writes
``results/accuracy-vs-snr.json``, ``results/accuracy-vs-fraction.json`` and
``results/complexity.json``; every accuracy record carries its student's training ``seed``.
Every accuracy is top-1 in [0, 1] over ``eval.repeats`` seeded channel realizations per test image,
so all students see the same noise.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.deploy.onnx_export import export_and_time, runtime_available
from semdistill.deploy.parts import task_parts
from semdistill.distill import load_distilled
from semdistill.experiments.ltsc.config import SYSTEM, LTSCConfig, resolve_device, variants
from semdistill.experiments.ltsc.data import train_pool
from semdistill.experiments.ltsc.train import build_student, distill_job
from semdistill.experiments.rundir import RunDir
from semdistill.metrics.classification import student_accuracy
from semdistill.metrics.complexity import (
    count_flops,
    count_parameters,
    latency_blocks_ms,
    model_megabytes,
)
from semdistill.models.student import TaskStudent
from semdistill.results import Results
from semdistill.teachers import Teacher

#: (variant, its trained student) in :func:`variants` order.
Trained = list[tuple[dict[str, Any], TaskStudent]]


def load_student(cfg: LTSCConfig, rd: RunDir, v: dict[str, Any], train_ds: Any,
                 device: torch.device) -> TaskStudent:
    """Variant ``v``'s weights from ``checkpoints/<name>/final``, in eval mode; weights made by
    another config are refused (the job fingerprint a resumed run checks)."""
    student = build_student(cfg, train_ds.num_classes, v["adaptive"], v["seed"])
    load_distilled(v["method"], distill_job(cfg, rd, v, student, train_ds, torch.device("cpu")))
    return student.to(device).eval()


def measure(cfg: LTSCConfig, student: TaskStudent, link: Link, test_ds: Any, snr_db: float,
            device: torch.device) -> dict[str, float]:
    """``student_accuracy`` at ``snr_db`` with the run's evaluation batch, seed and repeats:
    accuracy, active (fraction of feature channels sent) and energy (mean Es per symbol)."""
    return student_accuracy(student, link, test_ds, snr_db, batch_size=cfg.eval.batch_size,
                            seed=cfg.seed + 1, repeats=cfg.eval.repeats, device=device)


def evaluate_students(cfg: LTSCConfig, rd: RunDir, snr_db: Sequence[float],
                      channel: str | None = None) -> Path:
    """Accuracy vs SNR of every variant on each channel, on ``snr_db`` and the two check SNRs
    (``eval.check_snr_db``, ``eval.low_snr_db``); accuracy vs fraction.

    Refuses (:class:`~semdistill.experiments.rundir.MissingCheckpoints`, naming them) when any
    variant's checkpoint is not finished: evaluation never trains and never skips a student.
    ``channel`` limits the SNR curves to one channel; the other channels' records are kept.
    Returns the path of ``results/accuracy-vs-snr.json``.
    """
    vs = variants(cfg)
    rd.require_finished(v["name"] for v in vs)
    device = resolve_device(cfg)
    test_ds = cfg.data.build("test")
    path = rd.results / "accuracy-vs-snr.json"
    res = Results.load(path) if path.is_file() else Results(SYSTEM, "accuracy-vs-snr")
    train_ds = train_pool(cfg)  # its size is part of each job's fingerprint
    students = [(v, load_student(cfg, rd, v, train_ds, device)) for v in vs]
    grid = sorted({*map(float, snr_db), cfg.eval.check_snr_db, cfg.eval.low_snr_db})
    accuracy_vs_snr(cfg, res, students, test_ds, grid,
                    [channel] if channel else list(cfg.eval.channels), device)
    res.save(path)
    accuracy_vs_fraction(cfg, rd, students, test_ds, device)
    return path


def accuracy_vs_snr(cfg: LTSCConfig, res: Results, students: Trained, test_ds: Any,
                    snr_db: Sequence[float], channels: list[str], device: torch.device) -> None:
    """Replace ``res``'s records of ``channels`` with the main-fraction students' accuracy,
    active fraction and energy at every SNR of ``snr_db`` (dB).

    Each student is recorded under its variant's base name with its ``seed``, so curves and
    tables show the mean over seeds (with a 95% t-interval in plots).
    """
    res.records = [r for r in res.records if r.get("channel") not in channels]
    res.meta = {"test_samples": len(test_ds), "repeats": cfg.eval.repeats,
                "train_channel": cfg.channel.name}
    for ch in channels:
        link = Link.from_config(ChannelConfig(name=ch, equalizer=cfg.channel.equalizer),
                                normalize=False).to(device)
        for v, s in students:
            if v["fraction"] != cfg.fraction:
                continue
            for snr in snr_db:
                m = measure(cfg, s, link, test_ds, snr, device)
                res.add(method=v["base"], channel=ch, snr_db=float(snr), adaptive=v["adaptive"],
                        fraction=v["fraction"], seed=v["seed"], accuracy=m["accuracy"],
                        active=m["active"], energy=m["energy"])


def accuracy_vs_fraction(cfg: LTSCConfig, rd: RunDir, students: Trained, test_ds: Any,
                         device: torch.device) -> None:
    """``results/accuracy-vs-fraction.json``: AWGN accuracy at ``eval.check_snr_db`` of every
    adaptive student of ``runs.fraction_methods`` (each fraction, each seed)."""
    awgn = Link.from_config(ChannelConfig(name="awgn"), normalize=False).to(device)
    frac = Results(SYSTEM, "accuracy-vs-fraction",
                   meta={"snr_db": cfg.eval.check_snr_db, "channel": "awgn"})
    for v, s in students:
        if v["adaptive"] and v["method"] in cfg.runs.fraction_methods:
            frac.add(method=v["method"], fraction=v["fraction"], seed=v["seed"],
                     snr_db=cfg.eval.check_snr_db, channel="awgn",
                     accuracy=measure(cfg, s, awgn, test_ds, cfg.eval.check_snr_db,
                                      device)["accuracy"])
    frac.save(rd.results / "accuracy-vs-fraction.json")


def measure_complexity(cfg: LTSCConfig, rd: RunDir, teacher: Teacher, num_classes: int) -> None:
    """``results/complexity.json``: params, MB, FLOPs per image and tx/rx latency (median ms,
    batch 1, CPU, ``eval.latency_threads`` threads, :func:`latency_ms`) of the student (a fresh
    one: the counts do not depend on its weights) against the teacher, on one random
    ``(1, 3, H, W)`` image at 10 dB; with ``eval.onnx_latency`` and the deploy extra, also the
    student's transmitter and receiver exported to ONNX and timed in ONNX Runtime."""
    student = build_student(cfg, num_classes, True).eval()
    size = cfg.data.image_size
    x = torch.rand(1, 3, size, size)
    snr = torch.full((1,), 10.0)
    teacher = teacher.to("cpu")
    with torch.no_grad():
        z, _ = student.transmit(x, snr)
    ev = cfg.eval

    def timed(prefix: str, fn: Callable[[], object]) -> dict[str, float]:
        """``{prefix_ms: median, prefix_low_ms, prefix_high_ms, prefix_blocks}``."""
        t = latency_blocks_ms(fn, threads=ev.latency_threads, min_run_time=ev.latency_seconds)
        return {f"{prefix}_ms": t["median"], f"{prefix}_low_ms": t["low"],
                f"{prefix}_high_ms": t["high"], f"{prefix}_blocks": t["blocks"]}

    res = Results(SYSTEM, "complexity", meta={
        "latency": f"median ms, batch 1, CPU, {ev.latency_threads} thread(s), "
                   "torch.utils.benchmark blocked_autorange; *_low_ms/*_high_ms: 95% "
                   "t-interval of the mean over its timing blocks",
        "flops": "per image, FlopCounterMode"})
    tx_flops = count_flops(lambda: student.transmit(x, snr))
    rx_flops = count_flops(lambda: student.receive(z, snr))
    res.add(method="student", part="transmitter+receiver", params=count_parameters(student),
            megabytes=model_megabytes(student), flops=tx_flops + rx_flops,
            tx_flops=tx_flops, rx_flops=rx_flops,
            **timed("tx_latency", lambda: student.transmit(x, snr)),
            **timed("rx_latency", lambda: student.receive(z, snr)),
            symbols=student.num_symbols, bandwidth_ratio=student.bandwidth_ratio,
            **_onnx_latency(cfg, student, num_classes))
    res.add(method="teacher", part=teacher.spec, params=count_parameters(teacher),
            megabytes=model_megabytes(teacher), flops=count_flops(lambda: teacher(x)),
            **timed("latency", lambda: teacher(x)),
            input_size=teacher.preprocess.cfg.input_size)
    res.save(rd.results / "complexity.json")


def _onnx_latency(cfg: LTSCConfig, student: TaskStudent, num_classes: int) -> dict[str, float]:
    """``{"onnx_tx_latency_ms", "onnx_rx_latency_ms", "onnx_max_abs_error"}`` of the student
    exported to ONNX (a temporary folder) and run in ONNX Runtime at batch 1; empty when
    ``eval.onnx_latency`` is off or the deploy extra is missing."""
    if not (cfg.eval.onnx_latency and runtime_available()):
        return {}
    ev = cfg.eval
    with tempfile.TemporaryDirectory() as tmp:
        timed = export_and_time(task_parts(student, cfg.data.image_size, num_classes),
                                Path(tmp), ev.latency_threads, ev.latency_seconds)
    tx, rx = timed["student-transmitter"], timed["student-receiver"]
    return {"onnx_tx_latency_ms": tx["latency_ms"], "onnx_rx_latency_ms": rx["latency_ms"],
            "onnx_max_abs_error": max(tx["max_abs_error"], rx["max_abs_error"])}
