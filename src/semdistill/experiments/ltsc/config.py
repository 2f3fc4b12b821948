"""Config of system ``ltsc`` (configs/ltsc/shapes.yaml) and the student variants it trains.

Every section is documented in docs/ltsc.md ("Config"); :func:`variants` is the one place that
says which students a run trains and under which names (the checkpoint tags).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator

from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRdB, SNRRange, StrictModel, TrainConfig
from semdistill.data import DatasetSpec
from semdistill.digital.config import DigitalConfig
from semdistill.distill import LossConfig
from semdistill.experiments.registry import ExperimentConfig, load_config
from semdistill.experiments.rundir import RunDir
from semdistill.models.student import StudentConfig
from semdistill.teachers import TeacherPretrainConfig

#: The system name: ``system: ltsc`` in a config, and the ``system`` of every results file.
SYSTEM = "ltsc"


class TeacherSection(StrictModel):
    """``spec: shapes`` = the library's offline teacher (``pretrain``); else timm:/hf:/local:."""

    spec: str = "shapes"
    pretrain: TeacherPretrainConfig = Field(default_factory=TeacherPretrainConfig)
    allow_pretrain: bool = Field(True, description="train the shapes teacher when none is cached")
    head: Literal["zeroshot", "linear"] = Field("zeroshot", description="CLIP class head")
    probe_samples: int = Field(2000, ge=1, description="train samples for a CLIP linear probe")
    pretrained: bool = Field(True, description="timm: load pretrained weights")
    input_size: int | None = Field(None, ge=8, description="timm: override the input px")


class StoreSection(StrictModel):
    """Knowledge store: top-K per (sample, view); ``path`` defaults to ``<run>/store``.

    ``transfer_size``: unlabelled images of the same source (train split, the items after the
    ``data.train_size`` labelled ones) that the store also labels with the teacher, for the
    distilled students only: a transfer set (docs/ltsc.md, "The styled scenario").
    """

    ADDED_LATER: ClassVar[dict[str, Any]] = {"transfer_size": 0}

    k: int = Field(4, ge=1)
    views: int = Field(2, ge=1)
    chunk_size: int = Field(1024, ge=1)
    batch_size: int = Field(256, ge=1)
    path: str | None = None
    transfer_size: int = Field(0, ge=0, description="unlabelled images the store holds soft "
                               "labels for, seen by the distilled students only")


class AugmentSection(StrictModel):
    pad: int = Field(4, ge=0)
    flip: bool = True
    jitter: float = Field(0.1, ge=0, lt=1)


class RunsSection(StrictModel):
    """Which student variants to train besides the main prestored adaptive one."""

    online: bool = True
    scratch: bool = True
    non_adaptive: bool = True
    fractions: list[float] = Field(default_factory=lambda: [0.1, 0.25])
    fraction_methods: list[Literal["prestored", "online", "scratch"]] = Field(
        default_factory=lambda: ["prestored", "scratch"])
    seeds: int = Field(
        1, ge=1, description="training seeds per student: cfg.seed + 0..seeds-1 (init, data "
                             "order, SNR draws); every variant is trained and evaluated for each, "
                             "and the checks become paired-by-seed 95% t-intervals when >= 2")
    extra_seeds: list[int] = Field(
        default_factory=list,
        description="superseded by `seeds` (read so older run directories keep their students): "
                    "more seeds for the prestored, online and non-adaptive students only")

    @model_validator(mode="after")
    def _fractions(self) -> RunsSection:
        if any(not 0 < f <= 1 for f in self.fractions):
            raise ValueError("runs.fractions must be in (0, 1]")
        if any(s < 0 for s in self.extra_seeds):
            raise ValueError("runs.extra_seeds must be non-negative")
        if self.extra_seeds and self.seeds > 1:
            raise ValueError("runs.extra_seeds (older runs) and runs.seeds cannot both be set: "
                             "use runs.seeds")
        return self


class EvalSection(StrictModel):
    """Evaluation grid and the thresholds of the report's required-results checks."""

    #: keys of earlier versions that are accepted and have no effect, so the config.yaml of
    #: older run directories still loads (``latency_repeats``: a fixed repeat count, before
    #: latency was timed by torch.utils.benchmark).
    SUPERSEDED: ClassVar[tuple[str, ...]] = ("latency_repeats",)

    snr_db: list[SNRdB] = Field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    channels: list[Literal["awgn", "rayleigh"]] = Field(default_factory=lambda: ["awgn",
                                                                                  "rayleigh"])
    batch_size: int = Field(500, ge=1)
    repeats: int = Field(2, ge=1, description="channel realizations per test image")
    latency_threads: int = Field(1, ge=1, description="CPU threads latency is measured at "
                                 "(torch and ONNX Runtime alike)")
    latency_seconds: float = Field(0.2, gt=0, description="least time spent timing each part "
                                   "(torch.utils.benchmark blocked_autorange's min_run_time)")
    onnx_latency: bool = Field(True, description="also time the student exported to ONNX, "
                               "when the deploy extra (onnxruntime) is installed")
    check_snr_db: SNRdB = Field(10.0, description="SNR of the accuracy checks (AWGN)")
    low_snr_db: SNRdB = Field(0.0, description="SNR of the adaptive-vs-non-adaptive check")
    max_time_ratio: float = Field(
        1 / 3, gt=0, le=1,
        description="check: prestored distillation time <= this ratio x online time (same steps)")
    max_accuracy_drop: float = Field(
        0.01, ge=0, le=1,
        description="check: prestored accuracy at check_snr_db may be at most this far below "
                    "online (accuracy in [0, 1])")
    digital: DigitalConfig = Field(default_factory=DigitalConfig,
                                   description="the digital baseline (docs/digital.md)")
    reference: str | None = Field(
        None, description="reference results folder (semdistill reference) the report compares "
                          "the checks with; a relative path is resolved against the repository "
                          "root; a folder that does not exist is noted, not an error")

    @model_validator(mode="before")
    @classmethod
    def _drop_superseded(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in cls.SUPERSEDED}
        return data


def _default_train() -> TrainConfig:
    return TrainConfig(steps=300, batch_size=128, lr=3e-3, weight_decay=1e-4, warmup_steps=15,
                       log_every=25, checkpoint_every=100)


class LTSCConfig(ExperimentConfig):
    """Top-level config of system ``ltsc`` (see configs/ltsc/shapes.yaml and docs/ltsc.md)."""

    system: Literal["ltsc"] = "ltsc"
    data: DatasetSpec = Field(default_factory=DatasetSpec)
    teacher: TeacherSection = Field(default_factory=TeacherSection)
    store: StoreSection = Field(default_factory=StoreSection)
    augment: AugmentSection = Field(default_factory=AugmentSection)
    student: StudentConfig = Field(default_factory=StudentConfig)
    channel: ChannelConfig = Field(default_factory=ChannelConfig, description="training channel")
    snr: SNRRange = Field(default_factory=SNRRange, description="training SNR range (dB)")
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=_default_train)
    fraction: float = Field(1.0, gt=0, le=1, description="training-data fraction of main runs")
    runs: RunsSection = Field(default_factory=RunsSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    device: str = Field("auto", description="auto, cpu, cuda...")

    @model_validator(mode="after")
    def _consistent(self) -> LTSCConfig:
        self.student.feature_channels(self.data.image_size)  # raises on a bad bandwidth ratio
        n = self.data.num_classes
        if n is not None and self.store.k > n:
            raise ValueError(f"store.k={self.store.k} is larger than the {n} classes of "
                             f"data {self.data.name!r} (task {self.data.task!r})")
        return self


def run_config(rd: RunDir) -> LTSCConfig:
    """The run's ``config.yaml``, validated (fields added since the run take their defaults)."""
    _, cfg = load_config(rd.config_data(), source=str(rd.path / "config.yaml"))
    return cfg


def resolve_device(cfg: LTSCConfig) -> torch.device:
    """``device: auto`` → CUDA when available (and ``train.cpu`` is off), else the CPU."""
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() and not cfg.train.cpu else "cpu")
    return torch.device(cfg.device)


def seeds_of(cfg: LTSCConfig) -> list[int]:
    """The training seeds, main seed first: ``cfg.seed + 0..runs.seeds-1`` (or, in an older
    run's config, ``cfg.seed`` and ``runs.extra_seeds``)."""
    extra = cfg.runs.extra_seeds or range(cfg.seed + 1, cfg.seed + cfg.runs.seeds)
    return list(dict.fromkeys([cfg.seed, *extra]))


def variants(cfg: LTSCConfig) -> list[dict[str, Any]]:
    """The student runs: name, base, method, adaptive, fraction, seed (the first is the main
    model).

    Every variant is trained for every seed of :func:`seeds_of`; students of a seed other than
    the main one are named ``<base>-s<seed>`` (``base``: the name results records carry, with
    the ``seed`` field). (An older run's ``runs.extra_seeds`` seeded only
    the main-fraction distilled students, and still does, so its students are found again.)
    """
    def one(name: str, method: str, adaptive: bool = True, fraction: float = cfg.fraction,
            seed: int = cfg.seed) -> dict[str, Any]:
        return {"name": name, "base": name, "method": method, "adaptive": adaptive,
                "fraction": fraction, "seed": seed}

    out = [one("prestored", "prestored")]
    if cfg.runs.online:
        out.append(one("online", "online"))
    if cfg.runs.scratch:
        out.append(one("scratch", "scratch"))
    if cfg.runs.non_adaptive:
        out.append(one("prestored-nonadaptive", "prestored", adaptive=False))
    for f in cfg.runs.fractions:
        if abs(f - cfg.fraction) < 1e-9:
            continue
        for m in cfg.runs.fraction_methods:
            out.append(one(f"{m}-f{f:g}", m, fraction=f))
    seeded = list(out) if not cfg.runs.extra_seeds else [
        v for v in out if v["fraction"] == cfg.fraction and v["method"] != "scratch"]
    for seed in seeds_of(cfg)[1:]:
        out += [{**v, "name": f"{v['name']}-s{seed}", "seed": seed} for v in seeded]
    return out
