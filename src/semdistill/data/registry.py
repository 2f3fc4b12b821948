"""``get_dataset(name, ...)``: one door to the shapes world and the real datasets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from semdistill.data.real import load_imagefolder, load_torchvision
from semdistill.data.world.dataset import ShapesWorld
from semdistill.registry import Registry

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


@DATASETS.register("shapes")
def _shapes(*, root=None, split="train", download=False, transform=None, **kw) -> Dataset:
    return ShapesWorld(split=split, transform=transform, **kw)


for _name in ("cifar10", "cifar100", "stl10"):
    DATASETS.register(_name, lambda *, root, split="train", download=False, transform=None,
                      _n=_name: load_torchvision(_n, root, split, download, transform))


@DATASETS.register("imagefolder")
def _imagefolder(*, root, split="train", download=False, transform=None) -> Dataset:
    return load_imagefolder(root, split, transform)


def get_dataset(name: str, *, root: str | Path | None = None, split: str = "train",
                download: bool = False, transform: Callable[[Any], Any] | None = None,
                **kwargs: Any) -> Dataset:
    """A dataset by name: shapes, cifar10, cifar100, stl10, imagefolder."""
    return DATASETS.get(name)(root=root, split=split, download=download, transform=transform,
                              **kwargs)
