"""ImageFolder trees as a new user has them: mixed sizes and modes, no test folder, small
classes, broken files. Every inconsistency is one line; splits and subsets are stratified."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

import pytest

from semdistill.config import ConfigError
from semdistill.data import DatasetInvalid, DatasetNotFoundError, DatasetSpec, load_imagefolder
from semdistill.errors import UserError


def _spec(root, **kw):
    return DatasetSpec(name="imagefolder", root=str(root), image_size=16, **kw)


def _one_line(err):
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, UserError)
    return msg


def test_mixed_sizes_and_modes_are_resized_to_the_data_size(image_tree, tmp_path):
    ds = _spec(image_tree(tmp_path), train_size=48).build("train")
    x, y = ds.render_indices(list(range(len(ds))))
    assert x.shape == (48, 3, 16, 16) and y.shape == (48,)
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0 and x.std() > 0.1
    assert "resized to 16 px" in ds.description


def test_without_a_test_folder_the_test_split_is_a_stratified_holdout(image_tree, tmp_path):
    image_tree(tmp_path)
    spec = _spec(tmp_path)
    train, test = spec.build("train"), spec.build("test")
    files = {s: {ds.base.samples[i][0] for i in ds.indices} for s, ds in (("tr", train),
                                                                            ("te", test))}
    assert not files["tr"] & files["te"] and len(files["tr"] | files["te"]) == 60
    assert Counter(test.labels) == {0: 6, 1: 4, 2: 2}  # 20% of every class
    assert Counter(train.labels) == {0: 24, 1: 16, 2: 8}
    assert "held out for testing" in test.description and "held-out test part" in \
        test.description and "training part" in train.description
    again = _spec(tmp_path).build("test")
    assert again.indices == test.indices  # seeded
    other = _spec(tmp_path, seed=5).build("test")
    assert other.indices != test.indices and Counter(other.labels) == Counter(test.labels)


def test_train_size_below_the_folder_size_is_a_stratified_subset(image_tree, tmp_path):
    ds = _spec(image_tree(tmp_path), train_size=12).build("train")
    assert Counter(ds.labels) == {0: 6, 1: 4, 2: 2}  # not the first 12 images of one class
    prefix = Counter(ds.labels[:6])  # a training fraction (the first n) is stratified too
    assert prefix == {0: 3, 1: 2, 2: 1}


def test_a_test_folder_is_the_test_split_and_must_hold_the_same_classes(image_tree, tmp_path):
    image_tree(tmp_path / "train")
    image_tree(tmp_path / "test", {"ant": 2, "bee": 2, "cat": 2}, seed=1)
    spec = _spec(tmp_path)
    assert len(spec.build("test")) == 6 and len(spec.build("train")) == 60
    assert "held out" not in spec.build("test").description
    image_tree(tmp_path / "val", {"ant": 1, "dog": 1}, seed=2)  # test/ wins over val/
    assert len(spec.build("test")) == 6
    (tmp_path / "test").rename(tmp_path / "old")
    with pytest.raises(DatasetInvalid) as err:
        spec.build("test")
    msg = _one_line(err)
    assert "missing from test: bee, cat" in msg and "only in test: dog" in msg


def test_a_test_folder_without_train_is_refused(image_tree, tmp_path):
    image_tree(tmp_path / "test", {"ant": 2})
    with pytest.raises(DatasetInvalid) as err:
        load_imagefolder(tmp_path, "train")
    assert "no train/" in _one_line(err)


def test_empty_and_too_small_class_folders_are_named(image_tree, tmp_path):
    image_tree(tmp_path, {"ant": 3, "bee": 3})
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DatasetInvalid) as err:
        load_imagefolder(tmp_path, "train")
    assert "class folders without images: empty_class" in _one_line(err)
    (tmp_path / "empty_class").rmdir()
    image_tree(tmp_path, {"single": 1}, seed=3)
    with pytest.raises(DatasetInvalid) as err:
        load_imagefolder(tmp_path, "test")
    # 3 and 1 images: a 20% hold-out could leave a class without a test image
    assert "classes ant, bee, single have fewer than 5 images" in _one_line(err)
    assert len(load_imagefolder(tmp_path)) == 7  # the whole tree needs no split
    with pytest.raises(DatasetNotFoundError) as err:
        load_imagefolder(tmp_path / "ant")  # images but no class folders
    assert "no class folders" in _one_line(err)
    with pytest.raises(DatasetNotFoundError) as err:
        load_imagefolder(tmp_path / "missing")
    assert "not found" in _one_line(err)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize("content", [b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00garbage",
                                     _png_claiming(200_000, 200_000), "truncated"],
                         ids=["text", "bad-header", "decompression-bomb", "truncated"])
def test_an_unreadable_image_is_one_line_naming_the_file(image_tree, tmp_path, content):
    image_tree(tmp_path, {"ant": 2, "bee": 2})
    bad = tmp_path / "bee" / "zz.png"
    if content == "truncated":
        good = (tmp_path / "bee" / "0.png").read_bytes()
        content = good[: len(good) // 2]
    bad.write_bytes(content)
    ds = load_imagefolder(tmp_path)
    i = next(i for i, (p, _) in enumerate(ds.base.samples) if p.endswith("zz.png"))
    with pytest.raises(DatasetInvalid) as err:
        ds[i]
    msg = _one_line(err)
    assert str(bad) in msg and "unreadable image" in msg


def test_a_real_dataset_without_root_is_one_config_line():
    from semdistill.experiments.registry import load_config

    with pytest.raises(ConfigError) as err:
        load_config({"system": "ltsc", "data": {"name": "imagefolder"}})
    msg = str(err.value)
    assert "\n" not in msg and "data.name=imagefolder needs data.root" in msg


def test_store_identity_of_real_data_records_how_it_was_drawn(tmp_path):
    ident = _spec(tmp_path, seed=3).identity("train")
    assert ident["seed"] == 3 and ident["image_size"] == 16 and ident["sampling"]
    shapes = DatasetSpec().identity("train")  # unchanged: shipped stores stay valid
    assert set(shapes) == {"name", "split", "image_size", "task", "styles", "seed"}
