"""Stage 1 of ``dekag``: the latent datasets (docs/dekag-cala.md, "The experiment").

The *unaligned* edge generates latents for general world prompts (the base codec's data); the
edge is then MAKD-aligned to the held-out subject (:func:`align_edge`) and generates the
subject's train and test latents; the cloud draws the test images the user's images are scored
against. Everything is cached in ``data/datasets.safetensors`` (tensors) and
``data/datasets.json`` (prompts, seeds, the deliverable's size) of the run directory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from semdistill.data.world.samples import subject_name
from semdistill.errors import UserError
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.experiments.rundir import RunDir
from semdistill.generative.deliverable import MAKDDeliverable
from semdistill.generative.edge import EdgeLDM, load_edge, require_image_size
from semdistill.generative.generators import Generator, build_generator
from semdistill.generative.makd import align, edge_prompts
from semdistill.generative.pretrain_edge import require_held_out
from semdistill.utils.io import save_tensors
from semdistill.utils.seeds import derive_seeds

#: seed offsets (``derive_seeds(cfg.seed, offset, n)``) of each generated set.
BASE_SEEDS, TEACHER_SEEDS, TRAIN_SEEDS, TEST_SEEDS = 100_000, 200_000, 300_000, 400_000


def general_prompts(n: int, seed: int, image_size: int) -> list[str]:
    """Captions of the world's train split: what the unaligned edge is asked for."""
    from semdistill.data import ShapesWorld

    world = ShapesWorld(split="train", size=n, image_size=image_size, seed=seed)
    return [world[i]["caption"] for i in range(n)]


def subject_class_word(subject: Mapping[str, str]) -> str:
    """The class word MAKD's metaword stands next to: the subject's shape, else its first value."""
    return subject.get("shape") or next(iter(subject.values()))


def resolve_deliverable(path: str, subject: Mapping[str, str], method: str) -> Path:
    """A deliverable file as given, or, for a makd run directory, the one that run made for
    ``subject`` with ``method`` (``deliverables/<subject>-<method>.safetensors``): never another
    subject's or method's."""
    p = Path(path).expanduser()
    if not p.is_dir():
        return p
    name = subject_name(subject)
    want = p / "deliverables" / f"{name.replace(' ', '-')}-{method}.safetensors"
    if want.is_file():
        return want
    from semdistill.generative.errors import AlignmentError

    have = sorted(f.name for f in (p / "deliverables").glob("*.safetensors"))
    raise AlignmentError(f"{p}: no deliverable for the {name} by {method} "
                         f"(deliverables/{want.name}; the run has: {', '.join(have) or 'none'}); "
                         "run `semdistill run configs/dekag/makd-shapes.yaml` with that subject "
                         "or set alignment.deliverable to a file")


# ---- the cache -----------------------------------------------------------------------------
def dataset_paths(run_dir: RunDir) -> tuple[Path, Path]:
    """``(data/datasets.safetensors, data/datasets.json)`` of a run."""
    return run_dir.path / "data" / "datasets.safetensors", run_dir.path / "data" / "datasets.json"


def load_datasets(run_dir: RunDir) -> dict[str, Any] | None:
    """The cached datasets (tensors and metadata in one mapping), or None when not cached."""
    cache, meta_path = dataset_paths(run_dir)
    if not (cache.is_file() and meta_path.is_file()):
        return None
    out: dict[str, Any] = dict(load_file(str(cache)))
    out.update(json.loads(meta_path.read_text()))
    return out


def require_datasets(run_dir: RunDir) -> dict[str, Any]:
    """The cached datasets; a one-line :class:`UserError` when the run never built them."""
    data = load_datasets(run_dir)
    if data is None:
        raise UserError(f"{run_dir.path}: no latent datasets ({dataset_paths(run_dir)[0].name}); "
                        f"finish the run first with `semdistill run --resume {run_dir.path}`")
    return data


def save_datasets(run_dir: RunDir, tensors: Mapping[str, torch.Tensor],
                  meta: Mapping[str, Any]) -> None:
    """Write the cache :func:`load_datasets` reads."""
    cache, meta_path = dataset_paths(run_dir)
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_tensors({k: v.contiguous() for k, v in tensors.items()}, str(cache))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")


# ---- generation ----------------------------------------------------------------------------
def align_edge(cfg: DekagConfig, edge: EdgeLDM, cloud: Generator, train_prompts: Sequence[str],
               run_dir: RunDir) -> MAKDDeliverable:
    """G-KA: apply ``alignment.deliverable``, or MAKD-align ``edge`` (in place) here.

    MAKD here trains on the cloud's images of the first ``alignment.teacher_images`` train
    prompts (checkpoints in ``checkpoints/makd``) and saves ``makd/deliverable.safetensors``.
    """
    a = cfg.alignment
    if a.deliverable:
        return edge.load_alignment(resolve_deliverable(a.deliverable, cfg.data.subject,
                                                       a.method))
    teach_p = list(train_prompts[: a.teacher_images])
    teacher = cloud.generate(teach_p, derive_seeds(cfg.seed, TEACHER_SEEDS, len(teach_p)))
    deliverable = align(edge, teacher, teach_p, subject_class_word(cfg.data.subject), a.makd,
                        a.method, a.steps, run_dir.checkpoints / "makd", seed=cfg.seed,
                        log=run_dir.log_metrics)
    deliverable.save(run_dir.path / "makd" / "deliverable.safetensors")
    return deliverable


def aligned_prompts(prompts: Sequence[str], deliverable: MAKDDeliverable,
                    class_word: str) -> list[str]:
    """What the aligned edge is asked for: ``prompts`` with the deliverable's metaword (if any)."""
    if not deliverable.token:
        return list(prompts)
    return edge_prompts(prompts, "makd", deliverable.token, class_word, deliverable.placement)


def generate_datasets(cfg: DekagConfig, run_dir: RunDir
                      ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Generate the datasets (no cache involved); returns ``(tensors, meta)``.

    Tensors: ``base`` ``(N0, C, h, w)`` unaligned latents of general prompts, ``train``
    ``(N1, C, h, w)`` and ``test`` ``(N2, C, h, w)`` aligned latents of subject prompts,
    ``cloud_test`` ``(N2, 3, H, W)`` in [0, 1], ``unaligned_test`` ``(N2, C, h, w)`` (the
    test prompts without the MAKD LoRA; empty when the deliverable has none). Meta:
    ``test_prompts``, ``test_seeds``, ``deliverable`` and ``data_seconds``.
    """
    from semdistill.data.world.samples import subject_prompts

    d = cfg.data
    size = cfg.cloud.image_size
    test_p = subject_prompts(d.subject, d.test_prompts, "test", d.world_seed, size)
    t0 = time.perf_counter()
    edge = load_edge(cfg.edge)
    require_image_size(edge, size)
    require_held_out(edge, {"data.subject": d.subject})
    cloud = build_generator(cfg.cloud)
    steps = d.gen_steps
    base_p = general_prompts(d.base_prompts, d.world_seed + 17, size)
    base = edge.generate_latents(base_p, derive_seeds(cfg.seed, BASE_SEEDS, len(base_p)),
                                 steps=steps)
    train_p = subject_prompts(d.subject, d.train_prompts, "train", d.world_seed, size)
    deliverable = align_edge(cfg, edge, cloud, train_p, run_dir)
    word = subject_class_word(d.subject)
    train = edge.generate_latents(aligned_prompts(train_p, deliverable, word),
                                  derive_seeds(cfg.seed, TRAIN_SEEDS, len(train_p)), steps=steps)
    test_s = derive_seeds(cfg.seed, TEST_SEEDS, len(test_p))
    test = edge.generate_latents(aligned_prompts(test_p, deliverable, word), test_s, steps=steps)
    unaligned_test = torch.zeros(0)
    if deliverable.lora:  # the same edge without its MAKD LoRA and metaword: no G-KA
        edge.unet.disable_adapters()
        unaligned_test = edge.generate_latents(test_p, test_s, steps=steps)
        edge.unet.enable_adapters()
    tensors = {"base": base.cpu(), "train": train.cpu(), "test": test.cpu(),
               "cloud_test": cloud.generate(test_p, test_s).cpu(),
               "unaligned_test": unaligned_test.cpu()}
    meta = {"test_prompts": test_p, "test_seeds": test_s,
            "deliverable": {"params": deliverable.num_params, "bytes": deliverable.num_bytes,
                            "token": deliverable.token,
                            "source": cfg.alignment.deliverable or "run here"},
            "data_seconds": time.perf_counter() - t0}
    return tensors, meta


def build_datasets(cfg: DekagConfig, run_dir: RunDir) -> dict[str, Any]:
    """The cached datasets, generated and cached first when missing (tensors + meta in one
    mapping; see :func:`generate_datasets`)."""
    cached = load_datasets(run_dir)
    if cached is not None:
        return cached
    tensors, meta = generate_datasets(cfg, run_dir)
    save_datasets(run_dir, tensors, meta)
    return {**tensors, **meta}
