"""``ShapesWorld``: the embedded, captioned, deterministic image dataset."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import torch
from torch.utils.data import Dataset

from semdistill.data.world.attributes import (
    CATEGORICAL,
    CHUNK,
    COLORS,
    SHAPES,
    SPLITS,
    STYLES,
    Subject,
    WorldAttrs,
    draw_missing,
    sample_chunk,
)
from semdistill.data.world.captions import caption, parse_caption
from semdistill.data.world.render import add_noise, render_batch

TASKS = ("shape", "shape_color", *CATEGORICAL)


def task_classes(task: str) -> list[str]:
    """Class names of a labelling task."""
    if task == "shape_color":
        return [f"{c} {s}" for s in SHAPES for c in COLORS]
    if task in CATEGORICAL:
        return list(CATEGORICAL[task])
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(dict.fromkeys(TASKS))}")


def task_labels(attrs: WorldAttrs, task: str) -> torch.Tensor:
    if task == "shape_color":
        return attrs.shape * len(COLORS) + attrs.color
    task_classes(task)
    return getattr(attrs, task).clone()


class ShapesWorld(Dataset):
    """One object per image, with labels for every attribute and a templated caption.

    Items are dicts ``{"image": (3, H, W) float32 in [0, 1], "label": int, "caption": str,
    "attrs": dict}``. Item i of a split depends only on (seed, split, i) and the selection
    (``styles``, ``exclude``, ``include_only``): the split's attribute stream is filtered in
    order, so a selection never reshuffles the items it keeps. Splits draw from disjoint streams.

    Args:
        split: "train", "val" or "test".
        size: number of items.
        image_size: side in pixels (32 by default; any size ≥ 8, e.g. 64 or 128).
        task: label: "shape", "shape_color", or an attribute name.
        styles: styles drawn uniformly ("flat", "outlined", "textured").
        exclude: subjects never to include (held out).
        include_only: if given, only items matching one of these subjects.
        noise_std: pixel noise standard deviation.
        texture: background gradient on/off.
        transform: applied to the image tensor of ``__getitem__``.
    """

    def __init__(
        self,
        split: str = "train",
        size: int = 1000,
        image_size: int = 32,
        seed: int = 0,
        task: str = "shape",
        styles: Sequence[str] = ("flat",),
        exclude: Sequence[Subject] = (),
        include_only: Sequence[Subject] | None = None,
        noise_std: float = 0.02,
        texture: bool = True,
        transform: Callable[[torch.Tensor], Any] | None = None,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        if image_size < 8:
            raise ValueError(f"image_size must be ≥ 8, got {image_size}")
        bad = [s for s in styles if s not in STYLES]
        if bad or not styles:
            raise ValueError(f"unknown styles {bad}; valid: {', '.join(STYLES)}")
        self.split, self.size, self.image_size, self.seed = split, size, image_size, seed
        self.task, self.styles = task, tuple(styles)
        self.class_names = task_classes(task)
        self.noise_std, self.texture, self.transform = noise_std, texture, transform
        self.attrs, self.keys = self._select(tuple(exclude), include_only)
        self.labels = task_labels(self.attrs, task)
        self._chunk = lru_cache(maxsize=8)(self._render_chunk)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _select(self, exclude: tuple[Subject, ...], include: Sequence[Subject] | None):
        parts, keys, have, chunk = [], [], 0, 0
        while have < self.size:
            a = sample_chunk(self.seed, self.split, chunk, self.styles)
            keep = torch.ones(CHUNK, dtype=torch.bool)
            if exclude or include:
                for i in range(CHUNK):
                    d = a.item(i)
                    if any(s.matches(d) for s in exclude) or (
                            include and not any(s.matches(d) for s in include)):
                        keep[i] = False
            idx = keep.nonzero().flatten()[: self.size - have]
            parts.append(a.index(idx))
            keys.append(idx + chunk * CHUNK)
            have += len(idx)
            chunk += 1
            if chunk > 4096 and have == 0:
                raise ValueError("no item matches this selection (include_only/exclude)")
        return WorldAttrs.cat(parts), torch.cat(keys)

    def render_indices(self, indices: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Render items by index: (images (B, 3, H, W) float32 in [0, 1], labels (B,) long)."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        images = render_batch(self.attrs.index(idx), self.image_size, self.texture)
        images = add_noise(images, self.keys[idx] + 10**9 * SPLITS.index(self.split),
                           self.noise_std, self.seed)
        return images, self.labels[idx]

    def _render_chunk(self, chunk: int) -> torch.Tensor:
        lo = chunk * 64
        return self.render_indices(torch.arange(lo, min(lo + 64, self.size)))[0]

    def item_attrs(self, i: int) -> dict[str, Any]:
        return self.attrs.item(i)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < self.size:
            raise IndexError(i)
        image = self._chunk(i // 64)[i % 64]
        attrs = self.attrs.item(i)
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": int(self.labels[i]), "caption": caption(attrs),
                "attrs": attrs}


def attrs_from_captions(captions: Sequence[str], seed: int = 0) -> list[dict[str, Any]]:
    """Attributes for prompts: what each caption names, the rest drawn from (seed, position)."""
    return [draw_missing(parse_caption(c), seed, i) for i, c in enumerate(captions)]


def render(
    attrs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | WorldAttrs,
    image_size: int = 32,
    style: str | None = None,
    texture: bool = True,
) -> torch.Tensor:
    """Render attribute dicts (one → (3, H, W); several → (B, 3, H, W)); ``style`` overrides."""
    single = isinstance(attrs, Mapping)
    if isinstance(attrs, WorldAttrs):
        batch = attrs
    else:
        items = [attrs] if single else list(attrs)
        if style is not None:
            items = [{**a, "style": style} for a in items]
        batch = WorldAttrs.from_dicts(items)
    images = render_batch(batch, image_size, texture)
    return images[0] if single else images
