"""Image codecs: round trips, the quality knob, and damaged or malicious files."""

from __future__ import annotations

import pytest
import torch

from semdistill.digital.source import codec_names, get_codec
from semdistill.metrics.image import psnr


@pytest.fixture
def image() -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    return torch.stack([x, y, (x + y) / 2])


@pytest.mark.parametrize("name", codec_names())
def test_round_trip_and_quality(name, image):
    codec = get_codec(name)
    low, high = codec.encode(image, 5), codec.encode(image, 90)
    assert len(low) < len(high)
    rec_low, rec_high = codec.decode(low, (32, 32)), codec.decode(high, (32, 32))
    assert rec_high.shape == (3, 32, 32) and rec_high.min() >= 0 and rec_high.max() <= 1
    assert psnr(rec_high[None], image[None]) > psnr(rec_low[None], image[None])
    assert psnr(rec_high[None], image[None]) > 30


@pytest.mark.parametrize("name", codec_names())
def test_damaged_files_are_none_not_exceptions(name, image):
    codec = get_codec(name)
    data = codec.encode(image, 50)
    assert codec.decode(b"", (32, 32)) is None
    assert codec.decode(b"\x00" * 200, (32, 32)) is None
    assert codec.decode(data[: len(data) // 3], (32, 32)) is None      # truncated
    assert codec.decode(data, (16, 16)) is None                           # another size
    other = next(n for n in codec_names() if n != name)
    assert codec.decode(get_codec(other).encode(image, 50), (32, 32)) is None  # another format


def test_a_jpeg_header_claiming_a_huge_image_is_refused_before_decoding(image):
    data = bytearray(get_codec("jpeg").encode(image, 50))
    sof = data.index(b"\xff\xc0") if b"\xff\xc0" in data else data.index(b"\xff\xc2")
    data[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") * 2              # height, width
    assert get_codec("jpeg").decode(bytes(data), (32, 32)) is None


def test_unknown_codec_names_the_valid_ones():
    with pytest.raises(KeyError, match="valid: .*jpeg.*webp"):
        get_codec("bpg")
