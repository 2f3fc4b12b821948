"""Real datasets (torchvision CIFAR-10/100, STL-10; ImageFolder trees in ``imagefolder.py``) in
the world's item format, and their seeded stratified subsets.

Items are ``{"image", "label", "caption": "a photo of a <class>", "attrs": {"class": name}}``.
Missing data that cannot be downloaded raises :class:`DatasetNotFoundError` with one line that
says where the files go. torchvision is imported only when a real dataset is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from semdistill.data.split import stratified_order
from semdistill.errors import UserError

#: split names the real loaders accept; "val" is the official test split (these datasets have
#: no separate validation split).
REAL_SPLITS = ("train", "val", "test")


class DatasetNotFoundError(UserError, FileNotFoundError):
    """A dataset's files are missing; the message (one line) says where to put them."""


class DatasetInvalid(UserError, ValueError):
    """A dataset's files are there but inconsistent or unreadable; the message (one line) names
    the file or folder and what is wrong."""


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class CaptionedDataset(Dataset):
    """Wraps an (image, label) dataset into the library's item dicts.

    Args:
        base: any dataset whose items are (PIL image or tensor, int label); its labels are read
            from ``base.targets`` or ``base.labels`` (torchvision) without loading images.
        class_names: name of each label; captions read "a photo of a <name>" (``_`` → space).
        transform: applied to the image (PIL or tensor); without one, PIL images become
            (3, H, W) float32 tensors in [0, 1].
        indices: which items of ``base`` this dataset serves, in order (default: all).
        description: one line saying what the data is (split, subset, size); reports print it.
    """

    def __init__(self, base: Any, class_names: Sequence[str],
                 transform: Callable[[Any], Any] | None = None, *,
                 indices: Sequence[int] | None = None, description: str = "") -> None:
        self.base, self.class_names, self.transform = base, list(class_names), transform
        self.indices = None if indices is None else [int(i) for i in indices]
        self.description = description

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def labels(self) -> list[int]:
        """The label of every item, in order (read from the base's targets, not its images)."""
        targets = getattr(self.base, "targets", None)
        if targets is None:
            targets = getattr(self.base, "labels", None)
        if targets is None:
            targets = [self.base[i][1] for i in range(len(self.base))]
        targets = [int(t) for t in targets]
        return targets if self.indices is None else [targets[i] for i in self.indices]

    def select(self, positions: Sequence[int], description: str) -> CaptionedDataset:
        """The items at ``positions`` (positions in this dataset), as a new dataset."""
        own = self.indices if self.indices is not None else range(len(self.base))
        return CaptionedDataset(self.base, self.class_names, self.transform,
                                indices=[own[int(p)] for p in positions], description=description)

    def __len__(self) -> int:
        return len(self.base) if self.indices is None else len(self.indices)

    def __getitem__(self, i: int) -> dict[str, Any]:
        """``{"image": (3, H, W) tensor (or the transform's output), "label": int,
        "caption": str, "attrs": {"class": str}}``."""
        img, label = self.base[int(i) if self.indices is None else self.indices[int(i)]]
        if self.transform is not None:
            image = self.transform(img)
        elif isinstance(img, torch.Tensor):
            image = img
        else:
            from torchvision.transforms.functional import to_tensor

            image = to_tensor(img.convert("RGB") if hasattr(img, "convert") else img)
        name = self.class_names[int(label)]
        return {"image": image, "label": int(label),
                "caption": f"a photo of a {name.replace('_', ' ')}", "attrs": {"class": name}}

    def render_indices(self, indices: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Load items by index: (images (B, 3, H, W), labels (B,) long). Needs a transform that
        gives every image the same size (e.g. :func:`~semdistill.data.fit_transform`)."""
        items = [self[int(i)] for i in torch.as_tensor(indices).reshape(-1).tolist()]
        return (torch.stack([it["image"] for it in items]),
                torch.tensor([it["label"] for it in items], dtype=torch.long))


def stratified_subset(ds: CaptionedDataset, size: int, seed: int) -> CaptionedDataset:
    """``size`` items of ``ds`` (all when it has fewer) in a seeded stratified order: every
    prefix keeps the class shares within one item (:func:`~semdistill.data.split.stratified_order`).
    The description says how many were drawn, from how many, with which seed."""
    order = stratified_order(ds.labels, seed, size)
    what = (f"all {len(ds)} images" if len(order) == len(ds) else
            f"{len(order)} of {len(ds)} images")
    return ds.select(order, f"{ds.description}; {what} in a seeded stratified order "
                            f"(seed {seed})")


#: name → (torchvision class name, title, the folder that must exist under root)
TORCHVISION_DATASETS: dict[str, tuple[str, str, str]] = {
    "cifar10": ("CIFAR10", "CIFAR-10", "cifar-10-batches-py/"),
    "cifar100": ("CIFAR100", "CIFAR-100", "cifar-100-python/"),
    "stl10": ("STL10", "STL-10", "stl10_binary/"),
}


def _check_split(split: str) -> None:
    if split not in REAL_SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(REAL_SPLITS)}")


def load_torchvision(name: str, root: str | Path, split: str = "train", download: bool = False,
                     transform: Callable[[Any], Any] | None = None) -> CaptionedDataset:
    """CIFAR-10, CIFAR-100 or STL-10 (labelled train or test split) from ``root``.

    Raises:
        DatasetNotFoundError: the files are not under ``root`` and ``download`` is off or fails.
    """
    if name not in TORCHVISION_DATASETS:
        raise KeyError(f"unknown torchvision dataset {name!r}; valid: "
                       f"{', '.join(TORCHVISION_DATASETS)}")
    _check_split(split)
    from torchvision import datasets

    cls_name, title, folder = TORCHVISION_DATASETS[name]
    cls = getattr(datasets, cls_name)
    root = Path(root).expanduser()
    train = split == "train"
    kwargs = {"split": "train" if train else "test"} if name == "stl10" else {"train": train}
    try:
        base = cls(str(root), download=download, **kwargs)
    except (RuntimeError, OSError) as err:
        how = ("run with download=True (needs internet)" if not download
               else f"download failed ({_one_line(err)})")
        raise DatasetNotFoundError(
            f"{title} not found under {root}: {how}, or place {folder} there") from None
    names = list(getattr(base, "classes", []))
    official = "train" if train else "test"
    return CaptionedDataset(base, names, transform,
                            description=f"{title} {official} split under {root}")


def load_cifar10(root: str | Path, split: str = "train", download: bool = False,
                 transform: Callable[[Any], Any] | None = None) -> CaptionedDataset:
    """CIFAR-10 (50,000 train / 10,000 test images, 32×32, 10 classes)."""
    return load_torchvision("cifar10", root, split, download, transform)


def load_cifar100(root: str | Path, split: str = "train", download: bool = False,
                  transform: Callable[[Any], Any] | None = None) -> CaptionedDataset:
    """CIFAR-100 (50,000 train / 10,000 test images, 32×32, 100 fine classes)."""
    return load_torchvision("cifar100", root, split, download, transform)


def load_stl10(root: str | Path, split: str = "train", download: bool = False,
               transform: Callable[[Any], Any] | None = None) -> CaptionedDataset:
    """STL-10 labelled split (5,000 train / 8,000 test images, 96×96, 10 classes)."""
    return load_torchvision("stl10", root, split, download, transform)
