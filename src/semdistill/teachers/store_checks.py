"""What :meth:`KnowledgeStore.open` checks before any training sees a store.

A store folder may come from someone else. Every chunk the manifest names must resolve inside
the store's own folder (no absolute path, no ``..``, no symlink out), sit at its place in the
chunk order, carry its own index and sample range in its metadata, hold the three tensors at the
shapes and dtypes of the header, and hold valid knowledge: class indices in ``[0, C)``, finite
probabilities in ``[0, 1]`` that sum to at most 1 per entry. Anything else is one
:class:`~semdistill.teachers.errors.StoreCorrupt` line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from semdistill.teachers.errors import StoreCorrupt

#: the tensors of a chunk: name → dtype on disk (shapes: see :func:`check_chunk_tensors`)
CHUNK_TENSORS = {"seeds": torch.int32, "topk_idx": torch.int16, "topk_prob": torch.float16}
#: fp16 probabilities of one entry may round to a sum slightly above 1
PROB_SUM_TOLERANCE = 1e-2
CHUNK_KEYS = ("file", "start", "stop", "sha256")
MANIFEST_NAME = "manifest.json"


def manifest_chunks(mpath: Path, manifest: Any, expected_names: list[str],
                    ranges: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The manifest's chunk entries, checked for shape and order against the header.

    Entry ``c`` must name ``expected_names[c]`` and cover ``ranges[c]``: a reordered, shortened
    or padded list is refused.
    """
    chunks = manifest.get("chunks")
    if not isinstance(chunks, list):
        raise StoreCorrupt(f"{mpath}: 'chunks' must be a list of chunk entries")
    if len(chunks) != len(expected_names):
        raise StoreCorrupt(f"{mpath}: lists {len(chunks)} chunks, expected {len(expected_names)}")
    for c, entry in enumerate(chunks):
        if not isinstance(entry, dict) or any(k not in entry for k in CHUNK_KEYS):
            raise StoreCorrupt(f"{mpath}: chunk entry {c} needs the keys {', '.join(CHUNK_KEYS)}")
        if entry["file"] != expected_names[c] or (entry["start"], entry["stop"]) != ranges[c]:
            raise StoreCorrupt(
                f"{mpath}: chunk entry {c} is {entry['file']!r} [{entry['start']}, "
                f"{entry['stop']}), expected {expected_names[c]!r} {list(ranges[c])} "
                "(chunks out of order or altered)")
    return chunks


def resolve_chunk(folder: Path, name: Any) -> Path:
    """``folder / name``, refused unless it is a plain file name inside ``folder``."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise StoreCorrupt(f"{folder / MANIFEST_NAME}: chunk file {name!r} is not a file name "
                           "inside the store folder")
    path = folder / name
    if path.is_symlink() and path.resolve().parent != folder.resolve():
        raise StoreCorrupt(f"{path}: a symlink out of the store folder ({path.resolve()})")
    return path



def check_chunk_metadata(f: Path, meta: dict[str, str] | None, fingerprint: str, c: int,
                         start: int, stop: int) -> None:
    """The chunk's own metadata must name this store, its index and its sample range."""
    try:
        info = json.loads((meta or {}).get("kstore", ""))
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict):
        raise StoreCorrupt(f"{f}: no knowledge-store metadata (not a chunk of this store)")
    have = (info.get("store"), info.get("chunk"), info.get("start"), info.get("stop"))
    if have != (fingerprint, c, start, stop):
        raise StoreCorrupt(f"{f}: metadata says store {have[0]!r} chunk {have[1]} "
                           f"[{have[2]}, {have[3]}), expected chunk {c} [{start}, {stop}) of "
                           f"store {fingerprint!r}")


def check_chunk_tensors(f: Path, tensors: dict[str, torch.Tensor], n: int, views: int, k: int,
                        num_classes: int) -> None:
    """Shapes ``(n, V)`` / ``(n, V, K)`` / ``(n, V, K)``, dtypes, and valid knowledge."""
    shapes = {"seeds": (n, views), "topk_idx": (n, views, k), "topk_prob": (n, views, k)}
    for key, dtype in CHUNK_TENSORS.items():
        if key not in tensors:
            raise StoreCorrupt(f"{f}: tensor {key!r} missing")
        t = tensors[key]
        if tuple(t.shape) != shapes[key] or t.dtype != dtype:
            raise StoreCorrupt(f"{f}: {key} is {tuple(t.shape)} {t.dtype}, expected "
                               f"{shapes[key]} {dtype}")
    idx, prob = tensors["topk_idx"], tensors["topk_prob"].float()
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise StoreCorrupt(f"{f}: class indices outside [0, {num_classes})")
    if not torch.isfinite(prob).all() or (prob < 0).any() or (prob > 1).any():
        raise StoreCorrupt(f"{f}: probabilities must be finite and in [0, 1]")
    if prob.numel() and float(prob.sum(-1).max()) > 1 + PROB_SUM_TOLERANCE:
        raise StoreCorrupt(f"{f}: the top-{k} probabilities of an entry sum to more than 1")
