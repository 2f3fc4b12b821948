"""The offline default teacher: a timm architecture trained on the shapes world, cached.

:func:`resolve_teacher` finds it in this order: the package's shipped asset
(``semdistill/assets/teacher/<name>``) when its recorded config fingerprint matches, the user cache
(``$SEMDISTILL_CACHE`` or ``~/.cache/semdistill/teachers/<fingerprint>``), else it trains one
there with :func:`pretrain_teacher` (``semdistill pretrain-teacher`` runs the same function).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from semdistill.config import StrictModel, TrainConfig
from semdistill.data.spec import DatasetSpec, class_names
from semdistill.data.views import SeededAugment, view_seeds
from semdistill.engine import Trainer, batch_indices
from semdistill.metrics.complexity import count_parameters
from semdistill.teachers.base import Teacher, TeacherInfo
from semdistill.teachers.sources import TEACHER_JSON, load_teacher, save_teacher
from semdistill.teachers.timm_formats import timm_preprocess
from semdistill.utils.io import atomic_write_json, fingerprint

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "teacher"


def _teacher_train_default() -> TrainConfig:
    return TrainConfig(steps=1200, batch_size=64, lr=2e-3, weight_decay=0.05, warmup_steps=50,
                       log_every=25, checkpoint_every=100)


def _teacher_restart_default() -> TrainConfig:
    return TrainConfig(steps=1000, batch_size=64, lr=1e-3, weight_decay=0.05, warmup_steps=0,
                       log_every=25, checkpoint_every=100)


class TeacherPretrainConfig(StrictModel):
    """How the offline teacher is built: architecture, its input size, data and optimisation."""

    arch: str = Field("resnet18", description="timm architecture")
    input_size: int = Field(64, ge=16, description="teacher input px (images are upsampled)")
    data: DatasetSpec = Field(default_factory=lambda: DatasetSpec(train_size=20000, test_size=2000,
                                                                  seed=1))
    train: TrainConfig = Field(default_factory=_teacher_train_default)
    restart: TrainConfig | None = Field(
        default_factory=_teacher_restart_default,
        description="second cosine cycle (warm restart) from the first stage's weights; null = none")
    augment_pad: int = Field(4, ge=0)
    min_accuracy: float = Field(0.95, ge=0, le=1, description="test accuracy to accept")
    half: bool = Field(True, description="store fp16 weights (half the size)")
    seed: int = 0

    def fingerprint(self) -> str:
        """Identity of the finished teacher (both stages)."""
        return fingerprint(self.model_dump(mode="json", exclude={"half", "min_accuracy"}))

    def stage_fingerprint(self) -> str:
        """Identity of the first stage (unchanged by the restart settings, so it is reused)."""
        return fingerprint(self.model_dump(mode="json",
                                           exclude={"half", "min_accuracy", "restart"}))


def cache_root() -> Path:
    env = os.environ.get("SEMDISTILL_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return (base if env else base / "semdistill") / "teachers"


@torch.no_grad()
def evaluate_teacher(teacher: Teacher, dataset, batch_size: int = 250) -> float:
    """Top-1 accuracy of ``teacher`` on an indexed dataset."""
    correct = 0
    for i in range(0, len(dataset), batch_size):
        ids = torch.arange(i, min(i + batch_size, len(dataset)))
        x, y = dataset.render_indices(ids)
        correct += int((teacher(x).argmax(-1) == y).sum())
    return correct / len(dataset)


def pretrain_teacher(cfg: TeacherPretrainConfig, out_dir: str | Path, *,
                     log: Callable[..., None] | None = None) -> Path:
    """Train ``cfg.arch`` on the shapes world; write a local teacher folder in ``out_dir``.

    Checkpoints (resumable) go to ``out_dir/checkpoints``. ``teacher.json`` records the config
    fingerprint, the test accuracy and the training time. Returns ``out_dir``.
    """
    import timm

    from semdistill.teachers.base import Preprocess

    out_dir = Path(out_dir)
    train_ds, test_ds = cfg.data.build("train"), cfg.data.build("test")
    n_cls = train_ds.num_classes
    model = timm.create_model(cfg.arch, pretrained=False, num_classes=n_cls)
    pre = Preprocess(timm_preprocess(model, cfg.input_size))
    net = nn.Sequential(pre, model)
    augment = SeededAugment(pad=cfg.augment_pad)
    stages = [("pretrain-teacher", cfg.train, cfg.stage_fingerprint())]
    if cfg.restart is not None:
        stages.append(("pretrain-teacher-restart", cfg.restart, cfg.fingerprint()))
    t0 = time.perf_counter()
    seconds = 0.0
    for tag, train_cfg, fp in stages:
        trainer = Trainer({"teacher": net}, train_cfg, out_dir / "checkpoints" / tag,
                          seed=cfg.seed, tag=tag, fingerprint=fp, log=log)
        seconds += _fit_stage(trainer, train_cfg, train_ds, augment, cfg.seed).seconds
    info = TeacherInfo(f"local:{out_dir}", n_cls, class_names(train_ds), source="shapes",
                       extra={"arch": cfg.arch})
    extra = {
        "config_fingerprint": cfg.fingerprint(),
        "config": cfg.model_dump(mode="json"),
        "parameters": count_parameters(model),
        "train_seconds": round(seconds, 1),
        "command": "semdistill pretrain-teacher --out " + str(out_dir),
    }
    save_teacher(Teacher(model, pre, info), out_dir, half=cfg.half, extra=extra)
    # accuracy of the weights as saved (fp16 when cfg.half), i.e. what every run will load
    acc = evaluate_teacher(load_teacher(f"local:{out_dir}"), test_ds)
    meta = json.loads((out_dir / TEACHER_JSON).read_text())
    meta |= {"test_accuracy": acc, "wall_seconds": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out_dir / TEACHER_JSON, meta)
    return out_dir


def _fit_stage(trainer: Trainer, train: TrainConfig, train_ds, augment: SeededAugment,
               seed: int):
    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        ids = batch_indices(step, len(train_ds), train.batch_size, seed,
                            rank=trainer.rank, world_size=trainer.world_size)
        x, y = train_ds.render_indices(ids)
        return {"image": augment(x, view_seeds(seed + 7, ids, step)), "label": y}

    def step_fn(modules, batch):
        logits = modules["teacher"](batch["image"])
        loss = F.cross_entropy(logits, batch["label"])
        acc = (logits.argmax(-1) == batch["label"]).float().mean()
        return {"loss": loss, "accuracy": acc}

    return trainer.fit(batch_fn, step_fn)


def _matches(path: Path, fp: str) -> bool:
    try:
        meta = json.loads((path / TEACHER_JSON).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return meta.get("config_fingerprint") == fp


def find_teacher(cfg: TeacherPretrainConfig) -> Path | None:
    """A shipped or cached teacher folder built from ``cfg`` (same fingerprint), or None."""
    fp = cfg.fingerprint()
    candidates = sorted(ASSETS.glob("*/")) if ASSETS.is_dir() else []
    candidates.append(cache_root() / fp)
    return next((p for p in candidates if _matches(p, fp)), None)


def resolve_teacher(cfg: TeacherPretrainConfig, *, allow_train: bool = True,
                    log: Callable[..., None] | None = None) -> tuple[Teacher, Path, bool]:
    """(teacher, folder, trained_now): shipped asset → user cache → pre-train into the cache."""
    found = find_teacher(cfg)
    trained = False
    if found is None:
        if not allow_train:
            from semdistill.teachers.errors import TeacherNotAvailable

            raise TeacherNotAvailable(
                f"no cached shapes teacher for this config (fingerprint {cfg.fingerprint()}); run "
                "`semdistill pretrain-teacher --config <the run's config>` or allow training"
            )
        found = pretrain_teacher(cfg, cache_root() / cfg.fingerprint(), log=log)
        trained = True
    teacher = load_teacher(f"local:{found}")
    meta = json.loads((found / TEACHER_JSON).read_text())
    if meta.get("test_accuracy", 0.0) < cfg.min_accuracy:
        from semdistill.teachers.errors import TeacherNotAvailable

        raise TeacherNotAvailable(
            f"{found}: teacher test accuracy {meta.get('test_accuracy'):.3f} < required "
            f"{cfg.min_accuracy}; train longer (teacher.pretrain.train.steps)"
        )
    return teacher, found, trained
