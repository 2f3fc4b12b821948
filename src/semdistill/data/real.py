"""Real datasets (torchvision CIFAR-10/100, STL-10, any ImageFolder tree) in the world's item format.

Items are ``{"image", "label", "caption": "a photo of a <class>", "attrs": {"class": name}}``.
Missing data that cannot be downloaded raises :class:`DatasetNotFoundError` with one line that
says where the files go.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision import datasets
from torchvision.transforms import functional as F

from semdistill.errors import UserError


class DatasetNotFoundError(UserError, FileNotFoundError):
    """A dataset's files are missing; the message says where to put them."""


class CaptionedDataset(Dataset):
    """Wraps an (image, label) dataset into the library's item dicts."""

    def __init__(self, base: Any, class_names: list[str],
                 transform: Callable[[Any], Any] | None = None) -> None:
        self.base, self.class_names, self.transform = base, class_names, transform

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict[str, Any]:
        img, label = self.base[i]
        image = self.transform(img) if self.transform is not None else F.to_tensor(img)
        name = self.class_names[label]
        return {"image": image, "label": int(label), "caption": f"a photo of a {name}",
                "attrs": {"class": name}}

    def render_indices(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        items = [self[int(i)] for i in torch.as_tensor(indices).tolist()]
        return torch.stack([it["image"] for it in items]), torch.tensor([it["label"] for it in items])


_TORCHVISION = {
    "cifar10": (datasets.CIFAR10, "CIFAR-10", "cifar-10-batches-py/"),
    "cifar100": (datasets.CIFAR100, "CIFAR-100", "cifar-100-python/"),
    "stl10": (datasets.STL10, "STL-10", "stl10_binary/"),
}


def load_torchvision(name: str, root: str | Path, split: str = "train", download: bool = False,
                     transform: Callable[[Any], Any] | None = None) -> CaptionedDataset:
    cls, title, folder = _TORCHVISION[name]
    root = Path(root).expanduser()
    kwargs = {"split": "train" if split == "train" else "test"} if name == "stl10" else {
        "train": split == "train"}
    try:
        base = cls(str(root), download=download, **kwargs)
    except (RuntimeError, OSError) as err:
        how = "run with download=True (needs internet)" if not download else f"download failed ({err})"
        raise DatasetNotFoundError(
            f"{title} not found under {root}: {how}, or place {folder} there") from None
    names = list(getattr(base, "classes", [])) or [str(c) for c in range(10)]
    return CaptionedDataset(base, names, transform)


def load_imagefolder(root: str | Path, split: str | None = None,
                     transform: Callable[[Any], Any] | None = None) -> CaptionedDataset:
    """``root/<class>/*.png`` (or ``root/<split>/<class>/...`` when that folder exists)."""
    root = Path(root).expanduser()
    if split is not None and (root / split).is_dir():
        root = root / split
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} not found: expected {root}/<class>/<image>")
    try:
        base = datasets.ImageFolder(str(root))
    except (FileNotFoundError, RuntimeError) as err:
        raise DatasetNotFoundError(f"{root}: no images in class folders ({err})") from None
    return CaptionedDataset(base, list(base.classes), transform)
