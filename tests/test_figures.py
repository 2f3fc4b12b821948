"""Figures: metric plots from results records and labelled image grids."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from semdistill.figures import save_image_grid


def test_image_grid_writes_one_png_row_per_labelled_batch(tmp_path):
    rows = [torch.rand(3, 3, 8, 8), torch.zeros(3, 3, 8, 8)]
    out = save_image_grid(tmp_path / "g.png", rows, ["cloud", "edge"], title="t")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.height > im.width / 4
    one = save_image_grid(tmp_path / "one.png", rows[:1], ["only"])
    assert one.is_file()


def test_image_grid_needs_one_label_per_row(tmp_path):
    with pytest.raises(ValueError):
        save_image_grid(tmp_path / "g.png", [torch.rand(2, 3, 8, 8)] * 2, ["one"])
