"""Image consistency between generated (edge/user) images and reference (cloud) images.

DreamBooth protocol: embed both sets, take the cosine of every (generated, reference) pair and
average. Embedders (:data:`EMBEDDERS`):

- ``dino``: CLS token of a transformers ``ViTModel`` (``facebook/dino-vits16``), ImageNet norm;
- ``clip``: ``image_embeds`` of ``CLIPVisionModelWithProjection``
  (``openai/clip-vit-base-patch32``), CLIP norm;
- ``world-encoder``: the library's shapes-world encoder (offline default), reported under that
  name and never as DINO or CLIP.

``consistency`` is the mean of the component scores (the paper maximizes DINO + CLIP; a relative
gain is the same for the sum and the mean).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from pydantic import Field
from torch import nn

from semdistill.config import StrictModel
from semdistill.hub import load_or_explain
from semdistill.registry import Registry

TRANSFORMERS_HINT = "check the folder holds a transformers model (config.json)"

DEFAULT_MODELS = {"dino": "facebook/dino-vits16", "clip": "openai/clip-vit-base-patch32"}

#: (B, 3, H, W) images in [0, 1] → (B, D) embeddings
Embedder = Callable[[torch.Tensor], torch.Tensor]
EMBEDDERS: Registry[Callable[..., Embedder]] = Registry("consistency embedder")


def pairwise_cosine_mean(gen: torch.Tensor, ref: torch.Tensor) -> float:
    """Mean cosine over all (generated, reference) pairs: (N, D), (M, D) → scalar."""
    g = nn.functional.normalize(gen.double(), dim=-1)
    r = nn.functional.normalize(ref.double(), dim=-1)
    return float((g @ r.T).mean())


def _preprocess(images: torch.Tensor, size: int, mean: Sequence[float],
                std: Sequence[float]) -> torch.Tensor:
    x = nn.functional.interpolate(images.float(), size=(size, size), mode="bicubic",
                                  align_corners=False, antialias=True).clamp(0, 1)
    m = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], batch_size: int) -> Embedder:
    @torch.no_grad()
    def embed(images: torch.Tensor) -> torch.Tensor:
        return torch.cat([fn(images[i : i + batch_size]) for i in range(0, len(images),
                                                                         batch_size)])
    return embed


@EMBEDDERS.register("dino")
def dino_embedder(model: str | Path = DEFAULT_MODELS["dino"], device: str = "cpu",
                  batch_size: int = 32) -> Embedder:
    """CLS embedding of a DINO ViT (``transformers.ViTModel``)."""
    from transformers import ViTModel
    from transformers.utils.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

    net = load_or_explain(lambda: ViTModel.from_pretrained(str(model), add_pooling_layer=False),
                          model, "DINO model", TRANSFORMERS_HINT).to(device).eval()
    size = int(net.config.image_size)
    mean, std = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    return _batched(lambda x: net(pixel_values=_preprocess(x.to(device), size, mean, std)
                                  ).last_hidden_state[:, 0], batch_size)


@EMBEDDERS.register("clip")
def clip_embedder(model: str | Path = DEFAULT_MODELS["clip"], device: str = "cpu",
                  batch_size: int = 32) -> Embedder:
    """Projected image embedding of CLIP (``CLIPVisionModelWithProjection``)."""
    from transformers import CLIPVisionModelWithProjection
    from transformers.utils.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    net = load_or_explain(lambda: CLIPVisionModelWithProjection.from_pretrained(str(model)),
                          model, "CLIP model", TRANSFORMERS_HINT).to(device).eval()
    size = int(net.config.image_size)
    mean, std = OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
    return _batched(lambda x: net(pixel_values=_preprocess(x.to(device), size, mean, std)
                                  ).image_embeds, batch_size)


@EMBEDDERS.register("world-encoder")
def world_encoder_embedder(model: str | Path | None = None, device: str = "cpu",
                           batch_size: int = 256) -> Embedder:
    """Centered pooled feature of the library's world encoder (the shipped one by default)."""
    from semdistill.metrics.world_encoder import load_world_encoder

    net = load_world_encoder(model, device=device)
    return _batched(lambda x: net.consistency_embedding(x.to(device).float()), batch_size)


class ConsistencyScorer:
    """Scores generated vs reference images with several embedders.

    ``embedders`` maps a report name (``dino``, ``clip``, ``world-encoder``) to an embedder.
    """

    def __init__(self, embedders: Mapping[str, Embedder]) -> None:
        if not embedders:
            raise ValueError("ConsistencyScorer needs at least one embedder")
        self.embedders = dict(embedders)

    @classmethod
    def build(cls, names: Sequence[str], models: Mapping[str, str | None] | None = None,
              device: str = "cpu") -> ConsistencyScorer:
        """Embedders by registry name; ``models`` overrides a name's hub id or local path."""
        models = dict(models or {})
        out = {}
        for n in names:
            kw = {"device": device}
            if models.get(n):
                kw["model"] = models[n]
            out[n] = EMBEDDERS.get(n)(**kw)
        return cls(out)

    def embed(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """{name: (B, D)} for (B, 3, H, W) images in [0, 1]."""
        return {n: e(images).cpu() for n, e in self.embedders.items()}

    def score(self, generated: torch.Tensor, reference: torch.Tensor) -> dict[str, float]:
        """{name: pairwise-mean cosine} and ``consistency`` (their mean)."""
        g, r = self.embed(generated), self.embed(reference)
        out = {n: pairwise_cosine_mean(g[n], r[n]) for n in self.embedders}
        out["consistency"] = sum(out.values()) / len(self.embedders)
        return out


class MetricSpec(StrictModel):
    """Which embedders score consistency, and where their weights come from."""

    embedders: list[str] = Field(default_factory=lambda: ["world-encoder"])
    models: dict[str, str] = Field(default_factory=dict, description="name → hub id or path")
    world_encoder: str | None = Field(None, description="world encoder folder (default: shipped)")

    def model_paths(self) -> dict[str, str]:
        """Embedder name → weights (``world_encoder`` fills in ``world-encoder``)."""
        models = dict(self.models)
        if self.world_encoder:
            models.setdefault("world-encoder", self.world_encoder)
        return models


def consistency_scorer(spec: MetricSpec, device: str = "cpu") -> ConsistencyScorer | None:
    """The scorer of a config's ``metrics`` section (None when it names no embedder)."""
    if not spec.embedders:
        return None
    return ConsistencyScorer.build(spec.embedders, spec.model_paths(), device=device)

