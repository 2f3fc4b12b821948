"""Distillation trainers for the task-oriented student: ``prestored``, ``online``, ``scratch``.

All three run through :class:`semdistill.engine.Trainer` with the same student initialization
(the caller builds it from one seed), the same data order (:func:`batch_indices`), the same
augmented views (seeds from :func:`view_seeds`), the same per-sample training SNRs and the same
number of steps. They differ only in where the soft labels come from:

- ``prestored``: a :class:`KnowledgeStore`; the teacher is never loaded (asserted);
- ``online``: the teacher runs on every batch (classic KD), full softmax, no top-K truncation;
- ``scratch``: no teacher, labels only (the KD weight is ignored).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import nn

from semdistill.channels import Link
from semdistill.config import SNRRange, StrictModel, TrainConfig
from semdistill.data.views import IndexedImages, SeededAugment, source_indices, view_seeds
from semdistill.distill.losses import (
    WeightedTerms,
    channel_rate,
    cross_entropy,
    soft_cross_entropy,
)
from semdistill.engine import Trainer, batch_indices, load_final
from semdistill.engine.loop import TrainSummary
from semdistill.registry import Registry
from semdistill.teachers.base import Teacher
from semdistill.teachers.store import KnowledgeStore


class LossConfig(StrictModel):
    """Weights of the IB objective: τ²·KD + λ·CE + β·rate (rate in nats per channel use)."""

    temperature: float = Field(1.0, gt=0, description="τ (a store holds probabilities at this τ)")
    kd_weight: float = Field(1.0, ge=0)
    ce_weight: float = Field(0.5, ge=0, description="λ")
    beta: float = Field(1e-3, ge=0, description="β, weight of the KL rate term")


@dataclass
class DistillJob:
    """What every trainer shares. ``dataset`` is the training subset (fraction applied)."""

    student: nn.Module
    link: Link
    dataset: IndexedImages
    train: TrainConfig
    loss: LossConfig
    snr: SNRRange
    checkpoint_dir: Path
    augment: SeededAugment
    aug_seed: int
    views: int
    seed: int = 0
    tag: str = "student"
    fingerprint: str = ""
    log: Callable[..., None] | None = None


def batch_views(step: int, num_samples: int, batch_size: int, views: int, rank: int = 0,
                world_size: int = 1) -> torch.Tensor:
    """View number of each element of global batch ``step`` (epoch e uses view e mod V)."""
    pos = step * batch_size + torch.arange(batch_size)
    return ((pos // num_samples) % views)[rank::world_size]


def training_snr(step: int, batch_size: int, snr: SNRRange, seed: int, rank: int = 0,
                 world_size: int = 1) -> torch.Tensor:
    """Per-sample training SNRs in dB, uniform in [low, high], fixed by (seed, step).

    Drawn for the whole global batch ``(batch_size,)``; rank r keeps every N-th value, like
    :func:`batch_indices`, so the draws do not depend on the number of processes.
    """
    g = torch.Generator().manual_seed(seed * 7_919 + step)
    snrs = snr.low + (snr.high - snr.low) * torch.rand(batch_size, generator=g)
    return snrs[rank::world_size]


def _indices(job: DistillJob, trainer: Trainer, step: int) -> tuple[torch.Tensor, torch.Tensor]:
    n, bs = len(job.dataset), job.train.batch_size
    ids = batch_indices(step, n, bs, job.seed, rank=trainer.rank, world_size=trainer.world_size)
    views = batch_views(step, n, bs, job.views, trainer.rank, trainer.world_size)
    return ids, views


def _snr(job: DistillJob, trainer: Trainer, step: int) -> torch.Tensor:
    return training_snr(step, job.train.batch_size, job.snr, job.seed, trainer.rank,
                        trainer.world_size)


def _render(job: DistillJob, ids: torch.Tensor, views: torch.Tensor) -> dict[str, torch.Tensor]:
    """The batch's augmented views, seeded by the base items (so, like a store built on the
    base dataset, a :class:`~semdistill.data.Subset`'s items keep their views)."""
    images, labels = job.dataset.render_indices(ids)
    seeds = view_seeds(job.aug_seed, source_indices(job.dataset, ids), views)
    return {"image": job.augment(images, seeds), "label": labels}


def student_terms(modules: Mapping[str, nn.Module], link: Link, batch: Mapping[str, Any],
                  soft: torch.Tensor | None, loss: LossConfig) -> dict[str, torch.Tensor]:
    """One student step's IB objective on ``batch`` (``image`` (B,3,H,W), ``label`` (B,),
    ``snr`` (B,) dB): weighted KD (to ``soft`` (B, C); none for scratch), CE and rate terms."""
    out = modules["student"](batch["image"], batch["snr"], link)
    terms = {
        "ce": cross_entropy(out.logits, batch["label"]),
        "rate": channel_rate(out.x, out.h, out.noise_var).mean(),
        "kd": (soft_cross_entropy(out.logits, soft, loss.temperature) if soft is not None
               else torch.zeros((), device=out.logits.device)),
    }
    weights = {"kd": loss.kd_weight if soft is not None else 0.0, "ce": loss.ce_weight
               if soft is not None else 1.0, "rate": loss.beta}
    return WeightedTerms(weights)(terms)


def _trainer(job: DistillJob, method: str) -> Trainer:
    return Trainer({"student": job.student}, job.train, job.checkpoint_dir, seed=job.seed,
                   tag=job.tag, fingerprint=f"{method}:{job.fingerprint}", log=job.log)


def load_distilled(method: str, job: DistillJob) -> None:
    """Load ``job``'s finished ``method`` student into ``job.student`` without training;
    weights made by another config or method are refused (:class:`CheckpointError`)."""
    load_final(job.checkpoint_dir, {"student": job.student}, job.train,
               f"{method}:{job.fingerprint}")


Knowledge = KnowledgeStore | Teacher | None
DISTILL_TRAINERS: Registry[Callable[[DistillJob, Knowledge], TrainSummary]] = Registry(
    "distillation method")


@DISTILL_TRAINERS.register("prestored")
def train_prestored(job: DistillJob, store: Knowledge) -> TrainSummary:
    """Fast distillation from a :class:`KnowledgeStore`; no teacher exists in this process path."""
    if not isinstance(store, KnowledgeStore):
        raise TypeError(f"prestored distillation takes a KnowledgeStore, got {type(store).__name__}")
    assert not any(isinstance(m, Teacher) for m in job.student.modules()), \
        "prestored distillation must not hold a teacher"
    if store.header.views != job.views or store.header.seed != job.aug_seed:
        raise ValueError("job views/aug_seed differ from the store's (build the job from it)")
    if store.header.temperature != job.loss.temperature:
        raise ValueError(f"the store holds teacher probabilities at temperature "
                         f"{store.header.temperature}, the loss uses {job.loss.temperature}; "
                         "rebuild the store at the loss temperature")
    trainer = _trainer(job, "prestored")
    loss = job.loss

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        ids, views = _indices(job, trainer, step)
        b = store.read(job.dataset, ids, views)
        return {"image": b["image"], "label": b["label"], "soft": b["soft"],
                "snr": _snr(job, trainer, step)}

    def step_fn(modules, batch):
        return student_terms(modules, job.link, batch, batch["soft"], loss)

    return trainer.fit(batch_fn, step_fn)


@DISTILL_TRAINERS.register("online")
def train_online(job: DistillJob, teacher: Knowledge) -> TrainSummary:
    """Classic KD: the teacher's full softmax on every batch (same views as the store)."""
    if not isinstance(teacher, Teacher):
        raise TypeError(f"online distillation takes a Teacher, got {type(teacher).__name__}")
    trainer = _trainer(job, "online")
    teacher = teacher.to(trainer.device)
    loss = job.loss

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        ids, views = _indices(job, trainer, step)
        return _render(job, ids, views) | {"snr": _snr(job, trainer, step)}

    def step_fn(modules, batch):
        with torch.no_grad():
            soft = torch.softmax(teacher(batch["image"]).float() / loss.temperature, dim=-1)
        return student_terms(modules, job.link, batch, soft, loss)

    return trainer.fit(batch_fn, step_fn)


@DISTILL_TRAINERS.register("scratch")
def train_scratch(job: DistillJob, _: Knowledge = None) -> TrainSummary:
    """No distillation: CE to labels (+ the same β rate term)."""
    trainer = _trainer(job, "scratch")
    loss = job.loss

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        ids, views = _indices(job, trainer, step)
        return _render(job, ids, views) | {"snr": _snr(job, trainer, step)}

    def step_fn(modules, batch):
        return student_terms(modules, job.link, batch, None, loss)

    return trainer.fit(batch_fn, step_fn)


def distill(method: str, job: DistillJob, knowledge: Knowledge = None) -> TrainSummary:
    """Run the registered trainer ``method`` ("prestored", "online", "scratch")."""
    return DISTILL_TRAINERS.get(method)(job, knowledge)
