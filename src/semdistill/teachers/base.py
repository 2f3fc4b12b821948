"""The :class:`Teacher` wrapper: a model that maps images in [0, 1] to class logits.

Every teacher source (timm, Hugging Face CLIP, a local directory) returns the same thing: a
frozen ``nn.Module`` whose ``forward(images)`` takes ``(B, 3, H, W)`` float images in [0, 1] at
the dataset's native resolution, applies the teacher's own preprocessing (resize to its input
size and normalization) and returns ``(B, C)`` logits. Users never write normalization constants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class PreprocessConfig:
    """The teacher's input pipeline: resize to ``input_size`` px, then ``(x - mean) / std``."""

    input_size: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bilinear"

    def to_dict(self) -> dict[str, object]:
        return {"input_size": self.input_size, "mean": list(self.mean), "std": list(self.std),
                "interpolation": self.interpolation}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> PreprocessConfig:
        return cls(int(d["input_size"]), tuple(d["mean"]), tuple(d["std"]),  # type: ignore[arg-type]
                   str(d.get("interpolation", "bilinear")))


class Preprocess(nn.Module):
    """Resize ``(B, 3, H, W)`` images in [0, 1] to the teacher's size and normalize them."""

    def __init__(self, cfg: PreprocessConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.cfg.input_size
        if images.shape[-1] != size or images.shape[-2] != size:
            mode = self.cfg.interpolation
            kw = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
            images = F.interpolate(images, size=(size, size), mode=mode, **kw)
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)


@dataclass
class TeacherInfo:
    """Where a teacher came from and what it predicts."""

    spec: str
    num_classes: int
    class_names: list[str] = field(default_factory=list)
    source: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class Teacher(nn.Module):
    """A frozen classifier with its preprocessing: ``forward(images [0,1]) -> logits (B, C)``.

    Attributes:
        model: the wrapped network; called on preprocessed images, returns logits.
        preprocess: :class:`Preprocess` (resize + normalization).
        info: :class:`TeacherInfo` (spec, classes, source).
    """

    def __init__(self, model: nn.Module, preprocess: Preprocess, info: TeacherInfo) -> None:
        super().__init__()
        self.model = model
        self.preprocess = preprocess
        self.info = info
        self._fingerprint: str | None = None
        self.requires_grad_(False)
        self.eval()

    @property
    def spec(self) -> str:
        return self.info.spec

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    def train(self, mode: bool = True) -> Teacher:
        """Teachers stay in eval mode (BatchNorm statistics and dropout are frozen)."""
        return super().train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] → logits ``(B, C)`` (float32)."""
        return self.model(self.preprocess(images)).float()

    @torch.no_grad()
    def probs(self, images: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Softmax probabilities ``(B, C)`` at ``temperature``."""
        return torch.softmax(self(images) / temperature, dim=-1)

    def fingerprint(self) -> str:
        """SHA-256 (first 16 hex digits) of the spec, preprocessing and every weight tensor."""
        if self._fingerprint is None:
            h = hashlib.sha256(self.spec.encode())
            h.update(repr(self.preprocess.cfg.to_dict()).encode())
            for name, t in sorted(self.model.state_dict().items()):
                h.update(name.encode())
                h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint


def class_names_or_default(names: Sequence[str] | None, num_classes: int) -> list[str]:
    return list(names) if names else [f"class {i}" for i in range(num_classes)]
