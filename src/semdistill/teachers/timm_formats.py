"""timm teachers in timm's own formats, read without unpickling anything.

- a registry name (``resnet18``, ``vit_small_patch16_224.augreg_in1k``) with its published
  weights (``pretrained=True``, the default): ``model.safetensors`` of the name's hub repo,
  from the hub or the local cache, loaded through timm's own head and input adaptation;
- a hub repo id (``hf-hub:ID``) or a folder written by ``timm.models.save_for_hf`` (and
  ``push_to_hub``): ``config.json`` (``architecture``, ``num_classes``, ``model_args``,
  ``pretrained_cfg``) and ``model.safetensors``.

``config.json`` is data, never a pointer: its ``architecture`` must name a timm model and its
``model_args`` may not set ``create_model``'s own weight or file options (``checkpoint_path``,
``pretrained_cfg``, ...), so nothing but the two files is read. A folder or repo whose weights
exist only as a pickle (``pytorch_model.bin``) is refused. Preprocessing (input size, mean, std,
interpolation) comes from the checkpoint's ``pretrained_cfg`` through timm's data config, at
its test-time input size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from semdistill import hub
from semdistill.teachers.base import (
    Preprocess,
    PreprocessConfig,
    Teacher,
    TeacherInfo,
    class_names_or_default,
)
from semdistill.teachers.errors import TeacherNotAvailable

TIMM_CONFIG = "config.json"
SAFE_WEIGHTS = "model.safetensors"
#: pickle weight files that timm can write; refused, never opened
PICKLE_WEIGHTS = ("pytorch_model.bin", "open_clip_pytorch_model.bin")
#: ``timm.create_model``'s own options: a config's ``model_args`` may not set them
FACTORY_ARGS = frozenset({"pretrained", "pretrained_cfg", "pretrained_cfg_overlay",
                          "checkpoint_path", "cache_dir", "scriptable", "exportable", "no_jit",
                          "pretrained_strict", "features_only"})

OFFLINE_HINT = (
    "no network access or weights not cached: run once with internet access (and "
    "HF_HUB_OFFLINE=0), or pass a local copy as 'local:PATH'"
)


def timm_preprocess(model: torch.nn.Module, input_size: int | None) -> PreprocessConfig:
    """The model's timm data config (test-time input size) as a :class:`PreprocessConfig`;
    ``input_size`` overrides the size."""
    import timm.data

    cfg = timm.data.resolve_model_data_config(model, use_test_size=True)
    size = int(input_size or cfg["input_size"][-1])
    interp = cfg.get("interpolation", "bilinear")
    if interp not in ("bilinear", "bicubic", "nearest"):
        interp = "bilinear"
    return PreprocessConfig(size, tuple(cfg["mean"]), tuple(cfg["std"]), interp)


def _teacher(model: torch.nn.Module, spec: str, input_size: int | None,
             class_names: Sequence[str] | None, extra: dict[str, Any]) -> Teacher:
    model.pretrained_cfg.pop("state_dict", None)  # the weights live in the model, not twice
    n = int(model.num_classes)
    names = class_names or model.pretrained_cfg.get("label_names")
    info = TeacherInfo(spec, n, class_names_or_default(names if names and len(names) == n
                                                       else None, n),
                       source="timm", extra=extra)
    return Teacher(model, Preprocess(timm_preprocess(model, input_size)), info)


def read_safetensors(path: Path, spec: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for a bad header
        raise TeacherNotAvailable(f"{spec}: {path} is not a readable safetensors file "
                                  f"({' '.join(str(err).split())})") from None


def _unavailable(spec: str, repo_id: str) -> TeacherNotAvailable:
    if hub.offline():
        return TeacherNotAvailable(f"{spec}: {repo_id} is not in the local cache and "
                                   f"HF_HUB_OFFLINE=1; {OFFLINE_HINT}")
    return TeacherNotAvailable(f"{spec}: {hub.unreachable_message('hub repo', repo_id)}")


def hub_file(repo_id: str, filename: str, spec: str) -> Path:
    """``filename`` of hub model repo ``repo_id``, downloaded or from the local cache (cache
    only when :func:`semdistill.hub.local_only`). One line when it cannot be had."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RemoteEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, filename, local_files_only=hub.local_only()))
    except LocalEntryNotFoundError:
        raise _unavailable(spec, repo_id) from None
    except RemoteEntryNotFoundError:
        pickle = " (its pickle weights are not loaded)" if filename == SAFE_WEIGHTS else ""
        raise TeacherNotAvailable(f"{spec}: hub repo {repo_id} has no {filename}{pickle}"
                                  ) from None
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise TeacherNotAvailable(f"{spec}: cannot get {filename} from {repo_id} ({first})"
                                  ) from None


def load_timm_name(name: str, *, spec: str, num_classes: int | None, pretrained: bool,
                   input_size: int | None, class_names: Sequence[str] | None,
                   model_kwargs: dict[str, Any]) -> Teacher:
    """A timm registry name; ``pretrained`` loads its published ``model.safetensors`` (a new,
    randomly initialised head when ``num_classes`` differs from the weights')."""
    import timm

    if not timm.is_model(name):
        raise TeacherNotAvailable(f"timm has no model {name!r} (see timm.list_models())")
    kw = dict(model_kwargs) | ({} if num_classes is None else {"num_classes": num_classes})
    extra: dict[str, Any] = {"arch": name, "pretrained": pretrained}
    if pretrained:
        pcfg = timm.models.get_pretrained_cfg(name)
        repo = getattr(pcfg, "hf_hub_id", None)
        if not repo or getattr(pcfg, "custom_load", False):
            raise TeacherNotAvailable(f"{spec}: timm publishes no safetensors weights for {name} "
                                      "on the hub; pass pretrained=False or a local:PATH copy")
        fname = pcfg.hf_hub_filename or SAFE_WEIGHTS
        fname = fname if fname.endswith(".safetensors") else SAFE_WEIGHTS
        try:
            state = read_safetensors(hub_file(repo, fname, spec), spec)
        except TeacherNotAvailable as err:
            raise TeacherNotAvailable(f"{err}; pretrained=False (teacher.pretrained: false) "
                                      "builds it with random weights") from None
        kw["pretrained_cfg_overlay"] = {"state_dict": state}
        extra |= {"weights": f"hf-hub:{repo}", "new_head": num_classes not in
                  (None, pcfg.num_classes)}
    try:
        model = timm.create_model(name, pretrained=pretrained, **kw)
    except (RuntimeError, TypeError, ValueError, KeyError) as err:
        what = "the published weights do not fit" if pretrained else "cannot build"
        raise TeacherNotAvailable(f"{spec}: {what} {name} "
                                  f"({' '.join(str(err).split())[:300]})") from None
    return _teacher(model, spec, input_size, class_names, extra)


def check_architecture(arch: Any, where: str) -> str:
    """``arch`` if it is a plain timm registry name (no ``hf-hub:``/``local-dir:`` source, no
    path), else :class:`TeacherNotAvailable` prefixed with ``where``."""
    import timm

    if not isinstance(arch, str) or ":" in arch or "/" in arch or not timm.is_model(arch):
        raise TeacherNotAvailable(f"{where}: architecture {arch!r} is not a timm model")
    return arch


def check_model_args(args: Any, where: str) -> dict[str, Any]:
    """``args`` if it is a mapping that sets none of ``create_model``'s own file and weight
    options (:data:`FACTORY_ARGS`), else :class:`TeacherNotAvailable` prefixed with ``where``."""
    if not isinstance(args, dict):
        raise TeacherNotAvailable(f"{where}: model arguments must be an object")
    if bad := sorted(FACTORY_ARGS & set(args)):
        raise TeacherNotAvailable(f"{where}: model arguments may not set {', '.join(bad)} "
                                  "(only the folder's own weights are read)")
    return args


def read_timm_config(path: Path, spec: str) -> dict[str, Any]:
    """``config.json`` of a timm export, checked: a JSON object naming a timm ``architecture``,
    an int ``num_classes``, a ``model_args`` object without factory options."""
    try:
        cfg = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TeacherNotAvailable(f"{spec}: {path} is not a JSON file ({err})") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("architecture"), str):
        raise TeacherNotAvailable(f"{spec}: {path} names no timm 'architecture'")
    check_architecture(cfg["architecture"], f"{spec}: {path}")
    args = check_model_args(cfg.get("model_args", {}), f"{spec}: {path}")
    if not isinstance(cfg.get("pretrained_cfg", {}), dict):
        raise TeacherNotAvailable(f"{spec}: {path}: pretrained_cfg must be an object")
    n = cfg.get("num_classes", args.get("num_classes"))
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise TeacherNotAvailable(f"{spec}: {path}: num_classes must be an int >= 0, got {n!r}")
    return cfg | {"num_classes": n, "model_args": args}


def is_timm_export(cfg: Any) -> bool:
    """Whether a parsed ``config.json`` is a timm export (it names an ``architecture``)."""
    return isinstance(cfg, dict) and "architecture" in cfg


def load_timm_export(folder: Path, *, spec: str, where: str, num_classes: int | None = None,
                     pretrained: bool = True, input_size: int | None = None,
                     class_names: Sequence[str] | None = None, **_: Any) -> Teacher:
    """The model in ``folder`` (``config.json`` + ``model.safetensors``, as ``save_for_hf``
    writes them); ``where`` names its origin (the folder or ``hf-hub:ID``) in the teacher's
    provenance. Its own head is kept: a different ``num_classes`` is an error."""
    import timm

    cfg = read_timm_config(folder / TIMM_CONFIG, spec)
    if num_classes is not None and num_classes != cfg["num_classes"]:
        raise TeacherNotAvailable(f"{spec}: the checkpoint has {cfg['num_classes']} classes, "
                                  f"{num_classes} were asked for")
    weights = folder / SAFE_WEIGHTS
    if pretrained and not weights.is_file():
        pickles = [p for p in PICKLE_WEIGHTS if (folder / p).is_file()]
        why = f" (only {', '.join(pickles)}: pickle files are not loaded)" if pickles else ""
        raise TeacherNotAvailable(f"{spec}: {folder} has no {SAFE_WEIGHTS}{why}; save it with "
                                  "timm.models.save_for_hf(model, path, safe_serialization=True)")
    args = cfg["model_args"] | {"num_classes": cfg["num_classes"]}
    pcfg = dict(cfg.get("pretrained_cfg", {})) | {"architecture": cfg["architecture"]}
    try:
        model = timm.create_model(cfg["architecture"], pretrained=False, pretrained_cfg=pcfg,
                                  **args)
        if pretrained:
            model.load_state_dict(read_safetensors(weights, spec))
    except (RuntimeError, TypeError, ValueError, KeyError) as err:
        raise TeacherNotAvailable(f"{spec}: {folder} does not build {cfg['architecture']} "
                                  f"({' '.join(str(err).split())[:300]})") from None
    extra = {"arch": cfg["architecture"], "pretrained": pretrained, "weights": where,
             "model_kwargs": cfg["model_args"]}
    return _teacher(model, spec, input_size, class_names, extra)


def load_timm_hub(repo_id: str, *, spec: str, pretrained: bool = True, **kwargs: Any) -> Teacher:
    """``hf-hub:ID``: the repo's ``config.json`` and ``model.safetensors`` (hub or cache)."""
    config = hub_file(repo_id, TIMM_CONFIG, spec)
    if pretrained:
        hub_file(repo_id, SAFE_WEIGHTS, spec)
    return load_timm_export(config.parent, spec=spec, where=f"hf-hub:{repo_id}",
                            pretrained=pretrained, **kwargs)
