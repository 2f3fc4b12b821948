"""Text-to-image generators behind one protocol: ``generate(prompts, seeds) -> images``.

- :class:`DiffusersGenerator`: any diffusers text-to-image pipeline, by hub id or local path
  (PixArt-Σ, SD 2.1, the shipped edge LDM …), with sampler, steps and guidance from the config.
- :class:`ShapesGenerator`: the shapes-world renderer in a chosen style (the offline cloud).
- ``edge``: the shipped offline edge LDM (:class:`~semdistill.generative.edge.EdgeLDM`).

Build one from a config section with :func:`build_generator`; :data:`GENERATORS` lists the kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from pydantic import Field

from semdistill.config import StrictModel
from semdistill.generative.edge import SAMPLERS
from semdistill.hub import load_or_explain
from semdistill.registry import Registry


@runtime_checkable
class Generator(Protocol):
    """Maps prompts (one seed each) to (B, 3, H, W) float images in [0, 1]."""

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> torch.Tensor: ...


class GeneratorConfig(StrictModel):
    """A generator: ``kind`` picks the implementation; the other fields configure it."""

    kind: Literal["diffusers", "shapes", "edge"] = "shapes"
    model: str = Field("", description="diffusers: hub id or local folder")
    style: str = Field("textured", description="shapes: rendering style")
    image_size: int = Field(32, ge=8, description="px of the returned images")
    sampler: str | None = Field(None, description="diffusers/edge: ddim, dpm++, euler, ...")
    steps: int = Field(25, ge=1)
    guidance: float = Field(3.0, ge=0)
    batch_size: int = Field(16, ge=1)
    device: str = "cpu"
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"


GENERATORS: Registry[Any] = Registry("generator")


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear",
                                           antialias=True, align_corners=False).clamp(0, 1)


@GENERATORS.register("diffusers")
class DiffusersGenerator:
    """A diffusers ``DiffusionPipeline`` (text-to-image) as a :class:`Generator`.

    Images come back resized to ``image_size``; one ``torch.Generator`` per seed makes each image
    independent of the batch it is drawn in.
    """

    def __init__(self, model: str, *, sampler: str | None = None, steps: int = 25,
                 guidance: float = 3.0, image_size: int | None = None, batch_size: int = 16,
                 device: str = "cpu", dtype: str = "float32") -> None:
        from diffusers import DiffusionPipeline

        torch_dtype = getattr(torch, dtype)
        pipe = load_or_explain(
            lambda: DiffusionPipeline.from_pretrained(model, dtype=torch_dtype,
                                                      safety_checker=None),
            model, "diffusers pipeline")
        if sampler is not None:
            pipe.scheduler = SAMPLERS.get(sampler).from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe.to(device)
        self.steps, self.guidance, self.image_size = steps, guidance, image_size
        self.batch_size, self.device = batch_size, device

    @classmethod
    def from_config(cls, cfg: GeneratorConfig) -> DiffusersGenerator:
        return cls(cfg.model, sampler=cfg.sampler, steps=cfg.steps, guidance=cfg.guidance,
                   image_size=cfg.image_size, batch_size=cfg.batch_size, device=cfg.device,
                   dtype=cfg.dtype)

    @torch.no_grad()
    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1]; one generator per seed."""
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        out = []
        for i in range(0, len(prompts), self.batch_size):
            p = list(prompts[i : i + self.batch_size])
            gens = [torch.Generator(self.device).manual_seed(int(s))
                    for s in seeds[i : i + self.batch_size]]
            res = self.pipe(prompt=p, num_inference_steps=self.steps,
                            guidance_scale=self.guidance, generator=gens, output_type="np")
            out.append(torch.from_numpy(np.asarray(res.images)).permute(0, 3, 1, 2).float())
        images = torch.cat(out).clamp(0, 1)
        return _resize(images, self.image_size) if self.image_size else images


@GENERATORS.register("shapes")
class ShapesGenerator:
    """The shapes world drawn in ``style``: the offline cloud.

    Each prompt is parsed by the world (``attrs_from_captions``); attributes the prompt leaves
    open (position, size, …) are drawn from its seed, so (prompt, seed) → one fixed image.
    """

    def __init__(self, style: str = "textured", image_size: int = 32) -> None:
        self.style, self.image_size = style, image_size

    @classmethod
    def from_config(cls, cfg: GeneratorConfig) -> ShapesGenerator:
        return cls(style=cfg.style, image_size=cfg.image_size)

    def attrs(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[dict[str, Any]]:
        """The world attributes each (prompt, seed) renders, with ``style`` set to this one's."""
        from semdistill.data.world.samples import attrs_for_prompts

        return [{**a, "style": self.style} for a in attrs_for_prompts(prompts, seeds)]

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> torch.Tensor:
        from semdistill.data import render

        if not prompts:
            return torch.zeros(0, 3, self.image_size, self.image_size)
        return render(self.attrs(prompts, seeds), self.image_size, self.style).float().clamp(0, 1)


@GENERATORS.register("edge")
class _EdgeFactory:
    """The shipped edge LDM (or ``model`` if a folder is given)."""

    @staticmethod
    def from_config(cfg: GeneratorConfig) -> Generator:
        from semdistill.generative.edge import EdgeLDM, load_default_edge

        edge = EdgeLDM.from_pretrained(cfg.model, device=cfg.device) if cfg.model else \
            load_default_edge(cfg.device)
        edge.sampler = cfg.sampler or edge.sampler
        edge.steps, edge.guidance = cfg.steps, cfg.guidance
        return edge


def build_generator(cfg: GeneratorConfig) -> Generator:
    """The generator a config section describes."""
    return GENERATORS.get(cfg.kind).from_config(cfg)
