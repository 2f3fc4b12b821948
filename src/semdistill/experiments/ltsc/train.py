"""Stage 2 of system ``ltsc``: train every student variant (docs/ltsc.md, "Trainers: what is
kept the same").

All variants start from the same initialization (per seed) and see the same data order, views and
SNR draws; they differ only in the knowledge they learn from: the pre-stored soft labels, the
online teacher, or none (``scratch``). Each trains through :func:`semdistill.distill.distill`
into ``checkpoints/<variant name>/`` and resumes from there.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from semdistill.channels import Link
from semdistill.data import Subset
from semdistill.distill import DistillJob, distill
from semdistill.experiments.ltsc.config import SYSTEM, LTSCConfig, variants
from semdistill.experiments.ltsc.data import aug_seed, augment_of
from semdistill.experiments.rundir import RunDir
from semdistill.models.student import TaskStudent
from semdistill.results import Results
from semdistill.teachers import KnowledgeStore, Teacher


def build_student(cfg: LTSCConfig, num_classes: int, adaptive: bool,
                  seed: int | None = None) -> TaskStudent:
    """Same seed (default ``cfg.seed``) → same encoder/decoder init for every variant
    (adaptive on or off). Seeds the global torch RNG."""
    torch.manual_seed(cfg.seed if seed is None else seed)
    scfg = cfg.student.model_copy(update={"adaptive": adaptive})
    return TaskStudent(scfg, num_classes, cfg.data.image_size)


def training_set(cfg: LTSCConfig, v: dict[str, Any], pool: Any) -> Subset:
    """What variant ``v`` trains on: its ``fraction`` of the labelled images, and, for a
    distilled student, the same fraction of the transfer set, unlabelled.

    ``pool`` is :func:`~semdistill.experiments.ltsc.data.train_pool`: ``data.train_size``
    labelled images, then ``store.transfer_size`` more. ``scratch`` never sees the transfer set.
    """
    labelled = min(cfg.data.train_size, len(pool))  # a real dataset may hold fewer
    n = max(1, round(v["fraction"] * labelled))
    t = 0 if v["method"] == "scratch" else round(v["fraction"] * cfg.store.transfer_size)
    return Subset(pool, n, unlabelled=labelled + torch.arange(t))


def distill_job(cfg: LTSCConfig, rd: RunDir, v: dict[str, Any], student: TaskStudent,
                pool: Any, device: torch.device) -> DistillJob:
    """The training job of variant ``v`` (see :func:`variants`) on its
    :func:`training_set` of ``pool``.

    Its fingerprint covers everything that changes the trained weights, so a resumed run refuses
    a checkpoint made under a different config.
    """
    dataset = training_set(cfg, v, pool)
    store = cfg.store.fingerprint_dump()
    store.pop("path")
    if v["method"] == "scratch":  # its images and views do not depend on the transfer set
        store.pop("transfer_size", None)
    fp = {"student": cfg.student.fingerprint_dump(), "adaptive": v["adaptive"],
          "seed": v["seed"],
          "loss": cfg.loss.model_dump(), "fraction": v["fraction"], "n": dataset.labelled,
          "data": cfg.data.model_dump(mode="json"), "snr": cfg.snr.model_dump(),
          "channel": cfg.channel.model_dump(), "store": store}
    if len(dataset) > dataset.labelled:
        fp["unlabelled"] = len(dataset) - dataset.labelled
    return DistillJob(
        student=student, link=Link.from_config(cfg.channel, normalize=False).to(device),
        dataset=dataset,
        train=cfg.train, loss=cfg.loss, snr=cfg.snr, checkpoint_dir=rd.checkpoints / v["name"],
        augment=augment_of(cfg), aug_seed=aug_seed(cfg), views=cfg.store.views, seed=v["seed"],
        tag=v["name"], fingerprint=json.dumps(fp, sort_keys=True), log=rd.log_metrics)


def train_all(cfg: LTSCConfig, rd: RunDir, pool: Any, teacher: Teacher,
              store: KnowledgeStore, device: torch.device) -> dict[str, dict[str, Any]]:
    """Train (or resume, or skip when finished) every variant, in :func:`variants` order, on
    its :func:`training_set` of ``pool``.

    Returns ``{name: {**variant, seconds, steps, skipped, last}}`` (``seconds``: wall time of the
    distillation steps, ``TrainSummary.seconds``).
    """
    timings: dict[str, dict[str, Any]] = {}
    for v in variants(cfg):
        student = build_student(cfg, pool.num_classes, v["adaptive"], v["seed"])
        job = distill_job(cfg, rd, v, student, pool, device)
        knowledge = {"prestored": store, "online": teacher, "scratch": None}[v["method"]]
        summary = distill(v["method"], job, knowledge)
        timings[v["name"]] = {**v, "seconds": summary.seconds, "steps": summary.steps,
                              "skipped": summary.skipped, "last": summary.last}
    return timings


def save_timing_results(rd: RunDir, timings: dict[str, dict[str, Any]]) -> None:
    """``results/distill-time.json``: one record per student (method = the variant's base name,
    with its ``seed``)."""
    res = Results(SYSTEM, "distill-time", meta={"unit": "seconds (TrainSummary.seconds)"})
    for t in timings.values():
        res.add(method=t["base"], seed=t["seed"], fraction=t["fraction"], steps=t["steps"],
                seconds=t["seconds"])
    res.save(rd.results / "distill-time.json")
