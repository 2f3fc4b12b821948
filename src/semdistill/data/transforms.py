"""Teacher preprocessing as a torchvision transform (resize + normalize)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def build_transform(
    image_size: int | Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    interpolation: str = "bicubic",
) -> Callable[[Any], Any]:
    """A teacher's preprocessing: to float32, resize to ``image_size``, normalize.

    Accepts a PIL image, a uint8 tensor (scaled to [0, 1]) or a float tensor already in [0, 1],
    shaped (3, H, W) or (B, 3, H, W); returns float32 (…, 3, S, S) (or (…, 3, h, w) when
    ``image_size`` is (h, w)). ``interpolation``: "nearest", "bilinear" or "bicubic" (as in a
    timm ``pretrained_cfg``). Returns a torchvision ``v2.Compose``.
    """
    import torch
    from torchvision.transforms import InterpolationMode, v2

    try:
        mode = InterpolationMode(interpolation.lower())
    except ValueError:
        valid = ", ".join(m.value for m in InterpolationMode)
        raise ValueError(f"unknown interpolation {interpolation!r}; valid: {valid}") from None
    size = [image_size, image_size] if isinstance(image_size, int) else list(image_size)
    if len(mean) != 3 or len(std) != 3:
        raise ValueError(f"mean and std need 3 values (RGB), got {list(mean)} and {list(std)}")
    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Resize(size, interpolation=mode, antialias=True),
        v2.Normalize(list(mean), list(std)),
    ])


def fit_transform(image_size: int) -> Callable[[Any], Any]:
    """Real images to the data's size: float32 ``(3, S, S)`` in [0, 1], ``S = image_size``.

    The shorter side is resized to ``S`` (bilinear, antialiased, so values stay in [0, 1]) and
    the centre ``S × S`` is cropped, keeping the aspect ratio; an image already ``S × S`` is only
    converted (``uint8 / 255``). Accepts a PIL image or a ``(3, H, W)`` uint8/float tensor.
    """
    import torch
    from torchvision.transforms import InterpolationMode, v2

    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Resize(image_size, interpolation=InterpolationMode.BILINEAR, antialias=True),
        v2.CenterCrop(image_size),
    ])
