"""Teacher sources: ``timm:NAME``, ``hf:ID`` (CLIP) and ``local:PATH``, behind one registry.

    teacher = load_teacher("timm:resnet18", num_classes=10, pretrained=False)
    teacher = load_teacher("hf:openai/clip-vit-base-patch32", class_names=names)   # zero-shot
    teacher = load_teacher("local:runs/teachers/shapes-resnet18")                 # our format

A *local teacher directory* (what ``semdistill pretrain-teacher`` writes) holds ``teacher.json``
(timm architecture, classes, preprocessing, provenance) and ``model.safetensors``. A local
directory that holds a Hugging Face CLIP model (``config.json``) loads through the CLIP source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from semdistill import hub
from semdistill.registry import Registry
from semdistill.teachers.base import (
    Preprocess,
    PreprocessConfig,
    Teacher,
    TeacherInfo,
    class_names_or_default,
)
from semdistill.teachers.errors import TeacherNotAvailable
from semdistill.utils.io import save_tensors

TEACHER_JSON = "teacher.json"
WEIGHTS = "model.safetensors"
LOCAL_FORMAT = "semdistill.teacher/1"

Loader = Callable[..., Teacher]
TEACHER_SOURCES: Registry[Loader] = Registry("teacher source")

OFFLINE_HINT = (
    "no network access or weights not cached: run once with internet access (and "
    "HF_HUB_OFFLINE=0), or pass a local copy as 'local:PATH'"
)


def load_teacher(spec: str, **kwargs: Any) -> Teacher:
    """Load a teacher from ``"timm:NAME"``, ``"hf:ID"`` or ``"local:PATH"``.

    Keyword arguments go to the source (``num_classes``, ``pretrained``, ``class_names``,
    ``input_size``, ``head``...). Raises :class:`TeacherNotAvailable` with a fix-it message.
    """
    source, sep, name = spec.partition(":")
    if not sep or not name:
        raise TeacherNotAvailable(
            f"teacher spec {spec!r} must look like 'timm:NAME', 'hf:ID' or 'local:PATH'"
        )
    try:
        loader = TEACHER_SOURCES.get(source)
    except KeyError as err:
        raise TeacherNotAvailable(str(err.args[0])) from None
    return loader(name, spec=spec, **kwargs)


# ---- timm --------------------------------------------------------------------------------------
def _timm_preprocess(model: torch.nn.Module, input_size: int | None) -> PreprocessConfig:
    import timm.data

    cfg = timm.data.resolve_data_config({}, model=model)
    size = int(input_size or cfg["input_size"][-1])
    interp = cfg.get("interpolation", "bilinear")
    if interp not in ("bilinear", "bicubic", "nearest"):
        interp = "bilinear"
    return PreprocessConfig(size, tuple(cfg["mean"]), tuple(cfg["std"]), interp)


@TEACHER_SOURCES.register("timm")
def load_timm(
    name: str,
    *,
    spec: str,
    num_classes: int | None = None,
    pretrained: bool = False,
    input_size: int | None = None,
    class_names: Sequence[str] | None = None,
    **model_kwargs: Any,
) -> Teacher:
    """A timm architecture by name; ``pretrained=True`` needs its weights (hub or cache)."""
    import timm

    if name not in timm.list_models() and not timm.is_model(name):
        raise TeacherNotAvailable(f"timm has no model {name!r} (see timm.list_models())")
    kw = dict(model_kwargs)
    if num_classes is not None:
        kw["num_classes"] = num_classes
    try:
        model = timm.create_model(name, pretrained=pretrained, **kw)
    except (OSError, RuntimeError, ValueError) as err:
        if pretrained:
            raise TeacherNotAvailable(
                f"timm:{name}: pretrained weights unavailable ({type(err).__name__}); {OFFLINE_HINT}"
            ) from None
        raise
    n = int(getattr(model, "num_classes", num_classes or 0))
    info = TeacherInfo(spec, n, class_names_or_default(class_names, n), source="timm",
                       extra={"arch": name, "pretrained": pretrained})
    return Teacher(model, Preprocess(_timm_preprocess(model, input_size)), info)


# ---- Hugging Face CLIP ---------------------------------------------------------------------------
@TEACHER_SOURCES.register("hf")
def load_hf(
    name: str,
    *,
    spec: str,
    class_names: Sequence[str] | None = None,
    head: str = "zeroshot",
    prompt: str = "a photo of a {}.",
    **_: Any,
) -> Teacher:
    """A Hugging Face CLIP model by hub id (``openai/clip-vit-base-patch32``) or saved folder.

    ``head="zeroshot"`` builds class logits from text prompts (needs ``class_names``);
    ``head="linear"`` starts with the zero-shot head, to be refined with
    :func:`semdistill.teachers.clip.fit_linear_probe`.
    """
    from semdistill.teachers.clip import build_clip_teacher

    offline = hub.offline()
    local = Path(name).is_dir()
    try:
        from transformers import AutoTokenizer, CLIPModel

        model = CLIPModel.from_pretrained(name, local_files_only=offline or local)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=offline or local)
        image_cfg = _clip_image_config(name, model, offline or local)
    except (OSError, ValueError) as err:
        if local:
            raise TeacherNotAvailable(f"{spec}: not a loadable CLIP folder ({err})") from None
        raise TeacherNotAvailable(f"{spec}: {OFFLINE_HINT}") from None
    if not class_names:
        raise TeacherNotAvailable(f"{spec}: a CLIP teacher needs class_names for its class head")
    return build_clip_teacher(model, tokenizer, image_cfg, list(class_names), spec=spec,
                              head=head, prompt=prompt)


def _clip_image_config(name: str, model: Any, local_only: bool) -> PreprocessConfig:
    """The checkpoint's image processor settings; CLIP's published mean/std (transformers'
    constants) when the checkpoint has no ``preprocessor_config.json``."""
    from transformers import CLIPImageProcessor
    from transformers.utils.constants import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

    size = int(model.config.vision_config.image_size)
    try:
        proc = CLIPImageProcessor.from_pretrained(name, local_files_only=local_only)
    except (OSError, ValueError):
        return PreprocessConfig(size, tuple(OPENAI_CLIP_MEAN), tuple(OPENAI_CLIP_STD), "bicubic")
    return PreprocessConfig(size, tuple(proc.image_mean), tuple(proc.image_std), "bicubic")


# ---- local directories ------------------------------------------------------------------------
@TEACHER_SOURCES.register("local")
def load_local(name: str, *, spec: str, **kwargs: Any) -> Teacher:
    """A folder written by :func:`save_teacher` (``teacher.json``) or a saved HF CLIP folder."""
    path = Path(name).expanduser()
    if not path.exists():
        raise TeacherNotAvailable(f"{spec}: no such folder {path}")
    if (path / TEACHER_JSON).is_file():
        return _load_timm_dir(path, spec)
    if (path / "config.json").is_file():
        return load_hf(str(path), spec=spec, **kwargs)
    raise TeacherNotAvailable(
        f"{spec}: {path} has neither {TEACHER_JSON} (semdistill teacher) nor config.json (CLIP)"
    )


def _load_timm_dir(path: Path, spec: str) -> Teacher:
    import timm

    try:
        meta = json.loads((path / TEACHER_JSON).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise TeacherNotAvailable(f"{path / TEACHER_JSON}: unreadable ({err})") from None
    if meta.get("format") != LOCAL_FORMAT:
        raise TeacherNotAvailable(
            f"{path / TEACHER_JSON}: format {meta.get('format')!r}, expected {LOCAL_FORMAT!r}"
        )
    model = timm.create_model(meta["arch"], pretrained=False, num_classes=meta["num_classes"],
                              **meta.get("model_kwargs", {}))
    try:
        state = load_file(str(path / WEIGHTS))
    except (OSError, Exception) as err:  # safetensors raises its own error types
        raise TeacherNotAvailable(f"{path / WEIGHTS}: unreadable weights ({err})") from None
    ref = model.state_dict()
    try:
        model.load_state_dict({k: v.to(ref[k].dtype) for k, v in state.items()})
    except (KeyError, RuntimeError) as err:
        raise TeacherNotAvailable(f"{path / WEIGHTS}: does not fit {meta['arch']} ({err})") from None
    info = TeacherInfo(spec, int(meta["num_classes"]), list(meta.get("class_names", [])),
                       source="local", extra={k: v for k, v in meta.items() if k != "format"})
    return Teacher(model, Preprocess(PreprocessConfig.from_dict(meta["preprocess"])), info)


def save_teacher(teacher: Teacher, path: str | Path, *, half: bool = False,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write a timm-based teacher as a local teacher folder (``teacher.json`` + safetensors).

    ``half=True`` stores floating-point weights as fp16 (halves the size; loading upcasts).
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    arch = teacher.info.extra.get("arch")
    if not arch:
        raise ValueError("save_teacher writes timm-based teachers only")
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous().cpu()
             for k, v in teacher.model.state_dict().items()}
    save_tensors(state, str(path / WEIGHTS))
    meta = {
        "format": LOCAL_FORMAT,
        "arch": arch,
        "num_classes": teacher.num_classes,
        "class_names": teacher.info.class_names,
        "preprocess": teacher.preprocess.cfg.to_dict(),
        "weights_dtype": "float16" if half else "float32",
        **(extra or {}),
    }
    (path / TEACHER_JSON).write_text(json.dumps(meta, indent=2) + "\n")
    return path
