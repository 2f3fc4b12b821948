"""A typed dataset section (``DatasetSpec``) shared by teacher pre-training and the LTSC system.

It resolves to an indexed dataset (``render_indices``) through :mod:`semdistill.data` and
gives the identity dict that knowledge-store manifests record.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from semdistill.config import StrictModel
from semdistill.data.registry import get_dataset
from semdistill.data.views import IndexedImages, Subset, as_indexed
from semdistill.data.world.dataset import ShapesWorld, task_classes

#: class counts of the torchvision datasets (an ImageFolder's depends on its folders)
REAL_NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "stl10": 10}


class DatasetSpec(StrictModel):
    """Which images: the embedded shapes world (default) or a real dataset folder."""

    name: Literal["shapes", "cifar10", "cifar100", "stl10", "imagefolder"] = "shapes"
    root: str | None = Field(None, description="dataset folder (real datasets only)")
    image_size: int = Field(32, ge=8, description="px (shapes world)")
    task: str = Field("shape", description="shapes label: shape, shape_color or an attribute")
    styles: list[str] = Field(default_factory=lambda: ["flat"])
    seed: int = Field(0, ge=0, description="shapes world seed")
    train_size: int = Field(4096, ge=1, description="samples (shapes: rendered; real: first N)")
    test_size: int = Field(1000, ge=1)

    def identity(self, split: str) -> dict[str, Any]:
        """What a store manifest records about the data (size is added by the store)."""
        d: dict[str, Any] = {"name": self.name, "split": split}
        if self.name == "shapes":
            d |= {"image_size": self.image_size, "task": self.task, "styles": list(self.styles),
                  "seed": self.seed}
        else:
            d["root"] = self.root
        return d

    @property
    def num_classes(self) -> int | None:
        """Classes of the task, known before any data is read (None for an ImageFolder tree)."""
        if self.name == "shapes":
            return len(task_classes(self.task))
        return REAL_NUM_CLASSES.get(self.name)

    def build(self, split: Literal["train", "test"]) -> IndexedImages:
        """The indexed dataset of ``split`` (``train_size`` or ``test_size`` samples)."""
        size = self.train_size if split == "train" else self.test_size
        if self.name == "shapes":
            return ShapesWorld(split=split, size=size, image_size=self.image_size, seed=self.seed,
                               task=self.task, styles=tuple(self.styles))

        ds = as_indexed(get_dataset(self.name, root=self.root, split=split, download=False))
        return Subset(ds, min(size, len(ds)))


def class_names(ds: Any) -> list[str]:
    names = getattr(ds, "class_names", None) or getattr(getattr(ds, "base", None), "class_names",
                                                        None)
    return list(names) if names else [f"class {i}" for i in range(ds.num_classes)]
