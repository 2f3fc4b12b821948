"""``ShapesWorld``: the embedded, captioned, deterministic image dataset."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
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
#: items per rendered chunk behind ``__getitem__``, and how many chunks the LRU cache keeps.
ITEM_CHUNK = 64
CACHED_CHUNKS = 8
#: give up on a selection that keeps nothing in this many stream chunks (a fully specified
#: subject, 1 of 9,216 combinations with 4 styles, is expected ~28 times there).
MAX_EMPTY_CHUNKS = 1024
#: splits whose float32 images fit in this many bytes keep every item once rendered, so a
#: trainer's later epochs gather instead of render (4096 items at 32 px: 50 MB)
RENDER_CACHE_BYTES = 256 * 2**20


def task_classes(task: str) -> list[str]:
    """Class names of a labelling task."""
    if task == "shape_color":
        return [f"{c} {s}" for s in SHAPES for c in COLORS]
    if task in CATEGORICAL:
        return list(CATEGORICAL[task])
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(dict.fromkeys(TASKS))}")


def task_labels(attrs: WorldAttrs, task: str) -> torch.Tensor:
    """(B,) long labels of a batch for a task (shape_color = shape · len(COLORS) + color)."""
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
        styles: styles drawn uniformly ("flat", "outlined", "textured", "gradient").
        exclude: subjects never to include (held out).
        include_only: if given, only items matching one of these subjects.
        noise_std: pixel noise standard deviation (0 turns it off).
        texture: background gradient on/off.
        transform: applied to the image tensor of ``__getitem__`` (not to ``render_indices``).
        cache: keep every rendered item in memory when the split fits in
            :data:`RENDER_CACHE_BYTES` (False: render on every call, e.g. to time the renderer).

    Attributes:
        attrs: the :class:`WorldAttrs` of all ``size`` items (rendering is lazy).
        labels: (size,) long labels of ``task``.
        keys: (size,) long position of each item in its split's unfiltered stream.
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
        cache: bool = True,
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
        if size < 0:
            raise ValueError(f"size must be ≥ 0, got {size}")
        if image_size < 8:
            raise ValueError(f"image_size must be ≥ 8, got {image_size}")
        bad = [s for s in styles if s not in STYLES]
        if bad or not styles:
            raise ValueError(f"unknown styles {bad}; valid: {', '.join(STYLES)}")
        self.split, self.size, self.image_size, self.seed = split, size, image_size, seed
        self.task, self.styles = task, tuple(styles)
        self.class_names = task_classes(task)
        self.noise_std, self.texture, self.transform = noise_std, texture, transform
        self.cache = cache
        self.attrs, self.keys = self._select(tuple(exclude), include_only)
        self.labels = task_labels(self.attrs, task)
        self._cache: OrderedDict[int, torch.Tensor] = OrderedDict()
        self._rendered: torch.Tensor | None = None  # (size, 3, H, W), filled as items render
        self._have: torch.Tensor | None = None  # (size,) bool

    @property
    def num_classes(self) -> int:
        """Number of classes of ``task``."""
        return len(self.class_names)

    @property
    def description(self) -> str:
        """One line saying what the data is, like a real dataset's (reports print it)."""
        return (f"shapes world (seed {self.seed}), {self.split} split: {self.size} images of "
                f"{self.image_size} px, task {self.task} ({self.num_classes} classes), styles "
                f"{', '.join(self.styles)}")

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the render caches (DataLoader workers start with empty ones)."""
        return {**self.__dict__, "_cache": OrderedDict(), "_rendered": None, "_have": None}

    def _select(self, exclude: tuple[Subject, ...],
                include: Sequence[Subject] | None) -> tuple[WorldAttrs, torch.Tensor]:
        """Filter the split's stream in order until ``size`` items are kept: (attrs, keys)."""
        parts, keys, have, chunk = [], [], 0, 0
        include = tuple(include) if include is not None else None
        if include is not None and not any(s.style in (None, *self.styles) for s in include):
            raise ValueError(f"include_only names no subject in this world's styles {self.styles}")
        while have < self.size:
            a = sample_chunk(self.seed, self.split, chunk, self.styles)
            keep = torch.ones(CHUNK, dtype=torch.bool)
            for s in exclude:
                keep &= ~s.mask(a)
            if include is not None:
                hit = torch.zeros(CHUNK, dtype=torch.bool)
                for s in include:
                    hit |= s.mask(a)
                keep &= hit
            idx = keep.nonzero().flatten()[: self.size - have]
            parts.append(a.index(idx))
            keys.append(idx + chunk * CHUNK)
            have += len(idx)
            chunk += 1
            if chunk >= MAX_EMPTY_CHUNKS and have == 0:
                raise ValueError(f"no item matches this selection (include_only/exclude) in the "
                                 f"first {chunk * CHUNK} items of the stream")
        return WorldAttrs.cat(parts), torch.cat(keys)

    def render_indices(self, indices: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Render items by index, vectorized over the batch (what trainers call directly).

        Args:
            indices: (B,) item indices in [0, size), any order, repeats allowed.

        Returns:
            images (B, 3, H, W) float32 in [0, 1] and labels (B,) long. An item's pixels do not
            depend on the rest of the batch, so a split that fits in :data:`RENDER_CACHE_BYTES`
            renders each item once and serves it from memory afterwards (bit for bit the same).
        """
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.size):
            raise IndexError(f"indices must lie in [0, {self.size}), got "
                             f"[{int(idx.min())}, {int(idx.max())}]")
        item_bytes = 3 * self.image_size**2 * 4
        if not self.cache or self.size * item_bytes > RENDER_CACHE_BYTES:
            return self._render(idx), self.labels[idx]
        if self._rendered is None:
            self._rendered = torch.empty(self.size, 3, self.image_size, self.image_size)
            self._have = torch.zeros(self.size, dtype=torch.bool)
        missing = idx[~self._have[idx]].unique()
        if missing.numel():
            self._rendered[missing] = self._render(missing)
            self._have[missing] = True
        return self._rendered[idx], self.labels[idx]

    def _render(self, idx: torch.Tensor) -> torch.Tensor:
        """Draw items ``idx`` (B,): (B, 3, H, W) float32 in [0, 1]."""
        images = render_batch(self.attrs.index(idx), self.image_size, self.texture)
        return add_noise(images, self.keys[idx] + 10**9 * SPLITS.index(self.split),
                         self.noise_std, self.seed)

    def _chunk(self, chunk: int) -> torch.Tensor:
        """Images of items [chunk·ITEM_CHUNK, (chunk+1)·ITEM_CHUNK), from an LRU cache."""
        images = self._cache.get(chunk)
        if images is None:
            lo = chunk * ITEM_CHUNK
            images = self._render(torch.arange(lo, min(lo + ITEM_CHUNK, self.size)))
            self._cache[chunk] = images
            if len(self._cache) > CACHED_CHUNKS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(chunk)
        return images

    def item_attrs(self, i: int) -> dict[str, Any]:
        """Attributes of item i: names (str) of the categorical ones, floats for x, y, angles."""
        return self.attrs.item(i)

    def captions(self) -> list[str]:
        """The caption of every item, in order."""
        return [caption(self.attrs.item(i)) for i in range(self.size)]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        """``{"image": (3, H, W) float32 in [0, 1] (or the transform's output), "label": int,
        "caption": str, "attrs": dict}``."""
        i = int(i)
        if not 0 <= i < self.size:
            raise IndexError(f"index {i} out of range for a world of {self.size} items")
        image = self._chunk(i // ITEM_CHUNK)[i % ITEM_CHUNK]
        attrs = self.attrs.item(i)
        if self.transform is not None:
            image = self.transform(image)
        return {"image": image, "label": int(self.labels[i]), "caption": caption(attrs),
                "attrs": attrs}


def attrs_from_captions(captions: Sequence[str], seed: int = 0) -> list[dict[str, Any]]:
    """Attributes for prompts: what each caption names, the rest drawn from (seed, position).

    Position, rotation and any attribute the prompt leaves open are drawn from a generator keyed
    by (seed, i), so (prompt list, seed) → fixed attributes. An unnamed style is "flat". Feed
    the result to :func:`render` (or :meth:`WorldAttrs.from_dicts`).
    """
    return [draw_missing(parse_caption(c), seed, i) for i, c in enumerate(captions)]


def render(
    attrs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | WorldAttrs,
    image_size: int = 32,
    style: str | None = None,
    texture: bool = True,
) -> torch.Tensor:
    """Render without noise: a :class:`WorldAttrs` or attribute dicts → (B, 3, H, W), one dict →
    (3, H, W), float32 in [0, 1], H = W = ``image_size``.

    ``style`` (a name from :data:`STYLES`) overrides every item's style; ``texture`` turns the
    background gradient on or off.
    """
    single = isinstance(attrs, Mapping)
    if style is not None and style not in STYLES:
        raise ValueError(f"unknown style {style!r}; valid: {', '.join(STYLES)}")
    if isinstance(attrs, WorldAttrs):
        batch = attrs
        if style is not None:
            batch = batch.replace(style=torch.full_like(batch.style, STYLES.index(style)))
    else:
        items = [attrs] if single else list(attrs)
        if style is not None:
            items = [{**a, "style": style} for a in items]
        batch = WorldAttrs.from_dicts(items)
    images = render_batch(batch, image_size, texture)
    return images[0] if single else images
