"""Data: the embedded shapes world (the offline default) and loaders for real datasets."""

from semdistill.data.prompts import load_prompts
from semdistill.data.real import (
    CaptionedDataset,
    DatasetNotFoundError,
    load_cifar10,
    load_cifar100,
    load_imagefolder,
    load_stl10,
)
from semdistill.data.registry import DATASETS, get_dataset
from semdistill.data.transforms import build_transform
from semdistill.data.world.attributes import (
    BACKGROUNDS,
    COLORS,
    SHAPES,
    SIZES,
    STYLES,
    Subject,
    WorldAttrs,
)
from semdistill.data.world.captions import caption, parse_caption
from semdistill.data.world.dataset import ShapesWorld, attrs_from_captions, render, task_classes

__all__ = [
    "BACKGROUNDS",
    "DATASETS",
    "COLORS",
    "SHAPES",
    "SIZES",
    "STYLES",
    "CaptionedDataset",
    "DatasetNotFoundError",
    "ShapesWorld",
    "Subject",
    "WorldAttrs",
    "attrs_from_captions",
    "build_transform",
    "caption",
    "get_dataset",
    "load_cifar10",
    "load_cifar100",
    "load_imagefolder",
    "load_prompts",
    "load_stl10",
    "parse_caption",
    "render",
    "task_classes",
]
