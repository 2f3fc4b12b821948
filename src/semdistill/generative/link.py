"""The end-to-end generative link: prompt → edge latents → latent JSCC → channel → user image.

The cloud sends the prompt text to the edge; the edge LDM (optionally MAKD-aligned) generates a
latent; the latent JSCC codec (base, or adapted by CALA / VGSA / shared LoRA) sends it over the
wireless link at the requested rate and SNR; the user decodes the symbols to a latent and the
edge VAE decoder (which the user holds) turns it into the image.

Bytes per image = UTF-8 bytes of the prompt (cloud → edge) + ``K_r · bits_per_symbol / 8``
(edge → user), compared with PNG and JPEG (quality 75, Pillow) files of the same image.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image
from torch import nn

#: JPEG quality used for the classical comparison.
JPEG_QUALITY = 75


class LatentEdge(Protocol):
    """What the link needs from an edge model (``semdistill.generative.edge.EdgeLDM``)."""

    def generate_latents(self, prompts: Sequence[str], seeds: Sequence[int],
                         steps: int | None = None, guidance: float | None = None
                         ) -> torch.Tensor: ...

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor: ...


def prompt_bytes(prompt: str) -> int:
    """Bytes of the prompt text on the cloud → edge link (UTF-8)."""
    return len(prompt.encode("utf-8"))


def symbol_bytes(num_symbols: int, bits_per_symbol: int) -> float:
    """Bytes of ``num_symbols`` constellation symbols: ``K · bits_per_symbol / 8``."""
    return num_symbols * bits_per_symbol / 8.0


def link_bytes(prompt: str, num_symbols: int, bits_per_symbol: int) -> float:
    """Bytes sent per image by the generative link: prompt + symbols."""
    return prompt_bytes(prompt) + symbol_bytes(num_symbols, bits_per_symbol)


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """``(3, H, W)`` float [0, 1] → ``(H, W, 3)`` uint8."""
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"expected one (3, H, W) image, got {tuple(image.shape)}")
    arr = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return arr.permute(1, 2, 0).cpu().numpy()


def encode_png(image: torch.Tensor) -> bytes:
    """PNG file bytes of one ``(3, H, W)`` image in [0, 1] (Pillow, default compression)."""
    buf = io.BytesIO()
    Image.fromarray(_to_uint8(image)).save(buf, format="PNG")
    return buf.getvalue()


def encode_jpeg(image: torch.Tensor, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG file bytes of one ``(3, H, W)`` image in [0, 1] (Pillow, ``quality``)."""
    buf = io.BytesIO()
    Image.fromarray(_to_uint8(image)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def jpeg_scan_bytes(data: bytes) -> int:
    """Bytes of a JPEG file's entropy-coded data: what follows the first scan header (SOS),
    less the end marker. The rest of the file (quantization and Huffman tables, frame header)
    is fixed for a given size and quality, so the scan is what an abbreviated stream with
    tables agreed in advance would send."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG file (no SOI marker)")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError(f"corrupt JPEG: no marker at byte {i}")
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if data[i + 1] == 0xDA:  # start of scan
            return len(data) - (i + 2 + length) - 2
        i += 2 + length
    raise ValueError("corrupt JPEG: no scan (SOS) segment")


def decode_image(data: bytes) -> torch.Tensor:
    """Image file bytes → ``(3, H, W)`` float in [0, 1]."""
    arr = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def jpeg_roundtrip(images: torch.Tensor, quality: int = JPEG_QUALITY
                   ) -> tuple[torch.Tensor, list[bytes]]:
    """JPEG-compress each image of ``(B, 3, H, W)``; returns (decoded images, JPEG files)."""
    files = [encode_jpeg(im, quality) for im in images]
    return torch.stack([decode_image(f) for f in files]), files


def png_sizes(images: torch.Tensor) -> list[int]:
    """PNG bytes of each image of ``(B, 3, H, W)``."""
    return [len(encode_png(im)) for im in images]


@dataclass
class LinkResult:
    """One pass of :meth:`GenerativeLink.transmit`.

    Attributes:
        latents: the edge's latents ``(B, C, h, w)``.
        latents_hat: the user's reconstructed latents ``(B, C, h, w)``.
        edge_images: the edge's images (VAE decode of ``latents``) ``(B, 3, H, W)`` in [0, 1].
        images: the user's images ``(B, 3, H, W)`` in [0, 1].
        bytes_per_image: prompt + symbol bytes per image ``(B,)``.
    """

    latents: torch.Tensor
    latents_hat: torch.Tensor
    edge_images: torch.Tensor
    images: torch.Tensor
    bytes_per_image: torch.Tensor


class GenerativeLink:
    """Cloud prompt → edge LDM → latent JSCC codec → channel → user decoder.

    Args:
        edge: the edge model (its VAE decoder is also the user's latent decoder).
        codec: a latent codec called as ``codec(latents, rate_index (B,), snr_db (B,))`` that
            returns an object with ``z_hat``: :class:`~semdistill.models.latent_jscc.LatentJSCC`
            or its CALA / VGSA / shared-LoRA adaptation.
        rates: K_r of each rate index; bits_per_symbol: of the codec's constellation.
    """

    def __init__(self, edge: Any, codec: nn.Module, rates: Sequence[int],
                 bits_per_symbol: int) -> None:
        self.edge, self.codec = edge, codec
        self.rates, self.bits_per_symbol = list(rates), int(bits_per_symbol)

    @torch.no_grad()
    def send_latents(self, latents: torch.Tensor, rate_index: int | torch.Tensor,
                     snr_db: float | torch.Tensor, link: nn.Module | None = None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Edge latents ``(B, C, h, w)`` → the user's latents after codec and channel.

        ``link``: the physical layer to send over (default: the codec's own); ``generator``
        drives its noise and fading draws (default: torch's global RNG).
        """
        b = latents.shape[0]
        device = latents.device
        r = torch.as_tensor(rate_index, device=device).long().expand(b).contiguous()
        s = torch.as_tensor(snr_db, device=device, dtype=torch.float32).expand(b).contiguous()
        self.codec.eval()
        return self.codec(latents, r, s, link=link, generator=generator).z_hat

    @torch.no_grad()
    def transmit(self, prompts: Sequence[str], seeds: Sequence[int], rate_index: int,
                 snr_db: float) -> LinkResult:
        """Run the whole link for ``prompts`` at one (rate, SNR)."""
        latents = self.edge.generate_latents(prompts, seeds)
        z_hat = self.send_latents(latents, rate_index, snr_db)
        nbytes = torch.tensor([link_bytes(p, self.rates[rate_index], self.bits_per_symbol)
                               for p in prompts])
        return LinkResult(latents=latents, latents_hat=z_hat,
                          edge_images=self.edge.decode_latents(latents),
                          images=self.edge.decode_latents(z_hat), bytes_per_image=nbytes)
