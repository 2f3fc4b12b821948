"""Deterministic augmented *views*: (sample index, view) → seed → augmented image.

A view's seed is a pure function of (store seed, sample index, view number), so any process can
regenerate any view without coordination, and the knowledge store only needs the seed (4 bytes)
to rebuild the exact image the teacher saw. :class:`SeededAugment` turns (images, seeds) into
augmented images with a ``torch.Generator`` seeded per sample: random crop with padding,
horizontal flip and a small brightness/contrast jitter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

_MASK64 = (1 << 64) - 1


def view_seeds(base_seed: int, indices: torch.Tensor | Sequence[int], views: torch.Tensor | int,
               ) -> torch.Tensor:
    """Seed of each (sample, view): a SplitMix64 hash, folded to a non-negative int32.

    Args:
        base_seed: the store's seed.
        indices: ``(B,)`` sample indices; views: ``(B,)`` view numbers or one int.

    Returns ``(B,)`` int32 seeds in [0, 2^31).
    """
    idx = np.asarray(indices, dtype=np.uint64).reshape(-1)
    v = np.broadcast_to(np.asarray(views, dtype=np.uint64), idx.shape)
    with np.errstate(over="ignore"):
        x = (np.uint64(base_seed & _MASK64) * np.uint64(0x9E3779B97F4A7C15)
             + idx * np.uint64(0x100000001B3) + v * np.uint64(0xD6E8FEB86659FD93))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return torch.from_numpy((x & np.uint64(0x7FFFFFFF)).astype(np.int32))


@dataclass(frozen=True)
class SeededAugment:
    """Random crop (reflect padding of ``pad`` px), flip, brightness/contrast jitter.

    ``jitter`` is the half-width of the uniform brightness and contrast factors (0.1 → [0.9, 1.1]).
    The same (image, seed) always gives the same output, on any machine.
    """

    pad: int = 4
    flip: bool = True
    jitter: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def params(self, seeds: torch.Tensor) -> torch.Tensor:
        """Per-sample parameters ``(B, 5)`` float: dy, dx, flip, brightness, contrast."""
        rows = []
        for s in seeds.tolist():
            g = torch.Generator().manual_seed(int(s))
            u = torch.rand(5, generator=g, dtype=torch.float64)
            rows.append(u)
        u = torch.stack(rows) if rows else torch.zeros(0, 5, dtype=torch.float64)
        span = 2 * self.pad + 1
        out = torch.empty_like(u)
        out[:, 0] = torch.floor(u[:, 0] * span).clamp_max(span - 1)
        out[:, 1] = torch.floor(u[:, 1] * span).clamp_max(span - 1)
        out[:, 2] = (u[:, 2] < 0.5).double() if self.flip else 0.0
        out[:, 3] = 1.0 + self.jitter * (2 * u[:, 3] - 1)
        out[:, 4] = 1.0 + self.jitter * (2 * u[:, 4] - 1)
        return out

    def __call__(self, images: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] and ``(B,)`` int seeds → augmented ``(B, 3, H, W)``.

        With padding, the crop and the flip are one ``gather`` of pixel indices (a flipped
        sample reads its crop's columns in reverse), done in (B, H, W, C) order so the
        per-sample mean of the jitter reduces in the same order as it always has: the output
        is bit-identical to cropping, then flipping, then jittering.
        """
        b, c, h, w = images.shape
        p = self.params(seeds.cpu()).to(images.device)
        x = images
        if self.pad > 0:
            x = F.pad(x, (self.pad,) * 4, mode="reflect")
            hp, wp = x.shape[-2:]
            rows = p[:, 0].long()[:, None] + torch.arange(h, device=x.device)[None]  # (B, H)
            cols = p[:, 1].long()[:, None] + torch.arange(w, device=x.device)[None]  # (B, W)
            if self.flip:
                cols = torch.where(p[:, 2].bool()[:, None], cols.flip(-1), cols)
            pixels = (rows[:, :, None] * wp + cols[:, None, :]).reshape(b, h * w, 1)
            x = torch.gather(x.permute(0, 2, 3, 1).reshape(b, hp * wp, c), 1,
                             pixels.expand(b, h * w, c))
            x = x.reshape(b, h, w, c).permute(0, 3, 1, 2)
        elif self.flip:
            x = torch.where(p[:, 2].bool()[:, None, None, None], x.flip(-1), x)
        if self.jitter > 0:
            bright = p[:, 3].to(x.dtype)[:, None, None, None]
            contrast = p[:, 4].to(x.dtype)[:, None, None, None]
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = ((x - mean) * contrast + mean) * bright
        return x.clamp(0.0, 1.0).contiguous()


class IndexedImages(Protocol):
    """What the store and the trainers need from a dataset (``ShapesWorld`` has it natively)."""

    num_classes: int

    def __len__(self) -> int: ...

    def render_indices(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class ItemsAdapter:
    """Give any map-style dataset (dict items or (image, label) tuples) ``render_indices``."""

    def __init__(self, dataset: Any, num_classes: int | None = None) -> None:
        self.dataset = dataset
        n = num_classes or getattr(dataset, "num_classes", None)
        if n is None and hasattr(dataset, "classes"):
            n = len(dataset.classes)
        if n is None:
            raise ValueError("dataset has no num_classes; pass num_classes=")
        self.num_classes = int(n)
        self.class_names = list(getattr(dataset, "class_names", getattr(dataset, "classes", [])))

    def __len__(self) -> int:
        return len(self.dataset)

    def render_indices(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        imgs, labels = [], []
        for i in torch.as_tensor(indices).tolist():
            item = self.dataset[i]
            img, lab = (item["image"], item["label"]) if isinstance(item, dict) else item[:2]
            if not isinstance(img, torch.Tensor):
                arr = np.asarray(img, dtype=np.float32) / 255.0
                img = torch.from_numpy(arr).permute(2, 0, 1)
            imgs.append(img.float())
            labels.append(int(lab))
        return torch.stack(imgs), torch.tensor(labels, dtype=torch.long)


def as_indexed(dataset: Any) -> IndexedImages:
    """``dataset`` itself if it has ``render_indices``, else an :class:`ItemsAdapter`."""
    return dataset if hasattr(dataset, "render_indices") else ItemsAdapter(dataset)


#: The label of a sample whose label is withheld (:class:`Subset`'s unlabelled part); losses
#: that read labels skip it (:func:`semdistill.distill.losses.cross_entropy`).
UNLABELLED = -1


class Subset:
    """The first ``size`` samples of an indexed dataset (training-fraction experiments), then,
    optionally, samples ``unlabelled`` of it with their labels withheld (a distillation
    transfer set: the teacher's soft labels are their only supervision).

    Item ``i < size`` is base item ``i``; item ``size + j`` is base item ``unlabelled[j]`` and
    renders with label :data:`UNLABELLED`. :meth:`source_indices` maps items to base items (a
    :class:`~semdistill.teachers.KnowledgeStore` built on the base reads its rows through it).
    """

    def __init__(self, base: IndexedImages, size: int,
                 unlabelled: torch.Tensor | Sequence[int] = ()) -> None:
        if isinstance(base, Subset):
            raise TypeError("a Subset of a Subset: take the subset of its base instead")
        if not 1 <= size <= len(base):
            raise ValueError(f"subset size {size} outside [1, {len(base)}]")
        extra = torch.as_tensor(unlabelled, dtype=torch.long).reshape(-1)
        if len(extra) and (int(extra.min()) < size or int(extra.max()) >= len(base)):
            raise ValueError(f"unlabelled indices must lie in [{size}, {len(base)}): they "
                             "would overlap the labelled samples or leave the dataset")
        #: how many items carry their label (the first ``size``).
        self.base, self.labelled, self.num_classes = base, size, base.num_classes
        self.sources = torch.cat([torch.arange(size), extra])

    def __len__(self) -> int:
        return len(self.sources)

    def source_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """Base indices of items ``indices`` ``(B,)``."""
        return self.sources[torch.as_tensor(indices, dtype=torch.long)]

    def render_indices(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        indices = torch.as_tensor(indices, dtype=torch.long)
        images, labels = self.base.render_indices(self.source_indices(indices))
        return images, torch.where(indices < self.labelled, labels, UNLABELLED)


def source_indices(dataset: IndexedImages, indices: torch.Tensor) -> torch.Tensor:
    """The base items of a :class:`Subset`'s ``indices`` ``(B,)``; any other dataset's own."""
    indices = torch.as_tensor(indices, dtype=torch.long)
    return dataset.source_indices(indices) if isinstance(dataset, Subset) else indices
