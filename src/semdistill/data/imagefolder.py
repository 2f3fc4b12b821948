"""ImageFolder trees (``root/<class>/<image>``) in the library's item format, checked up front.

Layouts (``docs/data.md``, "ImageFolder"):

- ``root/train/<class>/…`` with ``root/test/<class>/…`` (or ``root/val/``): the folders are the
  splits; both must hold the same class folders.
- ``root/<class>/…`` or ``root/train/<class>/…`` alone: the test split is a seeded stratified
  hold-out (:data:`~semdistill.data.split.HOLDOUT_FRACTION` of every class) and the training
  split is the rest; the dataset's ``description`` says so.

Every missing or inconsistent piece is one line: no folder, no class folders, class folders
without images, test classes that differ from the training classes, a class too small to split,
an image file that cannot be decoded (named when it is read).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semdistill.data.real import (
    REAL_SPLITS,
    CaptionedDataset,
    DatasetInvalid,
    DatasetNotFoundError,
    _one_line,
)
from semdistill.data.split import HOLDOUT_FRACTION, holdout_split

#: folders that hold the test split, in the order they are looked for
TEST_FOLDERS = ("test", "val")


def open_rgb(path: str) -> Any:
    """The image file at ``path`` as an RGB PIL image; :class:`DatasetInvalid` (one line naming
    the file) when it cannot be decoded, is truncated, or exceeds PIL's decompression-bomb
    limit."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise DatasetInvalid(f"{path}: unreadable image ({_one_line(err)})") from None


def _scan(folder: Path) -> Any:
    """A torchvision ``ImageFolder`` over ``folder`` whose every class has an image."""
    from torchvision import datasets

    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"image folder {folder} not found: expected {folder}/<class>/<image>")
    try:
        base = datasets.ImageFolder(str(folder), loader=open_rgb, allow_empty=True)
    except FileNotFoundError:
        raise DatasetNotFoundError(
            f"{folder}: no class folders (expected {folder}/<class>/<image>)") from None
    counts = np.bincount(np.asarray(base.targets, dtype=np.int64), minlength=len(base.classes))
    empty = [c for c, n in zip(base.classes, counts, strict=True) if n == 0]
    if empty:
        exts = ", ".join(datasets.folder.IMG_EXTENSIONS)
        raise DatasetInvalid(f"{folder}: class folders without images: {', '.join(empty)} "
                             f"(image files end in {exts})")
    return base


def _layout(root: Path) -> tuple[Path, Path | None]:
    """(training folder, test folder or None) of an ImageFolder tree."""
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} not found: expected {root}/<class>/<image>")
    test = next((root / t for t in TEST_FOLDERS if (root / t).is_dir()), None)
    if (root / "train").is_dir():
        return root / "train", test
    if test is not None:
        raise DatasetInvalid(f"{root} has {test.name}/ but no train/: put the training class "
                             f"folders in {root}/train/")
    return root, None


def _same_classes(train: Any, test: Any, train_dir: Path, test_dir: Path) -> None:
    if train.classes != test.classes:
        missing = sorted(set(train.classes) - set(test.classes))
        extra = sorted(set(test.classes) - set(train.classes))
        raise DatasetInvalid(
            f"{test_dir} and {train_dir} hold different classes (missing from test: "
            f"{', '.join(missing) or '-'}; only in test: {', '.join(extra) or '-'})")


def load_imagefolder(root: str | Path, split: str | None = None,
                     transform: Callable[[Any], Any] | None = None, *,
                     seed: int = 0) -> CaptionedDataset:
    """An ImageFolder tree's ``split`` ("train", "test" or its alias "val"; None = every
    training image). Classes are the sorted class-folder names; images are decoded with PIL as
    RGB when an item is read.

    Without a test folder, "test" is a seeded stratified hold-out of every class (``seed``) and
    "train" is the rest; with one, the folders are the splits.

    Raises:
        DatasetNotFoundError: ``root`` or its class folders are missing.
        DatasetInvalid: empty class folders, test classes that differ from the training
            classes, a class too small to hold one image out, an undecodable image (on read).
    """
    if split is not None and split not in REAL_SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(REAL_SPLITS)}")
    root = Path(root).expanduser()
    train_dir, test_dir = _layout(root)
    train = _scan(train_dir)
    if test_dir is not None or split is None:
        if split in (None, "train"):
            return CaptionedDataset(train, train.classes, transform,
                                    description=f"ImageFolder {train_dir}")
        test = _scan(test_dir)
        _same_classes(train, test, train_dir, test_dir)
        return CaptionedDataset(test, test.classes, transform,
                                description=f"ImageFolder {test_dir}")
    counts = np.bincount(np.asarray(train.targets), minlength=len(train.classes))
    least = math.ceil(1 / HOLDOUT_FRACTION)  # fewer could give a class no test image at all
    small = [c for c, n in zip(train.classes, counts, strict=True) if n < least]
    if small:
        raise DatasetInvalid(f"{train_dir}: no test/ folder, and classes {', '.join(small)} have "
                             f"fewer than {least} images to hold {HOLDOUT_FRACTION:.0%} out for "
                             f"testing: add images or a {root}/test/<class>/ folder")
    keep, held = holdout_split(train.targets, seed)
    part = "training part" if split == "train" else "held-out test part"
    return CaptionedDataset(
        train, train.classes, transform, indices=(keep if split == "train" else held).tolist(),
        description=f"ImageFolder {train_dir} (no test/ folder: a seeded stratified "
                    f"{HOLDOUT_FRACTION:.0%} of every class is held out for testing, seed "
                    f"{seed}; this is the {part})")
