"""Stage 2 of the ``makd`` system: align a fresh edge per method × budget (docs/dekag-makd.md).

Every method (``none``, ``metaword``, ``lora``, ``makd``) gets the same step budgets and its own
copy of the edge, aligned with :func:`semdistill.generative.makd.align` under
``checkpoints/<subject>/<method>-<steps>`` (a resumed run finds its finished stages there). The
deliverable of the largest budget is saved under ``deliverables/``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.makd.data import SubjectData
from semdistill.experiments.rundir import RunDir
from semdistill.generative.deliverable import MAKDDeliverable, deliverable_summary
from semdistill.generative.edge import EdgeLDM, load_edge
from semdistill.generative.makd import METHODS, align


def method_budgets(method: str, budgets: Sequence[int]) -> list[int]:
    """The step budgets ``method`` is aligned at: ``[0]`` for one that trains nothing."""
    return [0] if not any(METHODS.get(method)) else list(budgets)


def align_edge(cfg: MAKDExperimentConfig, run_dir: RunDir, data: SubjectData, method: str,
               steps: int) -> tuple[EdgeLDM, MAKDDeliverable, float]:
    """A freshly loaded edge aligned to ``data``'s teacher images: (edge, deliverable, seconds)."""
    edge = load_edge(cfg.edge)
    t0 = time.perf_counter()
    deliverable = align(edge, data.teacher, data.train_prompts, data.class_word, cfg.makd, method,
                        steps, run_dir.checkpoints / data.tag / f"{method}-{steps}",
                        seed=cfg.seed, log=run_dir.log_metrics)
    return edge, deliverable, time.perf_counter() - t0


def save_deliverable(run_dir: RunDir, tag: str, method: str, deliverable: MAKDDeliverable,
                     edge: EdgeLDM) -> None:
    """``deliverables/<tag>-<method>.safetensors`` and its summary ``.json``."""
    deliverable.save(run_dir.path / "deliverables" / f"{tag}-{method}.safetensors")
    run_dir.write_json(f"deliverables/{tag}-{method}.json", deliverable_summary(deliverable, edge))
