"""Teacher preprocessing as a torchvision transform (resize + normalize)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchvision.transforms import InterpolationMode, v2


def build_transform(
    image_size: int | Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    interpolation: str = "bicubic",
) -> v2.Compose:
    """Resize to ``image_size`` and normalize; accepts PIL images or float tensors in [0, 1]."""
    mode = InterpolationMode(interpolation.lower())
    size = [image_size, image_size] if isinstance(image_size, int) else list(image_size)
    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Resize(size, interpolation=mode, antialias=True),
        v2.Normalize(list(mean), list(std)),
    ])
