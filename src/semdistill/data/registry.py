"""``get_dataset(name, ...)``: one door to the shapes world and the real datasets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from semdistill.data.imagefolder import load_imagefolder
from semdistill.data.real import TORCHVISION_DATASETS, DatasetNotFoundError, load_torchvision
from semdistill.data.world.dataset import ShapesWorld
from semdistill.registry import Registry

#: name → factory(*, root, split, download, transform, seed, **kwargs) -> Dataset
DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


@DATASETS.register("shapes")
def _shapes(*, root: str | Path | None = None, split: str = "train", download: bool = False,
            transform: Callable[[Any], Any] | None = None, **kwargs: Any) -> Dataset:
    """The embedded world: ``root`` and ``download`` are ignored; ``kwargs`` go to ShapesWorld."""
    return ShapesWorld(split=split, transform=transform, **kwargs)


def _root(name: str, root: str | Path | None, kwargs: dict[str, Any]) -> str | Path:
    if kwargs:
        raise TypeError(f"unexpected options for a real dataset: {', '.join(kwargs)}")
    if root is None:
        raise DatasetNotFoundError(
            f"dataset {name!r} needs root= (data.root in a config): the folder that holds it")
    return root


def _torchvision(name: str) -> Callable[..., Dataset]:
    def factory(*, root: str | Path | None = None, split: str = "train", download: bool = False,
                transform: Callable[[Any], Any] | None = None, **kwargs: Any) -> Dataset:
        return load_torchvision(name, _root(name, root, kwargs), split, download, transform)

    return factory


for _name in TORCHVISION_DATASETS:
    DATASETS.register(_name, _torchvision(_name))


@DATASETS.register("imagefolder")
def _imagefolder(*, root: str | Path | None = None, split: str = "train", download: bool = False,
                 transform: Callable[[Any], Any] | None = None, seed: int = 0,
                 **kwargs: Any) -> Dataset:
    """Local files only (``download`` is ignored); ``seed`` draws the held-out test split when
    the tree has no test folder."""
    return load_imagefolder(_root("imagefolder", root, kwargs), split, transform, seed=seed)


def get_dataset(name: str, *, root: str | Path | None = None, split: str = "train",
                download: bool = False, transform: Callable[[Any], Any] | None = None,
                **kwargs: Any) -> Dataset:
    """A dataset by name: shapes, cifar10, cifar100, stl10, imagefolder.

    Items are dicts ``{"image", "label", "caption", "attrs"}``. ``kwargs`` are ShapesWorld
    options (size, image_size, seed, task, styles, exclude, …) for "shapes", and ``seed`` (of
    the held-out split) for "imagefolder".

    Raises:
        KeyError: unknown name (the message lists the valid ones).
        DatasetNotFoundError: a real dataset's files are missing, or no ``root`` was given.
        DatasetInvalid: an ImageFolder tree is inconsistent (see :func:`load_imagefolder`).
    """
    return DATASETS.get(name)(root=root, split=split, download=download, transform=transform,
                              **kwargs)
