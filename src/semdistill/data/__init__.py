"""Data: the embedded shapes world (the offline default) and loaders for real datasets."""

from semdistill.data.prompts import load_prompts
from semdistill.data.real import CaptionedDataset, DatasetNotFoundError
from semdistill.data.registry import get_dataset
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
    "load_prompts",
    "parse_caption",
    "render",
    "task_classes",
]
