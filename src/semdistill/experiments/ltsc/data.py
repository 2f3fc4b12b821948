"""Stage 1 of system ``ltsc``: the teacher and the knowledge store (docs/ltsc.md, "Teachers" and
"Knowledge store").

The teacher is resolved once per run; the store holds its top-K soft labels for every
(train sample, view) and is built (or verified and reused, on resume) under :func:`store_path`.
The augmentation and its seed defined here are the ones every student sees, so the prestored
student reads exactly the views the teacher labelled.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from semdistill.config import ConfigError
from semdistill.data import SeededAugment
from semdistill.data.spec import class_names
from semdistill.experiments.ltsc.config import LTSCConfig
from semdistill.experiments.rundir import RunDir
from semdistill.metrics.classification import classifier_accuracy
from semdistill.teachers import (
    KnowledgeStore,
    Teacher,
    TeacherNotAvailable,
    fit_linear_probe,
    load_teacher,
    resolve_teacher,
)
from semdistill.utils.seeds import derive_seed


def get_teacher(cfg: LTSCConfig, train_ds: Any, rd: RunDir) -> tuple[Teacher, dict[str, Any]]:
    """Resolve the configured teacher; returns it with provenance for the report.

    ``teacher.spec: shapes`` is the offline teacher (shipped → cached → pre-trained now); any
    other spec goes to :func:`semdistill.teachers.load_teacher`. Raises
    :class:`TeacherNotAvailable` when the teacher's classes do not match the dataset's.
    """
    t0 = time.perf_counter()
    if cfg.teacher.spec == "shapes":
        teacher, folder, trained = resolve_teacher(
            cfg.teacher.pretrain, allow_train=cfg.teacher.allow_pretrain, log=rd.log_metrics)
        meta = json.loads((folder / "teacher.json").read_text())
        info = {"source": str(folder), "pretrained_now": trained,
                "pretrain_seconds": meta.get("wall_seconds") if trained else 0.0,
                "reported_test_accuracy": meta.get("test_accuracy")}
    else:
        names = class_names(train_ds)
        source = cfg.teacher.spec.partition(":")[0]
        kwargs = {"hf": {"class_names": names, "head": cfg.teacher.head},
                  "timm": {"num_classes": train_ds.num_classes, "class_names": names,
                           "pretrained": cfg.teacher.pretrained,
                           "input_size": cfg.teacher.input_size},
                  }.get(source, {"class_names": names})
        torch.manual_seed(cfg.seed)  # random-weight teachers (timing runs) are reproducible
        teacher = load_teacher(cfg.teacher.spec, **kwargs)
        info = {"source": cfg.teacher.spec, "pretrained_now": False}
        if cfg.teacher.spec.startswith("hf:") and cfg.teacher.head == "linear":
            n = min(cfg.teacher.probe_samples, cfg.data.train_size, len(train_ds))  # labelled
            x, y = train_ds.render_indices(torch.arange(n))
            info["probe_train_accuracy"] = fit_linear_probe(teacher, x, y)
    info["load_seconds"] = round(time.perf_counter() - t0, 2)
    if teacher.num_classes != train_ds.num_classes:
        raise TeacherNotAvailable(f"teacher {teacher.spec} has {teacher.num_classes} classes, "
                                  f"dataset has {train_ds.num_classes}")
    return teacher, info


@torch.no_grad()
def teacher_accuracy(teacher: Teacher, test_ds: Any, device: torch.device) -> float:
    """Top-1 accuracy of ``teacher`` (moved to ``device``) on the clean test images."""
    return classifier_accuracy(teacher.to(device), test_ds, device=device)


def train_pool(cfg: LTSCConfig) -> Any:
    """The training images: the ``data.train_size`` labelled ones, then the
    ``store.transfer_size`` unlabelled ones of the transfer set (the same source's next
    items, so the labelled images are the same with or without it).

    The store labels all of them; which a student sees is
    :func:`~semdistill.experiments.ltsc.train.training_set`. A real dataset with fewer images
    than both parts need is a :class:`~semdistill.config.ConfigError` (one line, before any
    work).
    """
    t = cfg.store.transfer_size
    if not t:
        return cfg.data.build("train")
    need = cfg.data.train_size + t
    pool = cfg.data.model_copy(update={"train_size": need}).build("train")
    if len(pool) < need:
        raise ConfigError(f"data.train_size + store.transfer_size = {need} images, but "
                          f"{cfg.data.name} holds {len(pool)} training images: lower "
                          "store.transfer_size")
    return pool


def store_path(cfg: LTSCConfig, rd: RunDir) -> Path:
    """``store.path`` when set, else ``<run>/store``."""
    return Path(cfg.store.path) if cfg.store.path else rd.path / "store"


def augment_of(cfg: LTSCConfig) -> SeededAugment:
    """The seeded augmentation (pad-crop, flip, jitter) of the store and every student."""
    return SeededAugment(cfg.augment.pad, cfg.augment.flip, cfg.augment.jitter)


def aug_seed(cfg: LTSCConfig) -> int:
    """Seed of the per-(sample, view) augmentation seeds, derived from the run's ``seed``."""
    return derive_seed(cfg.seed, 17)


def build_store(cfg: LTSCConfig, rd: RunDir, teacher: Teacher, train_ds: Any,
                device: torch.device) -> tuple[KnowledgeStore, float]:
    """Run ``teacher`` once over every (sample, view) of ``train_ds`` (the
    :func:`train_pool`), or reuse a verified store.

    Returns the store and the wall seconds it took (a few ms when an existing store is reused).
    """
    t0 = time.perf_counter()
    store = KnowledgeStore.build(
        teacher, train_ds, store_path(cfg, rd), dataset_id=cfg.data.identity("train"),
        views=cfg.store.views, k=cfg.store.k, seed=aug_seed(cfg), augment=augment_of(cfg),
        chunk_size=cfg.store.chunk_size, temperature=cfg.loss.temperature,
        batch_size=cfg.store.batch_size, device=device)
    return store, time.perf_counter() - t0


def store_info(store: KnowledgeStore, seconds: float, transfer: int = 0) -> dict[str, Any]:
    """The store's entry in ``results/run-info.json`` (size per sample in bytes; ``transfer``:
    how many of its samples are the unlabelled transfer set)."""
    return {"path": str(store.path), "seconds": seconds, "transfer_samples": transfer,
            "bytes_per_sample": store.bytes_per_sample,
            "payload_bytes_per_sample": store.manifest["payload_bytes_per_sample"],
            "k": store.header.k, "views": store.header.views,
            "num_classes": store.header.num_classes, "samples": len(store)}
