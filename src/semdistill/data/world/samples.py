"""The shapes world as whole splits: captioned images, subjects, prompts.

Thin helpers over :class:`~semdistill.data.world.dataset.ShapesWorld` (used by the generative
system, the world encoder and the consistency metrics): render a split once into memory as uint8, collect its
caption vocabulary, and parse subject specs from configs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from semdistill.data.world.attributes import Subject
from semdistill.data.world.captions import caption
from semdistill.data.world.dataset import ShapesWorld, attrs_from_captions


@dataclass
class WorldSample:
    """A rendered split: images (N, 3, H, W) uint8, one caption and attribute dict per image."""

    images: torch.Tensor
    captions: list[str]
    attrs: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.captions)


def make_subject(spec: Mapping[str, Any] | None) -> Any:
    """A ``semdistill.data.Subject`` from a config mapping such as ``{"shape": "star"}``."""
    return Subject(**dict(spec or {}))


def subject_name(subject: Mapping[str, str]) -> str:
    """The subject's attribute values in key order, style left out (``red triangle``)."""
    return " ".join(v for k, v in sorted(subject.items()) if k != "style")


def render_world(
    split: str, size: int, image_size: int, seed: int, styles: Sequence[str],
    exclude: Sequence[Mapping[str, Any]] = (),
) -> WorldSample:
    """Render ``size`` items of ``ShapesWorld(split, …)`` (subjects in ``exclude`` left out)."""

    world = ShapesWorld(split=split, size=size, image_size=image_size, seed=seed,
                        styles=tuple(styles), exclude=tuple(make_subject(s) for s in exclude))
    images = torch.cat([world.render_indices(torch.arange(i, min(i + 512, size)))[0]
                        for i in range(0, size, 512)])
    attrs = [world.item_attrs(i) for i in range(size)]
    captions = [caption(a) for a in attrs]
    return WorldSample((images.clamp(0, 1) * 255).round().to(torch.uint8), captions, attrs)


def caption_words(captions: Sequence[str]) -> list[str]:
    """Sorted distinct lower-case words of ``captions`` (the edge tokenizer's vocabulary)."""
    words = set()
    for c in captions:
        for w in c.lower().replace(",", " ").replace(".", " ").split():
            if w.isalnum():
                words.add(w)
    return sorted(words)


def attrs_for_prompts(prompts: Sequence[str], seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The world's attributes drawn for each (prompt, seed): what the cloud renders."""

    return [attrs_from_captions([p], int(s))[0] for p, s in zip(prompts, seeds, strict=True)]


def subject_prompts(subject: Mapping[str, Any], n: int, split: str, seed: int,
                    image_size: int = 32, style: str = "flat") -> list[str]:
    """``n`` world captions of ``subject`` (e.g. ``{"shape": "triangle", "color": "red"}``)."""

    world = ShapesWorld(split=split, size=n, image_size=image_size, seed=seed, styles=(style,),
                        include_only=(make_subject(subject),))
    return [world[i]["caption"] for i in range(len(world))]
