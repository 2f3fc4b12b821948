"""Stage 1 of the ``makd`` system: one held-out subject's data (docs/dekag-makd.md).

The cloud renders the subject's training prompts (the teacher images the edge is aligned to) and
its evaluation prompts (a disjoint split: the reference images and the attributes the cloud
intended). The reference points score the cloud's evaluation images against themselves, as is
and seen through the edge's VAE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from semdistill.data.world.samples import subject_name
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.generative.edge import EdgeLDM
from semdistill.generative.generators import build_generator
from semdistill.metrics.consistency import ConsistencyScorer
from semdistill.utils.seeds import derive_seeds

#: derived-seed offsets of the training (teacher) and evaluation prompts
TRAIN_SEED_OFFSET, EVAL_SEED_OFFSET = 0, 500_000


@dataclass(frozen=True)
class SubjectData:
    """What every method of one subject is aligned to and scored against.

    Attributes:
        name: the subject in words (``red triangle``); ``tag`` is its file-name form.
        class_word: the word the metaword stands next to (the shape).
        train_prompts, teacher: the cloud's training prompts and its images of them.
        eval_prompts, eval_seeds: the evaluation prompts and the seeds both models draw them with.
        reference: the cloud's images of the evaluation prompts.
        intended: per evaluation image, the attributes the cloud drew.
        ceilings: the reference points (``cloud``, ``cloud_through_edge_vae``).
    """

    name: str
    tag: str
    class_word: str
    train_prompts: list[str]
    teacher: torch.Tensor
    eval_prompts: list[str]
    eval_seeds: list[int]
    reference: torch.Tensor
    intended: list[Any]
    ceilings: dict[str, float]


def reference_points(scorer: ConsistencyScorer, reference: torch.Tensor,
                     base_edge: EdgeLDM) -> dict[str, float]:
    """Consistency of the cloud's images with themselves, as is and through the edge's VAE."""
    through_vae = base_edge.decode_latents(base_edge.encode_images(reference))
    return {"cloud": scorer.score(reference, reference)["consistency"],
            "cloud_through_edge_vae": scorer.score(through_vae, reference)["consistency"]}


def subject_data(cfg: MAKDExperimentConfig, subject: dict[str, str], scorer: ConsistencyScorer,
                 base_edge: EdgeLDM) -> SubjectData:
    """The cloud's teacher and reference images of ``subject`` and its reference points.

    ``base_edge`` (the unaligned edge) only encodes and decodes; it is not modified.
    """
    from semdistill.data.world.samples import subject_prompts

    cloud = build_generator(cfg.cloud)
    name = subject_name(subject)
    train_p = subject_prompts(subject, cfg.teacher_images, "train", cfg.world_seed,
                              cfg.cloud.image_size)
    train_s = derive_seeds(cfg.seed, TRAIN_SEED_OFFSET, len(train_p))
    eval_p = subject_prompts(subject, cfg.eval_prompts, "test", cfg.world_seed,
                             cfg.cloud.image_size)
    eval_s = derive_seeds(cfg.seed, EVAL_SEED_OFFSET, len(eval_p))
    teacher = cloud.generate(train_p, train_s)
    reference = cloud.generate(eval_p, eval_s)
    intended = cloud.attrs(eval_p, eval_s) if hasattr(cloud, "attrs") else [subject] * len(eval_p)
    return SubjectData(
        name=name, tag=name.replace(" ", "-"),
        class_word=subject.get("shape") or next(iter(subject.values())),
        train_prompts=train_p, teacher=teacher, eval_prompts=eval_p, eval_seeds=eval_s,
        reference=reference, intended=intended,
        ceilings=reference_points(scorer, reference, base_edge))
