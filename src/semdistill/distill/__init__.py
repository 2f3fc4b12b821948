"""Distillation for the task-oriented system: IB loss terms and the three trainers."""

from semdistill.distill.losses import (
    WeightedTerms,
    channel_rate,
    cross_entropy,
    gaussian_channel_kl,
    soft_cross_entropy,
)
from semdistill.distill.trainers import (
    DISTILL_TRAINERS,
    DistillJob,
    LossConfig,
    batch_views,
    distill,
    train_online,
    train_prestored,
    train_scratch,
    training_snr,
)

__all__ = [
    "DISTILL_TRAINERS",
    "DistillJob",
    "LossConfig",
    "WeightedTerms",
    "batch_views",
    "channel_rate",
    "cross_entropy",
    "distill",
    "gaussian_channel_kl",
    "soft_cross_entropy",
    "train_online",
    "train_prestored",
    "train_scratch",
    "training_snr",
]
