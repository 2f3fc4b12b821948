"""Task accuracy of a student link, per SNR and channel (deterministic noise per evaluation)."""

from __future__ import annotations

import torch
from torch import nn

from semdistill.channels import Link
from semdistill.data.views import IndexedImages


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy of ``(B, C)`` logits against ``(B,)`` labels."""
    return float((logits.argmax(-1) == labels).float().mean())


@torch.no_grad()
def student_accuracy(student: nn.Module, link: Link, dataset: IndexedImages, snr_db: float, *,
                     batch_size: int = 500, seed: int = 0, repeats: int = 1,
                     device: str | torch.device = "cpu") -> dict[str, float]:
    """Accuracy of ``student`` over ``link`` at a fixed SNR (dB) on the whole ``dataset``.

    The channel noise/fading comes from a generator seeded by (seed, repeat), so methods are
    compared on identical channel realizations. Returns accuracy, the mean fraction of
    transmitted channels (``active``, < 1 only with channel dropping) and the mean transmitted
    energy per symbol (``energy``, Es ≤ 1 under the student's power constraint).
    """
    was_training = student.training
    student.eval()
    correct = total = 0
    active = energy = 0.0
    for r in range(repeats):
        g = torch.Generator(device=device).manual_seed(seed * 1000 + r)
        for i in range(0, len(dataset), batch_size):
            ids = torch.arange(i, min(i + batch_size, len(dataset)))
            x, y = dataset.render_indices(ids)
            x, y = x.to(device), y.to(device)
            snr = torch.full((len(ids),), float(snr_db), device=device)
            out = student(x, snr, link, generator=g)
            correct += int((out.logits.argmax(-1) == y).sum())
            total += len(ids)
            energy += float(out.x.abs().square().mean(dim=1).sum())
            adaptive = getattr(student, "adaptive", None)
            if adaptive is not None:
                active += float(adaptive.active_fraction(out.w).sum())
    student.train(was_training)
    return {"accuracy": correct / total, "active": active / total if active else 1.0,
            "energy": energy / total}


@torch.no_grad()
def classifier_accuracy(model: nn.Module, dataset: IndexedImages, batch_size: int = 250,
                        device: str | torch.device = "cpu") -> float:
    """Top-1 accuracy of an images → logits model (e.g. a teacher) over ``dataset``."""
    correct = 0
    for i in range(0, len(dataset), batch_size):
        ids = torch.arange(i, min(i + batch_size, len(dataset)))
        x, y = dataset.render_indices(ids)
        correct += int((model(x.to(device)).argmax(-1).cpu() == y).sum())
    return correct / len(dataset)
