"""The one training loop that every trainer in the library runs through.

It owns what must be right everywhere: ``accelerate`` (device, DDP, mixed precision, gradient
accumulation), deterministic data and noise per step, periodic atomic checkpoints, resume from the
latest checkpoint, skipping a finished stage, and stopping on a non-finite loss without ever
overwriting a good checkpoint with a bad one. Trainers supply two functions:

- ``batch_fn(micro_step) -> batch``: deterministic in its argument (see :func:`batch_indices`);
- ``step_fn(modules, batch) -> dict[str, Tensor]``: named loss terms, ``"loss"`` is optimized.

Every ``train.log_every`` steps it calls ``log(step, tag, **row)`` with the loss terms (means over
the window), ``lr``, ``grad_norm`` (global L2 norm of the gradients before clipping, mean over
the window) and ``samples_per_s`` (global samples per wall-clock second over the window).
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from tqdm.auto import tqdm

from semdistill.config import TrainConfig
from semdistill.engine.checkpoint import (
    CheckpointInfo,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from semdistill.engine.processes import release_process_group_at_exit, use_cpu
from semdistill.errors import UserError
from semdistill.registry import Registry
from semdistill.utils.io import fingerprint as _fingerprint
from semdistill.utils.seeds import derive_seed

StepFn = Callable[[Mapping[str, nn.Module], Any], Mapping[str, torch.Tensor]]


class TrainingDiverged(UserError, RuntimeError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


def batch_indices(
    step: int, num_samples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1
) -> torch.Tensor:
    """Sample indices of global batch ``step``: epochs are seeded permutations, concatenated.

    The global batch (``batch_size`` indices) is the same for any number of processes; rank ``r``
    of ``world_size`` takes every ``world_size``-th index starting at ``r``. Returns (b,) int64.
    """
    if num_samples <= 0:
        raise ValueError("cannot draw batches from an empty dataset")
    start = step * batch_size
    out = []
    while len(out) < batch_size:
        epoch, offset = divmod(start + len(out), num_samples)
        g = torch.Generator().manual_seed(derive_seed(seed, epoch))
        perm = torch.randperm(num_samples, generator=g)
        out.extend(perm[offset : offset + batch_size - len(out)].tolist())
    return torch.tensor(out[rank::world_size], dtype=torch.long)


def seed_everything(seed: int) -> None:
    seed = seed % (2**63 - 1)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def to_device(obj: Any, device: torch.device) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, Mapping):
        return type(obj)({k: to_device(v, device) for k, v in obj.items()})
    if isinstance(obj, tuple | list):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


def make_accelerator(train: TrainConfig) -> Accelerator:
    release_process_group_at_exit()
    return Accelerator(
        cpu=use_cpu(train.cpu),
        mixed_precision=train.mixed_precision,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
    )


OPTIMIZERS: Registry[Callable[[list[nn.Parameter], TrainConfig], torch.optim.Optimizer]] = \
    Registry("optimizer")
OPTIMIZERS.register(
    "adamw", lambda params, t: torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay))
OPTIMIZERS.register(
    "sgd", lambda params, t: torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, nesterov=True,
                                             weight_decay=t.weight_decay))


def lr_lambda(train: TrainConfig) -> Callable[[int], float]:
    """Linear warm-up, then constant or cosine decay to 0 over ``train.steps``."""

    def f(step: int) -> float:
        if step < train.warmup_steps:
            return (step + 1) / train.warmup_steps
        if train.schedule == "constant":
            return 1.0
        progress = (step - train.warmup_steps) / max(1, train.steps - train.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def show_progress() -> bool:
    """Progress bars only on a terminal, and never with ``TQDM_DISABLE=1``: a log file or a CI
    transcript gets the logged metrics, not carriage-return updates."""
    off = os.environ.get("TQDM_DISABLE", "").strip().lower() in {"1", "true", "yes", "on"}
    return not off and sys.stderr.isatty()


def stage_fingerprint(fingerprint: str, train: TrainConfig) -> str:
    """What a stage's checkpoints are made by: the caller's ``fingerprint`` plus the
    optimisation settings (a different schedule must not silently continue an old run)."""
    sched = train.model_dump(exclude={"log_every", "checkpoint_every", "num_workers", "cpu"})
    return _fingerprint({"user": fingerprint, "train": sched})


def load_final(checkpoint_dir: str | Path, modules: Mapping[str, nn.Module], train: TrainConfig,
               fingerprint: str) -> CheckpointInfo:
    """Load a finished stage's ``final/`` weights without training, refusing weights made by
    another config (the same check a resumed :class:`Trainer` makes)."""
    return load_checkpoint(Path(checkpoint_dir) / "final", dict(modules),
                           fingerprint=stage_fingerprint(fingerprint, train), restore_rng=False)


@dataclass
class TrainSummary:
    """What a finished :meth:`Trainer.fit` reports."""

    steps: int
    seconds: float
    resumed_from: int
    last: dict[str, float] = field(default_factory=dict)
    skipped: bool = False


class Trainer:
    """Optimizes the trainable parameters of ``modules`` (``train.optimizer``) under ``accelerate``.

    Checkpoints go to ``checkpoint_dir`` (usually ``run/checkpoints/<tag>``); a finished stage
    leaves ``final/`` there and is skipped, weights reloaded, when the run is resumed.
    """

    def __init__(
        self,
        modules: Mapping[str, nn.Module],
        train: TrainConfig,
        checkpoint_dir: str | Path,
        *,
        seed: int = 0,
        tag: str = "train",
        fingerprint: str = "",
        params: Iterable[nn.Parameter] | None = None,
        accelerator: Accelerator | None = None,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.train = train
        self.seed = seed
        self.tag = tag
        self.fingerprint = stage_fingerprint(fingerprint, train)
        self.checkpoint_dir = Path(checkpoint_dir)
        self.accelerator = accelerator or make_accelerator(train)
        self.log = log
        raw = dict(modules)
        trainable = list(params) if params is not None else [
            p for m in raw.values() for p in m.parameters() if p.requires_grad
        ]
        if not trainable:
            raise ValueError(f"{tag}: nothing to train (no parameter requires grad)")
        self.params = trainable
        acc = self.accelerator
        optimizer = OPTIMIZERS.get(train.optimizer)(trainable, train)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(train))
        self.raw_modules = raw
        self.modules: dict[str, nn.Module] = {}
        for name, m in raw.items():
            has_grad = any(p.requires_grad for p in m.parameters())
            self.modules[name] = acc.prepare(m) if has_grad else m.to(acc.device)
        self.optimizer = acc.prepare(optimizer)
        self._trained = [self.modules[n] for n, m in raw.items()
                         if any(p.requires_grad for p in m.parameters())]

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def rank(self) -> int:
        return self.accelerator.process_index

    @property
    def world_size(self) -> int:
        return self.accelerator.num_processes

    def _save(self, completed: int, elapsed: float, name: str | None = None,
              last: dict[str, float] | None = None) -> Path | None:
        path = None
        if self.accelerator.is_main_process:
            extra = {"elapsed": elapsed, "tag": self.tag} | ({"last": last} if last else {})
            path = save_checkpoint(
                self.checkpoint_dir, completed, self.raw_modules, optimizer=self.optimizer,
                scheduler=self.scheduler, extra=extra,
                fingerprint=self.fingerprint, name=name,
            )
        self.accelerator.wait_for_everyone()
        return path

    def fit(self, batch_fn: Callable[[int], Any], step_fn: StepFn) -> TrainSummary:
        """Run (or resume, or skip) this stage; returns a :class:`TrainSummary`."""
        acc, train = self.accelerator, self.train
        final = self.checkpoint_dir / "final"
        if final.is_dir():
            info = load_checkpoint(final, self.raw_modules, fingerprint=self.fingerprint,
                                   restore_rng=False)
            return TrainSummary(info.step, float(info.extra.get("elapsed", 0.0)), info.step,
                                last=dict(info.extra.get("last", {})), skipped=True)
        start, elapsed = 0, 0.0
        latest = latest_checkpoint(self.checkpoint_dir)
        if latest is not None:
            info = load_checkpoint(latest, self.raw_modules, optimizer=self.optimizer,
                                   scheduler=self.scheduler, fingerprint=self.fingerprint)
            start, elapsed = info.step, float(info.extra.get("elapsed", 0.0))
        for m in self.modules.values():
            if any(p.requires_grad for p in m.parameters()):
                m.train()
        accum = train.gradient_accumulation_steps
        sums: dict[str, float] = {}
        count = 0
        last: dict[str, float] = {}
        bar = tqdm(total=train.steps, initial=start, desc=self.tag, leave=False,
                   disable=not (acc.is_local_main_process and show_progress()),
                   dynamic_ncols=True)
        norms: list[torch.Tensor] = []  # gradient norms of the steps since the last log
        t0 = t_window = time.perf_counter()
        for step in range(start, train.steps):
            for micro in range(accum):
                seed_everything(hash((self.seed, step, micro, self.rank)))
                batch = to_device(batch_fn(step * accum + micro), acc.device)
                with acc.accumulate(*self._trained):
                    with acc.autocast():
                        terms = step_fn(self.modules, batch)
                    loss = terms["loss"]
                    bad = torch.tensor([0.0 if torch.isfinite(loss).all() else 1.0],
                                       device=acc.device)
                    if acc.reduce(bad, reduction="sum").item() > 0:
                        bar.close()
                        good = latest_checkpoint(self.checkpoint_dir)
                        shown = {k: float(v.detach().float().mean()) for k, v in terms.items()}
                        raise TrainingDiverged(
                            f"{self.tag}: non-finite loss at step {step} ({shown}); "
                            f"last good checkpoint: {good or 'none'}; try a lower train.lr"
                        )
                    acc.backward(loss)
                    if acc.sync_gradients:  # the norm before clipping; inf = measure only
                        norm = acc.clip_grad_norm_(self.params, train.grad_clip or math.inf)
                        if norm is not None:  # DeepSpeed clips inside its engine
                            norms.append(norm.detach())
                    self.optimizer.step()
                    self.optimizer.zero_grad(set_to_none=True)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach().float().mean())
                count += 1
            self.scheduler.step()
            done = step + 1
            bar.update(1)
            if done % train.log_every == 0 or done == train.steps:
                last = {k: v / count for k, v in sums.items()}
                bar.set_postfix(loss=f"{last['loss']:.4g}")
                if self.log is not None and acc.is_main_process:
                    window = time.perf_counter() - t_window
                    self.log(done, self.tag, **last, lr=self.scheduler.get_last_lr()[0],
                             grad_norm=float(torch.stack(norms).float().mean()) if norms else 0.0,
                             samples_per_s=count * train.batch_size / window)
                sums, count, norms, t_window = {}, 0, [], time.perf_counter()
            if done % train.checkpoint_every == 0 and done < train.steps:
                self._save(done, elapsed + time.perf_counter() - t0)
        bar.close()
        elapsed += time.perf_counter() - t0
        self._save(train.steps, elapsed, name="final", last=last)
        return TrainSummary(train.steps, elapsed, start, last)
