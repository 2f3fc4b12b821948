"""A typed dataset section (``DatasetSpec``) shared by teacher pre-training and the LTSC system.

It resolves to an indexed dataset (``render_indices``) through :mod:`semdistill.data` and
gives the identity dict that knowledge-store manifests record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from semdistill.config import StrictModel
from semdistill.data.real import stratified_subset
from semdistill.data.registry import get_dataset
from semdistill.data.transforms import fit_transform
from semdistill.data.views import IndexedImages
from semdistill.data.world.dataset import ShapesWorld, task_classes
from semdistill.utils.seeds import derive_seed

#: class counts of the torchvision datasets (an ImageFolder's depends on its folders)
REAL_NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "stl10": 10}
#: derived-seed offsets (``derive_seed(seed, offset)``) of the real-data draws
HOLDOUT_OFFSET, SUBSET_OFFSET = 31, {"train": 32, "test": 33}
#: how real images are drawn; recorded in store manifests, so a store made under another rule
#: (before version 2, the first N images in folder order) is never reused
REAL_SAMPLING = "stratified/2"


class DatasetSpec(StrictModel):
    """Which images: the embedded shapes world (default) or a real dataset folder."""

    name: Literal["shapes", "cifar10", "cifar100", "stl10", "imagefolder"] = "shapes"
    root: str | None = Field(None, description="dataset folder (real datasets only)")
    image_size: int = Field(32, ge=8, description="px: shapes are rendered at it, real images "
                            "resized (shorter side) and centre-cropped to it")
    task: str = Field("shape", description="shapes label: shape, shape_color or an attribute")
    styles: list[str] = Field(default_factory=lambda: ["flat"])
    seed: int = Field(0, ge=0, description="shapes world seed; real data: seed of the stratified "
                      "subsets and of an ImageFolder's held-out test split")
    train_size: int = Field(4096, ge=1, description="samples (shapes: rendered; real: a seeded "
                            "stratified subset, all when the split has fewer)")
    test_size: int = Field(1000, ge=1, description="samples, drawn like train_size")

    @model_validator(mode="after")
    def _real_needs_root(self) -> DatasetSpec:
        if self.name != "shapes" and not self.root:
            raise ValueError(f"data.name={self.name} needs data.root (the folder that holds it)")
        return self

    def identity(self, split: str) -> dict[str, Any]:
        """What a store manifest records about the data (size is added by the store)."""
        d: dict[str, Any] = {"name": self.name, "split": split}
        if self.name == "shapes":
            d |= {"image_size": self.image_size, "task": self.task, "styles": list(self.styles),
                  "seed": self.seed}
        else:
            d |= {"root": self.root, "image_size": self.image_size, "seed": self.seed,
                  "sampling": REAL_SAMPLING}
        return d

    @property
    def num_classes(self) -> int | None:
        """Classes of the task, known before any data is read (None for an ImageFolder tree)."""
        if self.name == "shapes":
            return len(task_classes(self.task))
        return REAL_NUM_CLASSES.get(self.name)

    def build(self, split: Literal["train", "test"]) -> IndexedImages:
        """The indexed dataset of ``split`` (``train_size`` or ``test_size`` samples).

        Real data: images resized to ``image_size`` (:func:`~semdistill.data.fit_transform`),
        ``size`` of them in a seeded stratified order; an ImageFolder without a test folder
        holds a seeded stratified part of every class out as its test split. The dataset's
        ``description`` states all of this.
        """
        size = self.train_size if split == "train" else self.test_size
        if self.name == "shapes":
            return ShapesWorld(split=split, size=size, image_size=self.image_size, seed=self.seed,
                               task=self.task, styles=tuple(self.styles))
        extra = {"seed": derive_seed(self.seed, HOLDOUT_OFFSET)} if self.name == "imagefolder" \
            else {}
        ds = get_dataset(self.name, root=self.root, split=split, download=False,
                         transform=fit_transform(self.image_size), **extra)
        out = stratified_subset(ds, size, derive_seed(self.seed, SUBSET_OFFSET[split]))
        out.description += (f"; resized to {self.image_size} px (shorter side, centre crop); "
                            f"seeds derived from data.seed={self.seed}")
        return out


def class_names(ds: Any) -> list[str]:
    names = getattr(ds, "class_names", None) or getattr(getattr(ds, "base", None), "class_names",
                                                        None)
    return list(names) if names else [f"class {i}" for i in range(ds.num_classes)]
