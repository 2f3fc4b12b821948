"""Deployment stage of system ``ltsc``: the trained students' transmitters and receivers.

``semdistill export RUN`` writes, per exported variant (default: the main ``prestored``
student), ``<variant>-transmitter.onnx`` (images and SNR → channel symbols and the
channel-adaptive weights) and ``<variant>-receiver.onnx`` (equalized symbols and SNR →
logits); the channel between them is the deployment's own (docs/export.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from semdistill.deploy import Part
from semdistill.deploy.parts import task_parts
from semdistill.errors import UserError
from semdistill.experiments.ltsc.config import LTSCConfig, variants
from semdistill.experiments.ltsc.data import train_pool
from semdistill.experiments.ltsc.evaluate import load_student
from semdistill.experiments.rundir import RunDir

#: the variant exported when none is named.
DEFAULT_VARIANT = "prestored"


def deploy_parts(cfg: LTSCConfig, rd: RunDir, names: Sequence[str] = ()) -> list[Part]:
    """The parts of the variants ``names`` (default :data:`DEFAULT_VARIANT`), loaded from their
    finished checkpoints; an unknown or unfinished variant is refused in one line."""
    by_name = {v["name"]: v for v in variants(cfg)}
    names = list(names) or [DEFAULT_VARIANT]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UserError(f"--method: {unknown[0]!r} is not a student of this run; "
                        f"choose from {', '.join(by_name)}")
    rd.require_finished(names)
    train_ds = train_pool(cfg)  # its size is part of each job's fingerprint
    parts: list[Part] = []
    for name in names:
        student = load_student(cfg, rd, by_name[name], train_ds, torch.device("cpu"))
        parts += task_parts(student, cfg.data.image_size, train_ds.num_classes, name)
    return parts
