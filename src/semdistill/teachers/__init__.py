"""Teachers and pre-stored teacher knowledge.

- :func:`load_teacher` (``"timm:NAME"``, ``"hf:ID"`` CLIP zero-shot/linear probe, ``"local:PATH"``)
  returns a frozen :class:`Teacher`: images in [0, 1] → class logits, preprocessing included.
- :func:`resolve_teacher` gives the offline default: a timm network trained on the shapes world
  (shipped asset → user cache → :func:`pretrain_teacher`).
- :class:`KnowledgeStore`: the teacher's top-K probabilities per (sample, augmentation seed),
  chunked, checksummed and verified on open.
"""

from semdistill.teachers.base import Preprocess, PreprocessConfig, Teacher, TeacherInfo
from semdistill.teachers.clip import fit_linear_probe
from semdistill.teachers.errors import StoreCorrupt, StoreError, StoreMismatch, TeacherNotAvailable
from semdistill.teachers.pretrain import (
    TeacherPretrainConfig,
    cache_root,
    evaluate_teacher,
    find_teacher,
    pretrain_teacher,
    resolve_teacher,
)
from semdistill.teachers.sources import TEACHER_SOURCES, load_teacher, save_teacher
from semdistill.teachers.store import KnowledgeStore, StoreHeader, dense_soft_labels

__all__ = [
    "TEACHER_SOURCES",
    "KnowledgeStore",
    "Preprocess",
    "PreprocessConfig",
    "StoreCorrupt",
    "StoreError",
    "StoreHeader",
    "StoreMismatch",
    "Teacher",
    "TeacherInfo",
    "TeacherNotAvailable",
    "TeacherPretrainConfig",
    "cache_root",
    "dense_soft_labels",
    "evaluate_teacher",
    "find_teacher",
    "fit_linear_probe",
    "load_teacher",
    "pretrain_teacher",
    "resolve_teacher",
    "save_teacher",
]
