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
STYLES = ("flat", "outlined", "textured")
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
        return all(getattr(self, f.name) in (None, attrs.get(f.name)) for f in fields(self))


@dataclass
class WorldAttrs:
    """Attributes of B items as tensors: categorical indices (long) and continuous floats.

    x, y: object centre in [0, 1] image coordinates; rotation in radians; tilt: background
    gradient direction in radians; template: caption template index.
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
        return WorldAttrs(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def cat(parts: Sequence[WorldAttrs]) -> WorldAttrs:
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
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(list(key))))


def sample_chunk(seed: int, split: str, chunk: int, styles: Sequence[str]) -> WorldAttrs:
    """Attributes of raw items [chunk·CHUNK, (chunk+1)·CHUNK) of a split's stream."""
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
