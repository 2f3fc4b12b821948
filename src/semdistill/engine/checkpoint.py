"""Atomic, checksummed checkpoints.

A checkpoint is a folder ``<root>/step-00000100/`` holding

- ``weights.safetensors``: every module's state dict, keys prefixed ``<module>.``;
- ``state.pt``: optimizer, scheduler, RNG states, step and user extras;
- ``manifest.json``: step, fingerprint of what produced it, SHA-256 of both files.

It is written into a temporary sibling folder and renamed into place, so a killed process leaves
either the old or the new checkpoint, never a torn one. ``<root>/latest`` names the newest.
Loading verifies every checksum and the fingerprint, and names the file and the mismatch.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from semdistill import __version__
from semdistill.errors import UserError
from semdistill.utils.io import atomic_write_json, atomic_write_text, sha256_file

WEIGHTS = "weights.safetensors"
STATE = "state.pt"
MANIFEST = "manifest.json"
FORMAT = "semdistill.checkpoint/1"


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
            raise CheckpointError(f"refusing to save {final}: tensor {key} has NaN/inf")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=root))
    try:
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        torch.save(
            {
                "step": step,
                "optimizer": optimizer.state_dict() if optimizer is not None else None,
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "rng": rng_state(),
                "extra": extra or {},
            },
            tmp / STATE,
        )
        manifest = {
            "format": FORMAT,
            "version": __version__,
            "step": step,
            "fingerprint": fingerprint,
            "modules": sorted(modules),
            "files": {f: sha256_file(tmp / f) for f in (WEIGHTS, STATE)},
        }
        atomic_write_json(tmp / MANIFEST, manifest)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(root / "latest", final.name + "\n")
    _prune(root, keep, protect=final.name)
    return final


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
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{mpath}: unreadable manifest ({err.msg})") from None
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{mpath}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    for fname, digest in manifest["files"].items():
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
    map_location: str | torch.device = "cpu",
) -> CheckpointInfo:
    """Verify, then load weights (and optimizer/scheduler/RNG when given) from ``path``."""
    path = Path(path)
    manifest = verify_checkpoint(path, fingerprint)
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
    state = torch.load(path / STATE, map_location=map_location, weights_only=False)
    if optimizer is not None and state["optimizer"] is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        set_rng_state(state["rng"])
    return CheckpointInfo(path=path, step=int(manifest["step"]), extra=state["extra"])
