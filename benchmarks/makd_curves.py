"""MAKD's consistency-vs-steps curves over seeds, from a makd reference folder (or a run's
``results/``): the paper's "efficiency", how many steps each method needs.

    .venv/bin/python benchmarks/makd_curves.py results/reference/dekag/makd --out results/dekag-makd-curves

Writes ``<metric>-vs-steps.png`` (mean over subjects per seed; the mean over seeds and its 95%
t-interval per method) for consistency and the attribute accuracies, and ``curves.md`` with the
per-budget table (mean [95% interval] over seeds) and the steps each method needs to reach half
the headroom and the claimed level. Nothing is trained: only the results files are read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semdistill.config import validate
from semdistill.experiments.makd.claims import load_records
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.makd.report import mean_curves, steps_rows
from semdistill.experiments.report import MarkdownReport
from semdistill.figures import display_name, label, method_order, plot_metric
from semdistill.utils.stats import t_interval

METRICS = ("consistency", "acc_shape", "acc_color", "acc_style")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="a makd reference folder (reference.json)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    man = json.loads((args.folder / "reference.json").read_text())
    cfg = validate(MAKDExperimentConfig, man["config"], source=str(args.folder))
    records, headroom, _ = load_records(args.folder)
    curves = mean_curves(records, cfg.seed, list(METRICS))
    args.out.mkdir(parents=True, exist_ok=True)
    rep = MarkdownReport(f"MAKD over {len(man['seeds'])} seeds: consistency vs steps")
    rep.text(f"From `{args.folder}` (`{man.get('command')}`, {man.get('machine')}). Per seed the "
             "mean over the held-out subjects; the table gives the mean over seeds and its 95% "
             "t-interval.")
    for y in METRICS:
        plot_metric(curves, "step", y, args.out / f"{y}-vs-steps.png",
                    title=f"{label(y)} vs distillation steps (mean over subjects and seeds, 95% "
                          "interval)")
        rep.image(f"{y}-vs-steps.png", y)
    rows = []
    for step in sorted({r["step"] for r in curves.records}):
        row: dict[str, object] = {"steps": step}
        for m in sorted({r["method"] for r in curves.records}, key=method_order):
            lo, mean, hi = t_interval([r["consistency"] for r in curves.select(method=m, step=step)])
            row[display_name(m)] = f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"
        rows.append(row)
    rep.section("Consistency at every budget").table(rows)
    rep.section("Steps each method needs (one entry per seed)").table(
        steps_rows(records, headroom, cfg))
    print(rep.save(args.out / "curves.md"))


if __name__ == "__main__":
    main()
