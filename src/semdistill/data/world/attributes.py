"""The world's vocabulary and the deterministic attribute streams behind every split.

Attributes are drawn in chunks of :data:`CHUNK` items from a counter-based generator keyed by
(seed, split, chunk) — numpy's SeedSequence + PCG64, which are stable across numpy versions —
so an item's attributes depend only on (seed, split, index), never on global RNG state, and the
three splits draw from disjoint streams.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

SHAPES = ("circle", "square", "triangle", "star", "hexagon", "cross", "ring", "heart")
COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.89, 0.10, 0.11),
    "green": (0.20, 0.66, 0.17),
    "blue": (0.12, 0.35, 0.90),
    "yellow": (0.98, 0.86, 0.10),
    "purple": (0.55, 0.22, 0.75),
    "orange": (1.00, 0.50, 0.00),
    "cyan": (0.10, 0.80, 0.88),
    "pink": (0.98, 0.45, 0.72),
}
BACKGROUNDS: dict[str, tuple[float, float, float]] = {
    "white": (0.95, 0.95, 0.93),
    "black": (0.07, 0.07, 0.08),
    "gray": (0.50, 0.50, 0.50),
    "navy": (0.08, 0.10, 0.30),
    "beige": (0.87, 0.80, 0.65),
    "brown": (0.40, 0.26, 0.15),
}
SIZES = ("small", "medium", "large")
SIZE_RADIUS = (0.17, 0.24, 0.32)  # object radius as a fraction of the image side
#: Rendering styles. New styles are only ever appended, so existing indices (and images) stay put.
STYLES = ("flat", "outlined", "textured", "gradient")
SPLITS = ("train", "val", "test")
CATEGORICAL = {"shape": SHAPES, "color": tuple(COLORS), "size": SIZES,
               "background": tuple(BACKGROUNDS), "style": STYLES}
CHUNK = 256
NUM_TEMPLATES = 3


@dataclass(frozen=True)
class Subject:
    """An attribute combination (any field None = wildcard) that a split can hold out or select."""

    shape: str | None = None
    color: str | None = None
    size: str | None = None
    style: str | None = None
    background: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and value not in CATEGORICAL[f.name]:
                raise ValueError(f"unknown {f.name} {value!r}; valid: {', '.join(CATEGORICAL[f.name])}")

    def matches(self, attrs: Mapping[str, Any]) -> bool:
        """Whether one item's attribute dict (names as strings) matches every set field."""
        return all(getattr(self, f.name) in (None, attrs.get(f.name)) for f in fields(self))

    def mask(self, attrs: WorldAttrs) -> torch.Tensor:
        """(B,) bool: which of a batch's items match every set field (vectorized ``matches``)."""
        out = torch.ones(len(attrs), dtype=torch.bool)
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out &= getattr(attrs, f.name) == CATEGORICAL[f.name].index(value)
        return out


@dataclass
class WorldAttrs:
    """Attributes of B items as tensors, each of shape (B,).

    shape, color, size, background, style: long indices into :data:`SHAPES`, :data:`COLORS`,
    :data:`SIZES`, :data:`BACKGROUNDS` and :data:`STYLES`. x, y: float32 object centre in [0, 1]
    image coordinates (x right, y down); rotation: float32 radians; tilt: float32 background
    gradient direction in radians; template: long caption template index.
    """

    shape: torch.Tensor
    color: torch.Tensor
    size: torch.Tensor
    background: torch.Tensor
    style: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    rotation: torch.Tensor
    tilt: torch.Tensor
    template: torch.Tensor

    def __len__(self) -> int:
        return self.shape.numel()

    def index(self, idx: torch.Tensor | slice) -> WorldAttrs:
        """The items at ``idx`` (a (K,) long tensor, a (B,) bool mask or a slice)."""
        return WorldAttrs(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def replace(self, **columns: torch.Tensor) -> WorldAttrs:
        """A copy with some columns replaced (each (B,))."""
        return WorldAttrs(**{f.name: columns.get(f.name, getattr(self, f.name))
                             for f in fields(self)})

    @staticmethod
    def cat(parts: Sequence[WorldAttrs]) -> WorldAttrs:
        """Concatenate batches along the item axis."""
        return WorldAttrs(**{f.name: torch.cat([getattr(p, f.name) for p in parts])
                             for f in fields(WorldAttrs)})

    def item(self, i: int) -> dict[str, Any]:
        """Attributes of item i as a plain dict of names and floats."""
        out: dict[str, Any] = {k: CATEGORICAL[k][int(getattr(self, k)[i])] for k in CATEGORICAL}
        out.update(x=float(self.x[i]), y=float(self.y[i]), rotation=float(self.rotation[i]),
                   tilt=float(self.tilt[i]), template=int(self.template[i]))
        return out

    @staticmethod
    def from_dicts(items: Iterable[Mapping[str, Any]]) -> WorldAttrs:
        """Batch attribute dicts (as :meth:`item` returns; x, y default 0.5, angles 0)."""
        items = list(items)
        cols: dict[str, list] = {f.name: [] for f in fields(WorldAttrs)}
        for a in items:
            for k, names in CATEGORICAL.items():
                cols[k].append(names.index(a[k]))
            for k in ("x", "y", "rotation", "tilt"):
                cols[k].append(float(a.get(k, 0.0 if k != "x" and k != "y" else 0.5)))
            cols["template"].append(int(a.get("template", 0)))
        return WorldAttrs(**{k: torch.tensor(v, dtype=torch.long if k in CATEGORICAL or
                                             k == "template" else torch.float32)
                             for k, v in cols.items()})


def _rng(*key: int) -> np.random.Generator:
    """A generator whose stream depends only on the integer ``key`` (no global state)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))


def sample_chunk(seed: int, split: str, chunk: int, styles: Sequence[str]) -> WorldAttrs:
    """Attributes of raw items [chunk·CHUNK, (chunk+1)·CHUNK) of a split's stream.

    The stream is keyed by (seed, split index, chunk) through ``SeedSequence``, so the three
    splits (and every chunk) draw from separate generators by construction. ``styles`` is the
    tuple of style names the world draws from uniformly. Returns a :class:`WorldAttrs` of
    B = :data:`CHUNK` items.
    """
    rng = _rng(seed, SPLITS.index(split), chunk)
    n = CHUNK
    style_ids = np.array([STYLES.index(s) for s in styles])
    size = rng.integers(0, len(SIZES), n)
    radius = np.asarray(SIZE_RADIUS)[size]
    margin = radius + 0.03
    return WorldAttrs(
        shape=torch.from_numpy(rng.integers(0, len(SHAPES), n)),
        color=torch.from_numpy(rng.integers(0, len(COLORS), n)),
        size=torch.from_numpy(size),
        background=torch.from_numpy(rng.integers(0, len(BACKGROUNDS), n)),
        style=torch.from_numpy(style_ids[rng.integers(0, len(style_ids), n)]),
        x=torch.from_numpy(margin + rng.random(n) * (1 - 2 * margin)).float(),
        y=torch.from_numpy(margin + rng.random(n) * (1 - 2 * margin)).float(),
        rotation=torch.from_numpy(rng.random(n) * 2 * np.pi).float(),
        tilt=torch.from_numpy(rng.random(n) * 2 * np.pi).float(),
        template=torch.from_numpy(rng.integers(0, NUM_TEMPLATES, n)),
    )


def draw_missing(partial: Mapping[str, Any], seed: int, i: int) -> dict[str, Any]:
    """Complete a partial attribute dict (e.g. parsed from a prompt) with draws keyed by (seed, i)."""
    rng = _rng(seed, 7, i)
    out = dict(partial)
    for k, names in CATEGORICAL.items():
        pick = names[int(rng.integers(0, len(names)))]
        if k == "style":
            pick = "flat"
        out.setdefault(k, pick)
    r = SIZE_RADIUS[SIZES.index(out["size"])] + 0.03
    x, y, rot, tilt = rng.random(4)
    out.setdefault("x", float(r + x * (1 - 2 * r)))
    out.setdefault("y", float(r + y * (1 - 2 * r)))
    out.setdefault("rotation", float(rot * 2 * np.pi))
    out.setdefault("tilt", float(tilt * 2 * np.pi))
    out.setdefault("template", int(rng.integers(0, NUM_TEMPLATES)))
    return out
