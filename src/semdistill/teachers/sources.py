"""Teacher sources: ``timm:NAME``, ``hf:ID`` (CLIP) and ``local:PATH``, behind one registry.

    teacher = load_teacher("timm:resnet18", num_classes=10)        # published weights, new head
    teacher = load_teacher("timm:hf-hub:me/my-cifar-vit")           # a timm repo on the hub
    teacher = load_teacher("hf:openai/clip-vit-base-patch32", class_names=names)   # zero-shot
    teacher = load_teacher("local:runs/teachers/shapes-resnet18")                 # any folder

``local:PATH`` is recognised by its files: ``teacher.json`` (what ``semdistill
pretrain-teacher`` writes: timm architecture, classes, preprocessing, provenance, with
``model.safetensors``); ``config.json`` naming an ``architecture`` (a folder saved by timm's
``save_for_hf``, see :mod:`semdistill.teachers.timm_formats`); ``config.json`` of a Hugging
Face CLIP model (``model_type: clip``). Anything else is refused in one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from semdistill import hub
from semdistill.registry import Registry
from semdistill.teachers.base import (
    Preprocess,
    PreprocessConfig,
    Teacher,
    TeacherInfo,
)
from semdistill.teachers.errors import TeacherNotAvailable
from semdistill.teachers.timm_formats import (
    OFFLINE_HINT,
    PICKLE_WEIGHTS,
    TIMM_CONFIG,
    check_architecture,
    check_model_args,
    is_timm_export,
    load_timm_export,
    load_timm_hub,
    load_timm_name,
    read_safetensors,
)
from semdistill.utils.io import save_tensors

TEACHER_JSON = "teacher.json"
WEIGHTS = "model.safetensors"
LOCAL_FORMAT = "semdistill.teacher/1"

Loader = Callable[..., Teacher]
TEACHER_SOURCES: Registry[Loader] = Registry("teacher source")


def load_teacher(spec: str, **kwargs: Any) -> Teacher:
    """Load a teacher from ``"timm:NAME"`` (also ``timm:hf-hub:ID``, ``timm:local-dir:PATH``),
    ``"hf:ID"`` (CLIP) or ``"local:PATH"`` (any supported folder, recognised by its files).

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
@TEACHER_SOURCES.register("timm")
def load_timm(
    name: str,
    *,
    spec: str,
    num_classes: int | None = None,
    pretrained: bool = True,
    input_size: int | None = None,
    class_names: Sequence[str] | None = None,
    **model_kwargs: Any,
) -> Teacher:
    """``NAME`` (a timm registry name), ``hf-hub:ID`` or ``local-dir:PATH`` (timm's own
    sources). ``pretrained=True`` (the default, as in configs) loads the published weights
    from the hub or the local cache and fails in one line without them; ``pretrained=False``
    builds the architecture with random weights."""
    kw = {"num_classes": num_classes, "pretrained": pretrained, "input_size": input_size,
          "class_names": class_names}
    kind, sep, ref = name.partition(":")
    if sep and kind in ("hf-hub", "local-dir"):
        if model_kwargs:
            raise TeacherNotAvailable(f"{spec}: the architecture comes from the checkpoint's "
                                      f"config.json; {', '.join(model_kwargs)} cannot be set")
        if kind == "hf-hub":
            return load_timm_hub(ref, spec=spec, **kw)
        return load_timm_export(Path(ref).expanduser(), spec=spec, where=ref, **kw)
    return load_timm_name(name, spec=spec, model_kwargs=model_kwargs, **kw)


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

    offline = hub.local_only()
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
    """A folder, by its files: ``teacher.json`` (ours), a timm export, a saved HF CLIP model."""
    path = Path(name).expanduser()
    if not path.is_dir():
        raise TeacherNotAvailable(f"{spec}: no such folder {path}")
    if (path / TEACHER_JSON).is_file():
        return _load_timm_dir(path, spec)
    config = path / TIMM_CONFIG
    if config.is_file():
        try:
            cfg = json.loads(config.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise TeacherNotAvailable(f"{spec}: {config} is not a JSON file ({err})") from None
        if is_timm_export(cfg):
            return load_timm_export(path, spec=spec, where=str(path), **kwargs)
        if isinstance(cfg, dict) and cfg.get("model_type") == "clip":
            return load_hf(str(path), spec=spec, **kwargs)
    pickles = [p for p in PICKLE_WEIGHTS if (path / p).is_file()]
    found = f" (found {', '.join(pickles)}: pickle files are not loaded)" if pickles else ""
    raise TeacherNotAvailable(
        f"{spec}: {path} holds no {TEACHER_JSON} (semdistill teacher), no timm config.json "
        f"('architecture') and no CLIP config.json (model_type 'clip'){found}")


def _load_timm_dir(path: Path, spec: str) -> Teacher:
    import timm

    try:
        meta = json.loads((path / TEACHER_JSON).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise TeacherNotAvailable(f"{path / TEACHER_JSON}: unreadable ({err})") from None
    where = str(path / TEACHER_JSON)
    if not isinstance(meta, dict) or meta.get("format") != LOCAL_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise TeacherNotAvailable(f"{where}: format {found!r}, expected {LOCAL_FORMAT!r}")
    arch = check_architecture(meta.get("arch"), where)
    kwargs = check_model_args(meta.get("model_kwargs", {}), where)
    try:
        model = timm.create_model(arch, pretrained=False, num_classes=int(meta["num_classes"]),
                                  **kwargs)
        pre = PreprocessConfig.from_dict(meta["preprocess"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise TeacherNotAvailable(f"{where}: incomplete or invalid ({type(err).__name__}: "
                                  f"{' '.join(str(err).split())[:200]})") from None
    state = read_safetensors(path / WEIGHTS, spec)
    ref = model.state_dict()
    try:
        model.load_state_dict({k: v.to(ref[k].dtype) for k, v in state.items()})
    except (KeyError, RuntimeError) as err:
        raise TeacherNotAvailable(f"{path / WEIGHTS}: does not fit {arch} "
                                  f"({' '.join(str(err).split())[:300]})") from None
    info = TeacherInfo(spec, int(meta["num_classes"]), list(meta.get("class_names", [])),
                       source="local", extra={k: v for k, v in meta.items() if k != "format"})
    return Teacher(model, Preprocess(pre), info)


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
