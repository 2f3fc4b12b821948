"""Atomic writes and checksums: a killed process never leaves a half-written file behind.

Also the content fingerprints: :func:`fingerprint` of a JSON-able object, :func:`fingerprint_tensors`
of a set of named tensors (what a file made on top of one model records about that model).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def make_temp_dir(parent: str | Path, prefix: str) -> Path:
    """A fresh folder in ``parent`` with the mode a plain ``mkdir`` gets (0777 less the umask;
    ``tempfile.mkdtemp`` makes it 0700 whatever the umask)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    tmp.chmod(0o777 & ~umask())
    return tmp


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file gets the mode a plain ``open(path, "w")`` would (0666 less the umask), not the
    0600 of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_tensors(tensors: dict[str, Any], path: str | Path,
                 metadata: dict[str, str] | None = None) -> Path:
    """``safetensors.torch.save_file`` with the mode a plain ``open(path, "w")`` gets (0666
    less the umask; safetensors itself writes 0600)."""
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata=metadata)
    os.chmod(path, 0o666 & ~umask())
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def fingerprint(obj: Any) -> str:
    """A short stable hash of a JSON-able object (configs, store keys)."""
    blob = json.dumps(obj, sort_keys=True, default=_jsonable).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


#: what :func:`fingerprint_tensors` returns (files recording one are checked against it on read)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def fingerprint_tensors(tensors: Mapping[str, Any], extra: Any = None) -> str:
    """Hex SHA-256 (64 digits) of named tensors: every name, dtype, shape and the raw bytes, in
    name order, after the JSON of ``extra`` (e.g. a config; ``None``: nothing).

    Equal for equal contents on any device and in any insertion order; a changed value, name,
    shape or dtype changes it. Costs one pass over the bytes (a copy to the CPU first for tensors
    elsewhere).
    """
    import torch

    h = hashlib.sha256(json.dumps(extra, sort_keys=True, default=_jsonable).encode() + b"\n")
    for name in sorted(tensors):
        t = tensors[name].detach()
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode() + b"\n")
        h.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()
