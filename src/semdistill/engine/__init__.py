"""Training engine shared by every trainer: accelerate, checkpoints, resume, NaN guard."""

from semdistill.engine.checkpoint import (
    CheckpointError,
    CheckpointInfo,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from semdistill.engine.loop import Trainer, TrainingDiverged, batch_indices, load_final

__all__ = [
    "CheckpointError",
    "CheckpointInfo",
    "Trainer",
    "TrainingDiverged",
    "batch_indices",
    "latest_checkpoint",
    "load_final",
    "load_checkpoint",
    "save_checkpoint",
]
