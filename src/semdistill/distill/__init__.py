"""Distillation and codec training: IB loss terms, the three task-oriented trainers, and the
latent JSCC codec trainer of DeKA-g."""

from semdistill.distill.codec import random_conditions, train_codec
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
    load_distilled,
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
    "load_distilled",
    "gaussian_channel_kl",
    "random_conditions",
    "soft_cross_entropy",
    "train_codec",
    "train_online",
    "train_prestored",
    "train_scratch",
    "training_snr",
]
