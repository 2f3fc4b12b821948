"""CLIP as a classification teacher: zero-shot text prompts or a linear probe on image features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from semdistill.teachers.base import Preprocess, PreprocessConfig, Teacher, TeacherInfo


class CLIPClassifier(nn.Module):
    """``forward(pixels (B,3,S,S), normalized) -> logits (B, C)``.

    ``logits = scale · normalize(f_img) @ W.T + b``, where W starts as the normalized text
    embeddings of the class prompts (zero-shot) and can be refitted as a linear probe.
    """

    def __init__(self, vision: nn.Module, projection: nn.Module, weight: torch.Tensor,
                 scale: float) -> None:
        super().__init__()
        self.vision = vision
        self.projection = projection
        self.head = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            self.head.weight.copy_(weight * scale)
            self.head.bias.zero_()

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Normalized image embeddings ``(B, D)``."""
        pooled = self.vision(pixel_values=pixels).pooler_output
        return F.normalize(self.projection(pooled), dim=-1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixels))


@torch.no_grad()
def text_class_weights(model: Any, tokenizer: Any, class_names: Sequence[str],
                       prompt: str) -> torch.Tensor:
    """Normalized text embeddings of ``prompt.format(name)`` for each class, ``(C, D)``."""
    texts = [prompt.format(n) for n in class_names]
    tok = tokenizer(texts, padding=True, return_tensors="pt")
    emb = model.get_text_features(input_ids=tok["input_ids"],
                                  attention_mask=tok.get("attention_mask"))
    if not isinstance(emb, torch.Tensor):  # some versions return a model output
        emb = emb.pooler_output
    return F.normalize(emb.float(), dim=-1)


def build_clip_teacher(model: Any, tokenizer: Any, image_cfg: PreprocessConfig,
                       class_names: list[str], *, spec: str, head: str = "zeroshot",
                       prompt: str = "a photo of a {}.") -> Teacher:
    """Wrap a ``transformers.CLIPModel`` as a :class:`Teacher` with a zero-shot class head."""
    if head not in ("zeroshot", "linear"):
        raise ValueError(f"CLIP head must be 'zeroshot' or 'linear', got {head!r}")
    weight = text_class_weights(model, tokenizer, class_names, prompt)
    scale = float(model.logit_scale.exp().item())
    clf = CLIPClassifier(model.vision_model, model.visual_projection, weight, scale)
    info = TeacherInfo(spec, len(class_names), class_names, source="hf-clip",
                       extra={"head": head, "prompt": prompt})
    return Teacher(clf, Preprocess(image_cfg), info)


def fit_linear_probe(teacher: Teacher, images: torch.Tensor, labels: torch.Tensor, *,
                     steps: int = 200, lr: float = 1e-2, weight_decay: float = 1e-4,
                     batch_size: int = 256) -> float:
    """Refit a CLIP teacher's head as a logistic-regression probe on frozen features.

    Args:
        images: ``(N, 3, H, W)`` in [0, 1]; labels: ``(N,)`` int64.

    Returns the probe's training accuracy. Full-batch features, AdamW on the head only.
    """
    clf = teacher.model
    if not isinstance(clf, CLIPClassifier):
        raise TypeError("fit_linear_probe needs a CLIP teacher")
    with torch.no_grad():
        feats = torch.cat([clf.features(teacher.preprocess(images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])
    head = clf.head
    head.requires_grad_(True)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(head(feats), labels).backward()
        opt.step()
    head.requires_grad_(False)
    teacher._fingerprint = None
    teacher.info.extra["head"] = "linear"
    with torch.no_grad():
        return float((head(feats).argmax(-1) == labels).float().mean())
