"""Source coding for the digital baseline: Pillow's image codecs at a quality (docs/digital.md).

A codec turns one image ``(3, H, W)`` in [0, 1] into a complete file (``bytes``, headers
included: that is what a receiver needs to decode it) and a received file back into an image.
``decode`` never raises on a damaged file: it returns ``None`` when the bytes do not parse or
parse as another size or mode, and the caller scores the documented fallback instead.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image, features

from semdistill.registry import Registry


@dataclass(frozen=True)
class ImageCodec:
    """One Pillow format with its save options (``quality`` is set per call, 1–100)."""

    name: str
    pil_format: str
    options: dict[str, Any] = field(default_factory=dict)

    def encode(self, image: torch.Tensor, quality: int) -> bytes:
        """``(3, H, W)`` float in [0, 1] → the file's bytes at ``quality``."""
        arr = (image.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr.permute(1, 2, 0).numpy(), "RGB").save(
            buf, self.pil_format, quality=int(quality), **self.options)
        return buf.getvalue()

    def decode(self, data: bytes, size: tuple[int, int]) -> torch.Tensor | None:
        """Received bytes → ``(3, H, W)`` float in [0, 1], or ``None`` when they are not a
        ``self.pil_format`` RGB file of ``size`` = (H, W) (checked before any pixel is decoded,
        so a corrupted header cannot make Pillow allocate a huge image)."""
        try:
            with Image.open(io.BytesIO(data), formats=[self.pil_format]) as im:
                if im.size != (size[1], size[0]) or im.mode != "RGB":
                    return None
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            return None
        return torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255.0


CODECS: Registry[ImageCodec] = Registry("image codec")
CODECS.register("jpeg", ImageCodec("jpeg", "JPEG", {"optimize": True}))
CODECS.register("webp", ImageCodec("webp", "WEBP", {"method": 6}))
if features.check("avif"):  # Pillow >= 11.2 built with libavif
    CODECS.register("avif", ImageCodec("avif", "AVIF", {"speed": 6}))


def codec_names() -> list[str]:
    """The image codecs this Pillow build supports (``avif`` only where it has libavif)."""
    return CODECS.names()


def get_codec(name: str) -> ImageCodec:
    """A registered :class:`ImageCodec` (``KeyError`` naming the valid ones otherwise)."""
    return CODECS.get(name)
