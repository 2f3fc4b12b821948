"""Data: the embedded shapes world (the offline default) and loaders for real datasets."""

from semdistill.data.imagefolder import load_imagefolder
from semdistill.data.prompts import load_prompts
from semdistill.data.real import (
    CaptionedDataset,
    DatasetInvalid,
    DatasetNotFoundError,
    load_cifar10,
    load_cifar100,
    load_stl10,
    stratified_subset,
)
from semdistill.data.registry import DATASETS, get_dataset
from semdistill.data.spec import DatasetSpec
from semdistill.data.split import holdout_split, stratified_order
from semdistill.data.transforms import build_transform, fit_transform
from semdistill.data.views import (
    UNLABELLED,
    IndexedImages,
    SeededAugment,
    Subset,
    as_indexed,
    view_seeds,
)
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
from semdistill.data.world.samples import (
    WorldSample,
    attrs_for_prompts,
    caption_words,
    make_subject,
    render_world,
    subject_prompts,
)

__all__ = [
    "BACKGROUNDS",
    "COLORS",
    "DATASETS",
    "SHAPES",
    "SIZES",
    "STYLES",
    "CaptionedDataset",
    "DatasetInvalid",
    "DatasetNotFoundError",
    "DatasetSpec",
    "IndexedImages",
    "SeededAugment",
    "ShapesWorld",
    "Subject",
    "Subset",
    "UNLABELLED",
    "WorldAttrs",
    "WorldSample",
    "as_indexed",
    "attrs_for_prompts",
    "attrs_from_captions",
    "build_transform",
    "caption",
    "caption_words",
    "fit_transform",
    "get_dataset",
    "holdout_split",
    "load_cifar10",
    "load_cifar100",
    "load_imagefolder",
    "load_prompts",
    "load_stl10",
    "make_subject",
    "parse_caption",
    "render",
    "render_world",
    "stratified_order",
    "stratified_subset",
    "subject_prompts",
    "task_classes",
    "view_seeds",
]
