"""Real-data loaders: clear one-line errors when data is missing, ImageFolder on local PNGs."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from semdistill.data import (
    DatasetNotFoundError,
    build_transform,
    get_dataset,
    load_prompts,
)


@pytest.mark.parametrize(("name", "folder"), [("cifar10", "cifar-10-batches-py"),
                                              ("cifar100", "cifar-100-python"),
                                              ("stl10", "stl10_binary")])
def test_missing_dataset_says_where_to_put_it(tmp_path, name, folder):
    with pytest.raises(DatasetNotFoundError) as err:
        get_dataset(name, root=tmp_path, split="train", download=False)
    msg = str(err.value)
    assert str(tmp_path) in msg and folder in msg and "download=True" in msg and "\n" not in msg


def test_imagefolder_with_teacher_transform(tmp_path):
    for cls, color in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200))):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 24), color).save(tmp_path / cls / f"{i}.png")
    tf = build_transform(16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    ds = get_dataset("imagefolder", root=tmp_path, transform=tf)
    assert len(ds) == 6 and ds.class_names == ["cats", "dogs"]
    item = ds[4]
    assert item["image"].shape == (3, 16, 16) and item["label"] == 1
    assert item["caption"] == "a photo of a dogs"
    assert torch.allclose(item["image"][2].mean(), torch.tensor(200 / 255 * 2 - 1), atol=0.02)
    imgs, labels = ds.render_indices(torch.tensor([0, 5]))
    assert imgs.shape == (2, 3, 16, 16) and labels.tolist() == [0, 1]
    with pytest.raises(DatasetNotFoundError, match="not found"):
        get_dataset("imagefolder", root=tmp_path / "nope")


def test_registry_and_shapes_through_it():
    ds = get_dataset("shapes", split="val", size=5, image_size=16)
    assert len(ds) == 5 and ds[0]["image"].shape == (3, 16, 16)
    with pytest.raises(KeyError, match="valid: cifar10, cifar100, imagefolder, shapes, stl10"):
        get_dataset("mnist")


def test_prompt_file(tmp_path):
    p = tmp_path / "prompts.txt"
    p.write_text("# subjects\na red star\n\n  a blue ring  \n")
    assert load_prompts(p) == ["a red star", "a blue ring"]
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(Exception, match="has no prompts"):
        load_prompts(tmp_path / "empty.txt")
    with pytest.raises(DatasetNotFoundError):
        load_prompts(tmp_path / "missing.txt")
