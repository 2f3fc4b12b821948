"""System ``ltsc``: lightweight task-oriented semantic communication with pre-stored distillation.

One ``semdistill run configs/ltsc/shapes.yaml`` does, in its run directory (docs/ltsc.md):

1. teacher: the offline shapes teacher (shipped → cached → pre-trained) or ``timm:/hf:/local:``;
2. knowledge store: the teacher once over every (train sample, view) → ``store/``;
3. students (same init, data order, views, SNR draws and steps): prestored (adaptive and
   non-adaptive), online KD, scratch, plus prestored/scratch at smaller training fractions;
4. evaluation: accuracy vs SNR (AWGN, Rayleigh), complexity of student vs teacher, distillation
   wall time, accuracy vs training fraction → ``results/*.json``, ``plots/*.png``, ``report.md``
   with the required results as claims over seeds (verdicts from 95% intervals, or SMOKE
   lines for one seed placed against the reference results).

One module per stage: :mod:`.config` (config and variants), :mod:`.data` (teacher, training
pool and store), :mod:`.train` (students), :mod:`.evaluate` (accuracy and complexity),
:mod:`.digital` (the digital baseline), :mod:`.claims` and :mod:`.reference` (claims over seeds,
reference results), :mod:`.report` (report and plots), :mod:`.deploy` (exported parts) and
:mod:`.adaptive_map` (the adaptive-gain map). Importing this package registers the system.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from semdistill.experiments.checks import verdicts
from semdistill.experiments.ltsc.config import (
    SYSTEM,
    AugmentSection,
    EvalSection,
    LTSCConfig,
    RunsSection,
    StoreSection,
    TeacherSection,
    resolve_device,
    run_config,
    variants,
)
from semdistill.experiments.ltsc.data import (
    aug_seed,
    augment_of,
    build_store,
    get_teacher,
    store_info,
    store_path,
    teacher_accuracy,
    train_pool,
)
from semdistill.experiments.ltsc.deploy import deploy_parts
from semdistill.experiments.ltsc.digital import run_digital
from semdistill.experiments.ltsc.evaluate import evaluate_students, measure_complexity
from semdistill.experiments.ltsc.reference import SPEC as REFERENCE_SPEC
from semdistill.experiments.ltsc.report import (
    build_report,
    required_checks,
    write_report,
)
from semdistill.experiments.ltsc.train import build_student, save_timing_results, train_all
from semdistill.experiments.reference import reference_for
from semdistill.experiments.registry import register_experiment
from semdistill.experiments.rundir import RunDir


def evaluate_run(cfg: LTSCConfig, rd: RunDir, snr_db: Sequence[float],
                 channel: str | None = None) -> Path:
    """``semdistill eval RUN``: re-evaluate the trained students, then refresh the report.

    Never trains: a run with an unfinished variant is refused, naming it (``--resume`` it first).
    Returns the path of ``results/accuracy-vs-snr.json``.
    """
    path = evaluate_students(cfg, rd, snr_db, channel)
    build_report(rd)
    return path


@register_experiment(SYSTEM, LTSCConfig, evaluate=evaluate_run, report=build_report,
                    parts=deploy_parts)
def run(cfg: LTSCConfig, rd: RunDir) -> dict[str, Any]:
    """Teacher → store → students → evaluation → report. Resumable (finished stages skip)."""
    t_start = time.perf_counter()
    _, reference = reference_for(cfg)  # a corrupt eval.reference is refused before any work
    device = resolve_device(cfg)
    train_ds, test_ds = train_pool(cfg), cfg.data.build("test")
    teacher, tinfo = get_teacher(cfg, train_ds, rd)
    tinfo["test_accuracy"] = teacher_accuracy(teacher, test_ds, device)
    store, store_seconds = build_store(cfg, rd, teacher, train_ds, device)
    timings = train_all(cfg, rd, train_ds, teacher, store, device)
    rd.write_json("results/run-info.json", {
        "teacher": tinfo, "store": store_info(store, store_seconds, cfg.store.transfer_size), "timings": timings,
        "device": str(device), "data": {split: getattr(ds, "description", "") for split, ds in
                                        (("train", train_ds), ("test", test_ds))}})
    save_timing_results(rd, timings)
    evaluate_students(cfg, rd, snr_db=cfg.eval.snr_db)
    measure_complexity(cfg, rd, teacher, train_ds.num_classes)
    run_digital(cfg, rd, teacher, test_ds)
    rd.update_info(wall_seconds_before_report=time.perf_counter() - t_start)
    saved = run_config(rd)  # the report and the summary judge against the saved config
    checks = required_checks(saved, rd)
    write_report(saved, rd, checks)
    return {"teacher_test_accuracy": round(tinfo["test_accuracy"], 4), **verdicts(checks),
            **({"reference": reference} if reference else {}),
            "wall_seconds": round(time.perf_counter() - t_start, 1)}


__all__ = [
    "SYSTEM",
    "AugmentSection",
    "EvalSection",
    "LTSCConfig",
    "REFERENCE_SPEC",
    "RunsSection",
    "StoreSection",
    "TeacherSection",
    "aug_seed",
    "augment_of",
    "build_report",
    "build_student",
    "evaluate_run",
    "get_teacher",
    "run",
    "store_path",
    "variants",
]
