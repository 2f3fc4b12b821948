"""Real-data loaders: clear one-line errors when data is missing, ImageFolder on local PNGs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from semdistill.data import (
    CaptionedDataset,
    DatasetInvalid,
    DatasetNotFoundError,
    build_transform,
    fit_transform,
    get_dataset,
    load_cifar10,
    load_imagefolder,
    load_prompts,
    stratified_subset,
)
from semdistill.errors import UserError


@pytest.mark.parametrize(("name", "title", "folder"), [("cifar10", "CIFAR-10", "cifar-10-batches-py"),
                                                       ("cifar100", "CIFAR-100", "cifar-100-python"),
                                                       ("stl10", "STL-10", "stl10_binary")])
def test_missing_dataset_says_where_to_put_it(tmp_path, name, title, folder):
    with pytest.raises(DatasetNotFoundError) as err:
        get_dataset(name, root=tmp_path, split="train", download=False)
    msg = str(err.value)
    assert msg.startswith(f"{title} not found under {tmp_path}")
    assert folder in msg and "download=True" in msg and "\n" not in msg
    assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, UserError)


def test_real_loader_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_cifar10(tmp_path, split="dev")
    with pytest.raises(DatasetNotFoundError, match="needs root="):
        get_dataset("cifar10")
    with pytest.raises(TypeError, match="image_size"):
        get_dataset("cifar10", root=tmp_path, image_size=64)


def _write_folder(root, sizes=((20, 24), (31, 17), (8, 8))):
    for cls, color in (("cats", (200, 30, 30)), ("hot_dogs", (30, 30, 200))):
        (root / cls).mkdir(parents=True)
        for i, wh in enumerate(sizes):
            Image.new("RGB", wh, color).save(root / cls / f"{i}.png")


def test_imagefolder_with_teacher_transform(tmp_path):
    _write_folder(tmp_path)
    tf = build_transform(16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    ds = load_imagefolder(tmp_path, transform=tf)  # split=None: every image of the tree
    assert isinstance(ds, CaptionedDataset)
    assert len(ds) == 6 and ds.class_names == ["cats", "hot_dogs"] and ds.num_classes == 2
    item = ds[4]
    assert item["image"].shape == (3, 16, 16) and item["label"] == 1
    assert item["caption"] == "a photo of a hot dogs" and item["attrs"] == {"class": "hot_dogs"}
    assert torch.allclose(item["image"][2].mean(), torch.tensor(200 / 255 * 2 - 1), atol=0.02)
    imgs, labels = ds.render_indices(torch.tensor([0, 5]))
    assert imgs.shape == (2, 3, 16, 16) and labels.tolist() == [0, 1]
    # without a transform: the original size, float in [0, 1]
    raw = load_imagefolder(tmp_path)[1]["image"]
    assert raw.shape == (3, 17, 31) and raw.dtype == torch.float32 and float(raw.max()) <= 1.0
    with pytest.raises(DatasetNotFoundError, match="not found"):
        get_dataset("imagefolder", root=tmp_path / "nope")


def test_imagefolder_split_subfolders_and_empty_folders(tmp_path):
    _write_folder(tmp_path / "train")
    _write_folder(tmp_path / "val", sizes=((9, 9),))
    assert len(get_dataset("imagefolder", root=tmp_path, split="val")) == 2
    assert len(get_dataset("imagefolder", root=tmp_path, split="train")) == 6
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(DatasetInvalid, match="class folders without images: a") as err:
        get_dataset("imagefolder", root=tmp_path / "empty")
    assert "\n" not in str(err.value)


def test_fit_transform_keeps_the_aspect_ratio_and_the_value_range():
    tf = fit_transform(8)
    wide = Image.new("RGB", (40, 20), (0, 0, 0))
    wide.paste((255, 255, 255), (0, 0, 20, 20))  # left half white, right half black
    out = tf(wide)
    assert out.shape == (3, 8, 8) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    # centre crop of the 16x8 resize keeps columns 4..11: half white, half black
    assert abs(float(out.mean()) - 0.5) < 0.05
    same = torch.rand(3, 8, 8)
    assert torch.equal(tf(same), same)  # already the size: unchanged


def test_build_transform_takes_pil_uint8_float_and_batches():
    tf = build_transform((8, 12), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), interpolation="bilinear")
    pil = Image.new("RGB", (40, 30), (255, 0, 0))
    out = tf(pil)
    assert out.shape == (3, 8, 12) and out.dtype == torch.float32
    assert torch.allclose(out[0], torch.ones(8, 12), atol=1e-3)
    u8 = torch.full((3, 30, 40), 255, dtype=torch.uint8)
    assert torch.allclose(tf(u8), torch.ones(3, 8, 12), atol=1e-3)
    batch = torch.rand(5, 3, 32, 32)
    assert tf(batch).shape == (5, 3, 8, 12)
    norm = build_transform(32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))(batch)
    assert torch.allclose(norm, (batch - 0.5) / 0.25, atol=1e-5)  # same size: no resampling
    with pytest.raises(ValueError, match="unknown interpolation"):
        build_transform(8, (0, 0, 0), (1, 1, 1), interpolation="lanczos9")


def test_registry_and_shapes_through_it():
    ds = get_dataset("shapes", split="val", size=5, image_size=16, task="color")
    assert len(ds) == 5 and ds[0]["image"].shape == (3, 16, 16) and ds.num_classes == 8
    with pytest.raises(KeyError, match="valid: cifar10, cifar100, imagefolder, shapes, stl10"):
        get_dataset("mnist")


def test_prompt_file(tmp_path):
    p = tmp_path / "prompts.txt"
    p.write_text("# subjects\na red star\n\n  a blue ring  \n   # indented comment\n")
    assert load_prompts(p) == ["a red star", "a blue ring"]
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(UserError, match="has no prompts"):
        load_prompts(tmp_path / "empty.txt")
    with pytest.raises(DatasetNotFoundError, match="missing.txt not found"):
        load_prompts(tmp_path / "missing.txt")


class _Labelled:
    """A torchvision-style dataset: (PIL image, label) items and a ``labels`` array (STL-10)."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return Image.new("RGB", (12, 10), (int(self.labels[i]) * 60, 0, 0)), int(self.labels[i])


def test_stratified_subset_of_a_torchvision_style_dataset():
    ds = CaptionedDataset(_Labelled([0] * 40 + [1] * 10), ["a", "b"], fit_transform(8),
                          description="toy train split")
    sub = stratified_subset(ds, 10, seed=3)
    assert sub.labels.count(0) == 8 and sub.labels.count(1) == 2
    assert sub.description.startswith("toy train split; 10 of 50 images")
    x, y = sub.render_indices(range(10))
    assert x.shape == (10, 3, 8, 8) and y.tolist() == sub.labels
    assert sub.select([0, 1], "two").labels == sub.labels[:2]  # views compose
    assert len(stratified_subset(ds, 500, seed=3)) == 50  # capped at the split's size
