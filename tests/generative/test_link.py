"""Image metrics and the bytes accounting of the generative link."""

import math

import pytest
import torch

from semdistill.generative.link import (
    decode_image,
    encode_jpeg,
    encode_png,
    jpeg_roundtrip,
    jpeg_scan_bytes,
    link_bytes,
    png_sizes,
    prompt_bytes,
    symbol_bytes,
)
from semdistill.metrics.image import latent_psnr, psnr, ssim


def test_psnr_matches_closed_form():
    x = torch.zeros(2, 3, 4, 4)
    y = x + torch.tensor([0.1, 0.01]).reshape(2, 1, 1, 1)
    torch.testing.assert_close(psnr(y, x), torch.tensor([20.0, 40.0]))
    z = torch.linspace(-2, 2, 64).reshape(1, 4, 4, 4)
    torch.testing.assert_close(latent_psnr(z + 0.04, z), torch.tensor([20 * math.log10(4 / 0.04)]))


def test_ssim_identity_and_ordering():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    small = ssim((x + 0.02 * torch.randn_like(x)).clamp(0, 1), x)
    large = ssim((x + 0.2 * torch.randn_like(x)).clamp(0, 1), x)
    assert bool((small > large).all()) and bool((large < 0.9).all())


def test_bytes_accounting_against_png_and_jpeg():
    assert prompt_bytes("a red star") == 10
    assert symbol_bytes(128, 4) == 64.0
    assert link_bytes("a red star", 32, 6) == 10 + 24.0
    torch.manual_seed(1)
    img = torch.rand(3, 32, 32)
    png, jpg = encode_png(img), encode_jpeg(img, 75)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and jpg[:2] == b"\xff\xd8"
    # PNG is lossless; JPEG q75 is lossy but close
    back = decode_image(png)
    assert torch.equal((back * 255).round(), (img * 255).round())
    dec, files = jpeg_roundtrip(img[None])
    assert files == [jpg] and 0 < float((dec - img).abs().mean()) < 0.2
    assert png_sizes(img[None]) == [len(png)]
    assert link_bytes("a red star", 128, 4) < len(jpg)


def test_jpeg_scan_bytes_is_the_file_less_a_header_fixed_by_size_and_quality():
    torch.manual_seed(2)
    noisy, flat = torch.rand(3, 32, 32), torch.full((3, 32, 32), 0.5)
    a, b = encode_jpeg(noisy, 50), encode_jpeg(flat, 50)
    header = len(a) - jpeg_scan_bytes(a)
    assert header == len(b) - jpeg_scan_bytes(b) > 300  # tables dominate a 32×32 file
    assert jpeg_scan_bytes(b) < 20 < jpeg_scan_bytes(a)
    with pytest.raises(ValueError, match="not a JPEG"):
        jpeg_scan_bytes(encode_png(flat))
    with pytest.raises(ValueError, match="corrupt"):
        jpeg_scan_bytes(a[:40])


def test_psnr_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        psnr(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 3))
