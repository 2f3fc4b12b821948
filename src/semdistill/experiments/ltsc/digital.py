"""Stage 3b of system ``ltsc``: the digital baseline "send the image, run the large model at the
receiver" against the students at the same channel uses (docs/digital.md).

Each of ``eval.digital.images`` test images is sent digitally (image codec + 5G LDPC + QAM)
over every evaluation channel at each SNR and channel-use budget (multiples of the student's
complex symbols per image); the teacher classifies the received image, the dataset-mean image
when it did not arrive. Writes ``results/digital.json``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

from semdistill.channels.config import ChannelConfig
from semdistill.digital import envelope, sweep
from semdistill.experiments.digital import RESULTS, digital_section
from semdistill.experiments.ltsc.config import SYSTEM, LTSCConfig
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.metrics.classification import accuracy
from semdistill.metrics.complexity import latency_ms
from semdistill.results import Results
from semdistill.teachers import Teacher

RULE = ("per configuration (codec, code rate, modulation) each image at the highest quality "
        "whose coded channel uses fit the budget; the envelope is the configuration with the "
        "best mean accuracy at each (SNR, budget)")


def run_digital(cfg: LTSCConfig, rd: RunDir, teacher: Teacher, test_ds: Any) -> Path | None:
    """The sweep and envelope on every ``eval.channels`` channel; ``None`` when switched off."""
    d = cfg.eval.digital
    if not d.enabled:
        return None
    t0 = time.perf_counter()
    n = min(d.images, len(test_ds))
    images, labels = test_ds.render_indices(torch.arange(n))
    teacher = teacher.to("cpu").eval()
    symbols = cfg.student.num_symbols(cfg.data.image_size)

    @torch.no_grad()
    def score(received: torch.Tensor) -> dict[str, float]:
        return {"accuracy": accuracy(teacher(received), labels)}

    snr = list(d.snr_db or cfg.eval.snr_db)
    budgets = d.native_budgets([symbols])
    res = Results(SYSTEM, "digital")
    for ch in cfg.eval.channels:
        channel = ChannelConfig(name=ch, equalizer=cfg.channel.equalizer)
        recs = sweep(images, d, channel, snr, budgets, score, images.mean(0), cfg.seed)
        for r in recs + envelope(recs, snr, budgets, "accuracy"):
            res.add(channel=ch, **r)
    lat = latency_ms(lambda: teacher(images[:1]), threads=cfg.eval.latency_threads,
                     min_run_time=cfg.eval.latency_seconds)
    clean = score(images)["accuracy"]
    res.meta = {
        **d.model_dump(mode="json", include={"codecs", "code_rates", "modulations",
                                             "block_length", "iterations"}),
        "images": n, "budgets": budgets, "native_budgets": [symbols],
        "fallback": "the mean of the sent test images", "rule": RULE,
        "teacher_latency_ms": lat, "clean_teacher_accuracy": clean,
        "seconds": time.perf_counter() - t0,
        "notes": [f"the teacher runs at the receiver on the decoded image: {lat:.3g} ms per "
                  f"image (batch 1, CPU, {cfg.eval.latency_threads} thread(s)); its accuracy "
                  f"on these {n} clean images is {clean:.3f}; the students' accuracy is over "
                  "the whole test set"]}
    return res.save(rd.results / RESULTS)


def report_digital(md: MarkdownReport, rd: RunDir, acc: Results) -> None:
    """The digital section of ``report.md``, next to the main (prestored) student (its seed
    mean when the run has several seeds)."""
    if not (rd.results / RESULTS).is_file():
        return
    symbols = Results.load(rd.results / RESULTS).meta["native_budgets"][0]
    by_point: dict[tuple[str, float], list[float]] = {}
    for r in acc.select(method="prestored"):  # one record per training seed
        by_point.setdefault((r["channel"], r["snr_db"]), []).append(r["accuracy"])
    semantic = [{"method": "prestored", "channel": ch, "budget": symbols, "snr_db": snr,
                 "accuracy": statistics.fmean(v)} for (ch, snr), v in by_point.items()]
    digital_section(md, rd, ["accuracy"], semantic)
