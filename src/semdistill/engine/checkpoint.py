"""Atomic, checksummed checkpoints.

A checkpoint is a folder ``<root>/step-00000100/`` holding

- ``weights.safetensors``: every module's state dict, keys prefixed ``<module>.``;
- ``state.json`` + ``state.safetensors``: optimizer, scheduler, RNG states, step and user extras,
  split by :mod:`semdistill.engine.state_codec` into a JSON skeleton and its tensors;
- ``manifest.json``: step, fingerprint of what produced it, SHA-256 of every file.

Nothing in a checkpoint is unpickled: loading one runs no code, whoever wrote it. It is written
into a temporary sibling folder and renamed into place, so a killed process leaves either the old
or the new checkpoint, never a torn one. ``<root>/latest`` names the newest. Loading verifies every
checksum and the fingerprint, and names the file and the mismatch.

Checkpoints of format 1 (``state.pt``, a pickle) are migrated in place on first load, with a
one-line notice: ``state.pt`` is read with ``torch.load(weights_only=True)`` and only NumPy's
array globals allowed (the NumPy RNG state), so a crafted pickle is refused, never run.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from semdistill import __version__
from semdistill.engine import state_codec
from semdistill.errors import UserError
from semdistill.utils.io import (
    atomic_write_json,
    atomic_write_text,
    make_temp_dir,
    save_tensors,
    sha256_file,
)

WEIGHTS = "weights.safetensors"
STATE_JSON = "state.json"
STATE_TENSORS = "state.safetensors"
MANIFEST = "manifest.json"
FORMAT = "semdistill.checkpoint/2"
#: format 1 kept the training state in a pickle; migrated on first load (module docstring)
FORMAT_V1, STATE_V1 = "semdistill.checkpoint/1", "state.pt"
log = logging.getLogger(__name__)


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, torn, corrupted or was made by something else."""


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    step: int
    extra: dict[str, Any]


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _unwrap(module: nn.Module) -> nn.Module:
    return getattr(module, "module", module)


def save_checkpoint(
    root: str | Path,
    step: int,
    modules: dict[str, nn.Module],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    extra: dict[str, Any] | None = None,
    fingerprint: str = "",
    keep: int = 2,
    name: str | None = None,
) -> Path:
    """Write a checkpoint atomically under ``root`` and point ``root/latest`` at it."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / (name or f"step-{step:08d}")
    tensors: dict[str, torch.Tensor] = {}
    for mname, module in modules.items():
        for key, value in _unwrap(module).state_dict().items():
            tensors[f"{mname}.{key}"] = value.detach().to("cpu").contiguous().clone()
    for key, value in tensors.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            good = latest_checkpoint(root)
            raise CheckpointError(f"refusing to save {final}: tensor {key} has NaN/inf (training "
                                  f"diverged); last good checkpoint: {good or 'none'}; try a "
                                  "lower train.lr")
    _remove_torn(root)
    tmp = make_temp_dir(root, prefix=f".{final.name}.")
    try:
        save_tensors(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        _write_state(tmp, {
            "step": step,
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "rng": rng_state(),
            "extra": extra or {},
        })
        _write_manifest(tmp, step, fingerprint, sorted(modules))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except (OSError, RuntimeError, SafetensorError) as err:  # a full disk, a read-only folder
        shutil.rmtree(tmp, ignore_errors=True)
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise CheckpointError(f"cannot write checkpoint {final} ({first}; disk "
                              f"full?); earlier checkpoints are intact: "
                              f"{latest_checkpoint(root) or 'none'}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / "latest", final.name + "\n")
    _prune(root, keep, protect=final.name)
    return final


def _remove_torn(root: Path) -> None:
    """Delete temporary folders a killed writer left behind (``.step-*.``/``.final.*``); the
    rename into place never happened, so none of them is a checkpoint."""
    for tmp in [*root.glob(".step-*.*"), *root.glob(".final.*")]:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    skeleton, tensors = state_codec.encode(state)
    save_tensors(tensors, str(folder / STATE_TENSORS), metadata={"format": FORMAT})
    atomic_write_json(folder / STATE_JSON, skeleton)


def _write_manifest(folder: Path, step: int, fingerprint: str, modules: list[str]) -> None:
    """The manifest is written last: it is what makes the folder a checkpoint."""
    atomic_write_json(folder / MANIFEST, {
        "format": FORMAT, "version": __version__, "step": step, "fingerprint": fingerprint,
        "modules": modules,
        "files": {f: sha256_file(folder / f) for f in (WEIGHTS, STATE_JSON, STATE_TENSORS)},
    })


def _read_state(path: Path) -> dict[str, Any]:
    try:
        skeleton = json.loads((path / STATE_JSON).read_text())
        state = state_codec.decode(skeleton, load_file(str(path / STATE_TENSORS), device="cpu"))
    except (OSError, ValueError, SafetensorError) as err:
        raise CheckpointError(f"{path}: unreadable training state ({err})") from None
    if not isinstance(state, dict) or not {"step", "rng", "extra"} <= set(state):
        raise CheckpointError(f"{path / STATE_JSON}: not a semdistill training state")
    return state


def _numpy_globals() -> list[Any]:
    """The globals a pickled NumPy array needs (and nothing that can run code)."""
    core = getattr(np, "_core", None) or np.core
    out = [np.ndarray, np.dtype, core.multiarray._reconstruct]
    out += [getattr(np.dtypes, n) for n in dir(getattr(np, "dtypes", object))
            if n.endswith("DType") and n != "ObjectDType"]
    return out


def migrate_v1(path: str | Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a format-1 checkpoint (``state.pt``) in place as format 2; returns the manifest.

    The pickle is read with ``weights_only=True`` and NumPy's array globals only, so a crafted
    ``state.pt`` raises :class:`CheckpointError` instead of running. The new manifest is written
    last, so a migration killed half-way is simply done again.
    """
    path = Path(path)
    try:
        with torch.serialization.safe_globals(_numpy_globals()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about the protocol of crafted files
            state = torch.load(path / STATE_V1, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any refusal of the restricted unpickler
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path / STATE_V1}: refused (a format-1 training state may only "
                              f"hold tensors and NumPy arrays): {first[:200]}") from None
    if not isinstance(state, dict) or not {"step", "rng", "extra"} <= set(state):
        raise CheckpointError(f"{path / STATE_V1}: not a semdistill training state")
    _write_state(path, state)
    _write_manifest(path, int(manifest["step"]), manifest.get("fingerprint", ""),
                    list(manifest.get("modules", [])))
    (path / STATE_V1).unlink()
    log.warning("migrated checkpoint %s to %s (pickle-free)", path, FORMAT)
    return verify_checkpoint(path)


def _prune(root: Path, keep: int, protect: str) -> None:
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in steps[:-keep] if keep > 0 else []:
        if old.name != protect:
            shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(root: str | Path) -> Path | None:
    """The checkpoint folder named by ``root/latest``, or None when there is none."""
    root = Path(root)
    pointer = root / "latest"
    if not pointer.is_file():
        return None
    path = root / pointer.read_text().strip()
    if not path.is_dir():
        raise CheckpointError(f"{pointer} names {path.name}, which does not exist")
    return path


def verify_checkpoint(path: str | Path, fingerprint: str | None = None) -> dict[str, Any]:
    """Check the manifest, every file's checksum and (optionally) the fingerprint."""
    path = Path(path)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise CheckpointError(f"{mpath}: missing manifest (torn or foreign checkpoint)")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as err:  # ValueError: not UTF-8 or not JSON
        raise CheckpointError(f"{mpath}: unreadable manifest ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, FORMAT_V1):
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise CheckpointError(f"{mpath}: format {got!r}, expected {FORMAT!r}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(d, str) for d in files.values()):
        raise CheckpointError(f"{mpath}: no file checksums (torn or foreign checkpoint)")
    expected = {WEIGHTS, STATE_V1} if manifest["format"] == FORMAT_V1 else \
        {WEIGHTS, STATE_JSON, STATE_TENSORS}
    if set(files) != expected:
        raise CheckpointError(f"{mpath}: lists {sorted(files)}, expected {sorted(expected)}")
    for fname, digest in files.items():
        fpath = path / fname
        if not fpath.is_file():
            raise CheckpointError(f"{fpath}: missing")
        if sha256_file(fpath) != digest:
            raise CheckpointError(f"{fpath}: checksum mismatch (file corrupted or truncated)")
    if fingerprint is not None and manifest.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{mpath}: made by a different config (fingerprint {manifest.get('fingerprint')!r}, "
            f"expected {fingerprint!r})"
        )
    return manifest


def load_checkpoint(
    path: str | Path,
    modules: dict[str, nn.Module],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    fingerprint: str | None = None,
    restore_rng: bool = True,
) -> CheckpointInfo:
    """Verify, then load weights (and optimizer/scheduler/RNG when given) from ``path``."""
    path = Path(path)
    manifest = verify_checkpoint(path, fingerprint)
    if manifest["format"] == FORMAT_V1:
        manifest = migrate_v1(path, manifest)
    try:
        tensors = load_file(str(path / WEIGHTS), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path / WEIGHTS}: unreadable ({err})") from None
    for mname, module in modules.items():
        prefix = f"{mname}."
        sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not sub:
            raise CheckpointError(f"{path / WEIGHTS}: no weights for module {mname!r}")
        try:
            _unwrap(module).load_state_dict(sub)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[0]
            raise CheckpointError(f"{path / WEIGHTS}: module {mname!r} does not match ({first})") from None
    state = _read_state(path)
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        set_rng_state(state["rng"])
    return CheckpointInfo(path=path, step=int(manifest["step"]), extra=state["extra"])
