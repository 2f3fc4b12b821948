"""``get_dataset(name, ...)``: one door to the shapes world and the real datasets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from semdistill.data.real import load_cifar10, load_cifar100, load_imagefolder, load_stl10
from semdistill.data.world.dataset import ShapesWorld
from semdistill.registry import Registry

#: name → factory(*, root, split, download, transform, **kwargs) -> Dataset
DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


@DATASETS.register("shapes")
def _shapes(*, root: str | Path | None = None, split: str = "train", download: bool = False,
            transform: Callable[[Any], Any] | None = None, **kwargs: Any) -> Dataset:
    """The embedded world: ``root`` and ``download`` are ignored; ``kwargs`` go to ShapesWorld."""
    return ShapesWorld(split=split, transform=transform, **kwargs)


def _real(name: str, load: Callable[..., Dataset]) -> Callable[..., Dataset]:
    def factory(*, root: str | Path | None = None, split: str = "train", download: bool = False,
                transform: Callable[[Any], Any] | None = None, **kwargs: Any) -> Dataset:
        if root is None:
            raise ValueError(f"dataset {name!r} needs root= (the folder that holds it)")
        if kwargs:
            raise TypeError(f"unexpected options for a real dataset: {', '.join(kwargs)}")
        return load(root, split, download, transform)

    return factory


def _imagefolder(root: str | Path, split: str, download: bool,
                 transform: Callable[[Any], Any] | None) -> Dataset:
    return load_imagefolder(root, split, transform)  # local files only: nothing to download


for _name, _load in (("cifar10", load_cifar10), ("cifar100", load_cifar100),
                     ("stl10", load_stl10), ("imagefolder", _imagefolder)):
    DATASETS.register(_name, _real(_name, _load))


def get_dataset(name: str, *, root: str | Path | None = None, split: str = "train",
                download: bool = False, transform: Callable[[Any], Any] | None = None,
                **kwargs: Any) -> Dataset:
    """A dataset by name: shapes, cifar10, cifar100, stl10, imagefolder.

    Items are dicts ``{"image", "label", "caption", "attrs"}``. ``kwargs`` are ShapesWorld
    options (size, image_size, seed, task, styles, exclude, …) for "shapes".

    Raises:
        KeyError: unknown name (the message lists the valid ones).
        DatasetNotFoundError: a real dataset's files are missing.
    """
    return DATASETS.get(name)(root=root, split=split, download=download, transform=transform,
                              **kwargs)
