"""Stage 3 of the ``makd`` system: score an aligned edge on the evaluation prompts.

The edge draws the subject's evaluation prompts (with the metaword where its method uses one)
from the cloud's seeds. Consistency is the DreamBooth pairwise-mean cosine against the cloud's
images per embedder; attribute accuracy comes from the world encoder's heads
(docs/dekag-makd.md, "Consistency").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from semdistill.experiments.makd.data import SubjectData
from semdistill.generative.deliverable import MAKDDeliverable
from semdistill.generative.edge import EdgeLDM
from semdistill.generative.makd import MAKDConfig, edge_prompts
from semdistill.metrics.consistency import ConsistencyScorer
from semdistill.metrics.world_encoder import attribute_accuracy
from semdistill.results import Results


def evaluate_edge(edge: EdgeLDM, data: SubjectData, method: str, makd: MAKDConfig,
                  scorer: ConsistencyScorer, encoder: Any) -> tuple[torch.Tensor, dict[str, float]]:
    """The edge's evaluation images and their scores (per embedder, ``consistency``, ``acc_*``)."""
    images = edge.generate(edge_prompts(data.eval_prompts, method, makd.token, data.class_word,
                                        makd.metaword_placement), data.eval_seeds)
    scores = scorer.score(images, data.reference)
    acc = attribute_accuracy(encoder.predict(images), data.intended)
    return images, {**scores, **{f"acc_{k}": v for k, v in acc.items()}}


def record(seed: int, subject: str, method: str, steps: int, scores: dict[str, float],
           seconds: float, deliverable: MAKDDeliverable) -> dict[str, Any]:
    """One results record; ``bytes`` and ``params`` when the method delivers parameters."""
    size = ({"bytes": deliverable.num_bytes, "params": deliverable.num_params}
            if deliverable.num_params else {})
    return {"seed": seed, "method": method, "subject": subject, "step": steps, **scores,
            "seconds": seconds, **size}


def add_records(results: Results, rec: dict[str, Any], budgets: Sequence[int]) -> None:
    """Append ``rec``; the unaligned edge (``none``) is repeated flat at every budget (the plots'
    reference line)."""
    results.add(**rec)
    if rec["method"] == "none":
        for b in budgets:
            results.add(**{**rec, "step": b})
