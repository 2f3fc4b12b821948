"""``KnowledgeStore``: teacher outputs computed once, compressed, chunked and checksummed.

For every training sample ``i`` and view ``v`` (one augmentation per view, TinyViT-style) the store
keeps the augmentation seed (int32), the indices of the teacher's top-K classes (int16) and their
probabilities (float16): ``4 + 4K`` bytes per (sample, view). Reading regenerates the augmented
image from its seed and rebuilds a dense soft label in which the classes outside the top-K share
the remaining probability mass equally.

Layout of a store folder::

    manifest.json              format, teacher (spec, fingerprint), dataset id, augmentation,
                               seed, K, views, classes, chunk size, per-chunk sha256 and bytes
    chunk-00000.safetensors    samples [0, chunk_size): seeds (n,V) int32, topk_idx (n,V,K) int16,
    chunk-00001.safetensors    topk_prob (n,V,K) float16
    ...

Chunk ``c`` always covers samples ``[c·chunk_size, (c+1)·chunk_size)`` and is computed in
sub-batches aligned to the chunk start, so rank ``r`` of ``N`` processes can build chunks
``c ≡ r (mod N)`` and get byte-identical files to a single process (on the same device type);
the manifest is written once all chunks exist (:meth:`KnowledgeStore.finalize`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from semdistill.data.views import IndexedImages, SeededAugment, Subset, source_indices, view_seeds
from semdistill.engine.processes import launched_state
from semdistill.teachers.base import Teacher
from semdistill.teachers.errors import StoreCorrupt, StoreMismatch
from semdistill.teachers.store_checks import (
    check_chunk_metadata,
    check_chunk_tensors,
    manifest_chunks,
    resolve_chunk,
)
from semdistill.utils.io import atomic_write_json, fingerprint, save_tensors, sha256_file

FORMAT = "semdistill.kstore/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class StoreHeader:
    """Everything that identifies a store's content (compared on open)."""

    teacher_spec: str
    teacher_fingerprint: str
    dataset: dict[str, Any]
    num_samples: int
    num_classes: int
    k: int
    views: int
    seed: int
    augment: dict[str, Any]
    chunk_size: int
    temperature: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "teacher": {"spec": self.teacher_spec, "fingerprint": self.teacher_fingerprint},
            "dataset": dict(self.dataset, size=self.num_samples),
            "num_classes": self.num_classes, "k": self.k, "views": self.views,
            "seed": self.seed, "augment": self.augment, "chunk_size": self.chunk_size,
            "temperature": self.temperature,
        }

    @property
    def num_chunks(self) -> int:
        return math.ceil(self.num_samples / self.chunk_size)

    def fingerprint(self) -> str:
        return fingerprint(self.to_dict())

    def chunk_range(self, c: int) -> tuple[int, int]:
        return c * self.chunk_size, min((c + 1) * self.chunk_size, self.num_samples)


def chunk_name(c: int) -> str:
    return f"chunk-{c:05d}.safetensors"


def payload_bytes_per_view(k: int) -> int:
    """Bytes of one (sample, view) entry: int32 seed + K int16 indices + K fp16 probabilities."""
    return 4 + 2 * k + 2 * k


@torch.no_grad()
def _teacher_topk(teacher: Teacher, dataset: IndexedImages, header: StoreHeader,
                  augment: SeededAugment, start: int, stop: int, batch_size: int,
                  device: torch.device) -> dict[str, torch.Tensor]:
    n, v_, k = stop - start, header.views, header.k
    seeds = torch.empty(n, v_, dtype=torch.int32)
    idx = torch.empty(n, v_, k, dtype=torch.int16)
    prob = torch.empty(n, v_, k, dtype=torch.float16)
    for b0 in range(start, stop, batch_size):
        ids = torch.arange(b0, min(b0 + batch_size, stop))
        images, _ = dataset.render_indices(ids)
        for v in range(v_):
            s = view_seeds(header.seed, ids, v)
            x = augment(images, s).to(device)
            p = torch.softmax(teacher(x).float() / header.temperature, dim=-1).cpu()
            top_p, top_i = p.topk(k, dim=-1)
            rows = slice(b0 - start, b0 - start + len(ids))
            seeds[rows, v] = s
            idx[rows, v] = top_i.to(torch.int16)
            prob[rows, v] = top_p.to(torch.float16)
    return {"seeds": seeds, "topk_idx": idx, "topk_prob": prob}


class KnowledgeStore:
    """Read access to a finished store; build one with :meth:`build`.

    Attributes:
        path: the store folder. header: :class:`StoreHeader`. manifest: the parsed manifest.
        seeds ``(N, V)`` int32, topk_idx ``(N, V, K)`` int64, topk_prob ``(N, V, K)`` float32.
    """

    def __init__(self, path: Path, header: StoreHeader, manifest: dict[str, Any],
                 tensors: dict[str, torch.Tensor]) -> None:
        self.path, self.header, self.manifest = path, header, manifest
        self.seeds = tensors["seeds"]
        self.topk_idx = tensors["topk_idx"].long()
        self.topk_prob = tensors["topk_prob"].float()

    # ---- building ---------------------------------------------------------------------------
    @staticmethod
    def make_header(teacher: Teacher, dataset: IndexedImages, *, dataset_id: dict[str, Any],
                    views: int, k: int, seed: int, augment: SeededAugment,
                    chunk_size: int = 1024, temperature: float = 1.0) -> StoreHeader:
        if not 1 <= k <= dataset.num_classes:
            raise ValueError(f"k={k} must be in [1, num_classes={dataset.num_classes}]")
        if dataset.num_classes > 32767:
            raise ValueError("int16 class indices hold at most 32767 classes")
        if teacher.num_classes != dataset.num_classes:
            raise StoreMismatch(
                f"teacher {teacher.spec} predicts {teacher.num_classes} classes but the dataset "
                f"has {dataset.num_classes}"
            )
        return StoreHeader(teacher.spec, teacher.fingerprint(), dict(dataset_id), len(dataset),
                           dataset.num_classes, k, views, seed, augment.to_dict(), chunk_size,
                           temperature)

    @classmethod
    def build_chunks(cls, teacher: Teacher, dataset: IndexedImages, path: str | Path,
                     header: StoreHeader, *, rank: int = 0, world_size: int = 1,
                     batch_size: int = 256, device: str | torch.device = "cpu",
                     chunks: Iterable[int] | None = None) -> list[Path]:
        """Compute and write this rank's chunks (``c % world_size == rank``); returns their paths.

        Existing chunk files whose metadata matches ``header`` are kept (a killed build resumes).
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        augment = SeededAugment(**header.augment)
        device = torch.device(device)
        teacher = teacher.to(device)
        todo = list(chunks) if chunks is not None else list(range(header.num_chunks))
        written = []
        for c in todo:
            if c % world_size != rank:
                continue
            out = path / chunk_name(c)
            if out.is_file() and _chunk_matches(out, header, c):
                written.append(out)
                continue
            start, stop = header.chunk_range(c)
            tensors = _teacher_topk(teacher, dataset, header, augment, start, stop, batch_size,
                                    device)
            # one metadata key: safetensors writes a metadata map in arbitrary key order
            meta = {"kstore": json.dumps({"format": FORMAT, "store": header.fingerprint(),
                                          "chunk": c, "start": start, "stop": stop},
                                         sort_keys=True)}
            tmp = out.with_suffix(".tmp")
            save_tensors(tensors, str(tmp), metadata=meta)
            tmp.replace(out)
            written.append(out)
        return written

    @classmethod
    def finalize(cls, path: str | Path, header: StoreHeader) -> dict[str, Any]:
        """Checksum every chunk and write ``manifest.json`` (call once, after all ranks)."""
        path = Path(path)
        chunks = []
        total = 0
        for c in range(header.num_chunks):
            f = path / chunk_name(c)
            if not f.is_file():
                raise StoreCorrupt(f"{f}: chunk missing; build it before finalizing")
            start, stop = header.chunk_range(c)
            size = f.stat().st_size
            total += size
            chunks.append({"file": f.name, "start": start, "stop": stop,
                           "sha256": sha256_file(f), "bytes": size})
        n = header.num_samples
        manifest = header.to_dict() | {
            "store_fingerprint": header.fingerprint(),
            "chunks": chunks,
            "total_bytes": total,
            "bytes_per_sample": total / n,
            "payload_bytes_per_sample": header.views * payload_bytes_per_view(header.k),
        }
        atomic_write_json(path / MANIFEST, manifest)
        return manifest

    @classmethod
    def build(cls, teacher: Teacher, dataset: IndexedImages, path: str | Path, *,
              dataset_id: dict[str, Any], views: int = 1, k: int = 5, seed: int = 0,
              augment: SeededAugment | None = None, chunk_size: int = 1024,
              temperature: float = 1.0, batch_size: int = 256,
              device: str | torch.device = "cpu") -> KnowledgeStore:
        """Run the teacher once over every (sample, view), write the store and open it.

        Sharded by rank: under ``accelerate launch`` / ``torchrun`` each process computes the
        chunks ``c % world_size == rank``, all wait, the main process checksums them into the
        manifest, and every process opens the joined store. The result is byte-identical to a
        one-process build (each chunk depends only on its sample range and the header). A store
        already at ``path`` with the same header is reused (verified, not rebuilt).
        """
        augment = augment or SeededAugment()
        header = cls.make_header(teacher, dataset, dataset_id=dataset_id, views=views, k=k,
                                 seed=seed, augment=augment, chunk_size=chunk_size,
                                 temperature=temperature)
        path = Path(path)
        state = launched_state(cpu=torch.device(device).type == "cpu")
        if not (path / MANIFEST).is_file():
            rank, world = (0, 1) if state is None else (state.process_index, state.num_processes)
            cls.build_chunks(teacher, dataset, path, header, rank=rank, world_size=world,
                             batch_size=batch_size, device=device)
            if state is not None:
                state.wait_for_everyone()
            if rank == 0:
                cls.finalize(path, header)
            if state is not None:
                state.wait_for_everyone()
        return cls.open(path, expect=header)

    # ---- reading ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, expect: StoreHeader | None = None,
             teacher_fingerprint: str | None = None, dataset_id: dict[str, Any] | None = None,
             k: int | None = None, views: int | None = None, verify: bool = True,
             ) -> KnowledgeStore:
        """Open a store, check it against what the caller expects and (``verify``) checksums.

        Raises :class:`StoreMismatch` (different teacher/dataset/K/views/format) or
        :class:`StoreCorrupt` (missing, truncated, altered, reordered or out-of-folder files,
        invalid knowledge: :mod:`semdistill.teachers.store_checks`), naming the file.
        """
        path = Path(path)
        mpath = path / MANIFEST
        try:
            manifest = json.loads(mpath.read_text())
        except FileNotFoundError:
            raise StoreCorrupt(f"{mpath}: no manifest (store not built or build unfinished)") from None
        except (OSError, ValueError) as err:  # ValueError: not UTF-8 or not JSON
            raise StoreCorrupt(f"{mpath}: unreadable manifest ({err})") from None
        if not isinstance(manifest, dict):
            raise StoreCorrupt(f"{mpath}: the manifest must be a JSON object")
        if manifest.get("format") != FORMAT:
            raise StoreMismatch(f"{mpath}: format {manifest.get('format')!r}, expected {FORMAT!r}")
        try:
            header = _header_from_manifest(manifest)
        except (KeyError, TypeError, ValueError) as err:
            raise StoreCorrupt(f"{mpath}: malformed manifest (missing {err})") from None
        if expect is not None:
            _compare(mpath, header.to_dict(), expect.to_dict())
        checks = {"teacher fingerprint": (header.teacher_fingerprint, teacher_fingerprint),
                  "K": (header.k, k), "views": (header.views, views)}
        if dataset_id is not None:
            checks["dataset"] = (_strip_size(header.dataset), _strip_size(dataset_id))
        for what, (have, want) in checks.items():
            if want is not None and have != want:
                raise StoreMismatch(f"{mpath}: {what} is {have!r}, expected {want!r}")
        names = [chunk_name(c) for c in range(header.num_chunks)]
        ranges = [header.chunk_range(c) for c in range(header.num_chunks)]
        parts: dict[str, list[torch.Tensor]] = {"seeds": [], "topk_idx": [], "topk_prob": []}
        for c, entry in enumerate(manifest_chunks(mpath, manifest, names, ranges)):
            tensors = _read_chunk(resolve_chunk(path, entry["file"]), entry, header, c, verify)
            for key in parts:
                parts[key].append(tensors[key])
        return cls(path, header, manifest, {k_: torch.cat(v) for k_, v in parts.items()})

    def __len__(self) -> int:
        return self.header.num_samples

    @property
    def bytes_per_sample(self) -> float:
        """On-disk bytes per training sample (all views, file headers included)."""
        return float(self.manifest["bytes_per_sample"])

    def view_of_epoch(self, epoch: int) -> int:
        """The view used in ``epoch`` (views are cycled)."""
        return epoch % self.header.views

    def lookup(self, indices: torch.Tensor, views: torch.Tensor | int,
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Seeds ``(B,)`` int32, top-K indices ``(B, K)`` int64 and probabilities ``(B, K)``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        v = torch.as_tensor(views, dtype=torch.long).expand_as(indices)
        return self.seeds[indices, v], self.topk_idx[indices, v], self.topk_prob[indices, v]

    def soft_labels(self, indices: torch.Tensor, views: torch.Tensor | int) -> torch.Tensor:
        """Dense teacher distributions ``(B, C)``: stored top-K, the rest shared equally."""
        _, idx, prob = self.lookup(indices, views)
        return dense_soft_labels(idx, prob, self.header.num_classes)

    def read(self, dataset: IndexedImages, indices: torch.Tensor, views: torch.Tensor | int,
             ) -> dict[str, torch.Tensor]:
        """Regenerate the augmented images the teacher saw, with labels and soft labels.

        ``dataset`` is the one the store was built on, or a :class:`~semdistill.data.Subset` of
        it (its items are read from the rows of their base samples, and its unlabelled items
        keep label :data:`~semdistill.data.UNLABELLED`). Returns ``{"image": (B,3,H,W) [0,1],
        "label": (B,), "soft": (B,C), "seed": (B,)}``.
        """
        base = dataset.base if isinstance(dataset, Subset) else dataset
        if len(base) > self.header.num_samples:
            raise StoreMismatch(f"{self.path / MANIFEST}: store covers {self.header.num_samples} "
                                f"samples, dataset has {len(base)}")
        seeds, idx, prob = self.lookup(source_indices(dataset, indices), views)
        images, labels = dataset.render_indices(torch.as_tensor(indices, dtype=torch.long))
        images = SeededAugment(**self.header.augment)(images, seeds)
        soft = dense_soft_labels(idx, prob, self.header.num_classes)
        return {"image": images, "label": labels, "soft": soft, "seed": seeds}


def dense_soft_labels(idx: torch.Tensor, prob: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Rebuild ``(B, C)`` distributions from top-K ``idx``/``prob`` ``(B, K)``.

    Classes outside the top-K get ``(1 - Σ prob) / (C - K)`` each (floored at 0); with K = C the
    stored probabilities are renormalized to sum to 1.
    """
    prob = prob.float()
    b, k = prob.shape
    rest = (1.0 - prob.sum(-1, keepdim=True)).clamp_min(0.0)
    if k < num_classes:
        out = (rest / (num_classes - k)).expand(b, num_classes).clone()
        out.scatter_(1, idx.long(), prob)
    else:
        out = torch.zeros(b, num_classes).scatter_(1, idx.long(), prob)
    return out / out.sum(-1, keepdim=True).clamp_min(1e-12)


def _read_chunk(f: Path, entry: dict[str, Any], header: StoreHeader, c: int, verify: bool
                ) -> dict[str, torch.Tensor]:
    """Chunk ``c``'s tensors, after its checksum, own metadata and content are checked."""
    if not f.is_file():
        raise StoreCorrupt(f"{f}: chunk file missing")
    if verify and sha256_file(f) != entry["sha256"]:
        raise StoreCorrupt(f"{f}: checksum mismatch (file altered or truncated); rebuild the store")
    try:
        with safe_open(str(f), framework="pt") as fh:
            meta = fh.metadata()
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise StoreCorrupt(f"{f}: unreadable chunk ({err})") from None
    start, stop = header.chunk_range(c)
    check_chunk_metadata(f, meta, header.fingerprint(), c, start, stop)
    check_chunk_tensors(f, tensors, stop - start, header.views, header.k, header.num_classes)
    return tensors


def _strip_size(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "size"}


def _header_from_manifest(m: dict[str, Any]) -> StoreHeader:
    ds = dict(m["dataset"])
    n = int(ds.pop("size"))
    return StoreHeader(m["teacher"]["spec"], m["teacher"]["fingerprint"], ds, n,
                       int(m["num_classes"]), int(m["k"]), int(m["views"]), int(m["seed"]),
                       dict(m["augment"]), int(m["chunk_size"]), float(m.get("temperature", 1.0)))


def _compare(where: Path, have: dict[str, Any], want: dict[str, Any]) -> None:
    for key in want:
        if have.get(key) != want[key]:
            raise StoreMismatch(f"{where}: {key} is {have.get(key)!r}, expected {want[key]!r}; "
                                "build a new store (or point to the matching one)")


def _chunk_matches(f: Path, header: StoreHeader, c: int) -> bool:
    try:
        with safe_open(str(f), framework="pt") as fh:
            meta = fh.metadata() or {}
        info = json.loads(meta.get("kstore", "{}"))
    except (SafetensorError, OSError, json.JSONDecodeError):
        return False
    return info.get("store") == header.fingerprint() and info.get("chunk") == c
