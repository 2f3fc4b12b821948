"""Stage 5 of ``dekag``: plots, the required-results checks and ``report.md``.

The checks (docs/dekag-cala.md, "Measured on the offline default") are measured from the
results files and held to the run's validated config (``eval.min_gain_db``,
``eval.max_fraction``, ``eval.low_snr_db``), never to defaults copied into the results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from semdistill.experiments.checks import Check, check_lines
from semdistill.experiments.dekag.bytes import bytes_checks, bytes_notes, plot_consistency_vs_bytes
from semdistill.experiments.dekag.config import METHOD_LABELS, DekagConfig, EvalSpec
from semdistill.experiments.dekag.digital import report_digital
from semdistill.experiments.dekag.evaluate import Evaluation
from semdistill.experiments.registry import load_config
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.figures import plot_metric, save_figure, save_image_grid
from semdistill.results import Results


# ---- plots ---------------------------------------------------------------------------------
def plot_heatmap(grid: Results, a: str, b: str, out: Path, metric: str = "psnr") -> Path:
    """``metric`` of method ``a`` minus method ``b`` [dB] over rate (rows) × SNR (columns)."""
    import matplotlib.pyplot as plt  # the Agg backend is chosen by semdistill.figures

    rates = sorted({r["rate"] for r in grid.records})
    snrs = sorted({r["snr_db"] for r in grid.records})
    val = {(r["method"], r["rate"], r["snr_db"]): r[metric] for r in grid.records}
    gain = [[val[(a, ri, s)] - val[(b, ri, s)] for s in snrs] for ri in rates]
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(snrs), 1.0 + 0.6 * len(rates)), dpi=120)
    im = ax.imshow(gain, cmap="viridis", aspect="auto", origin="lower")
    for i in range(len(rates)):
        for j in range(len(snrs)):
            ax.text(j, i, f"{gain[i][j]:.1f}", ha="center", va="center", color="w", fontsize=8)
    symbols = {r["rate"]: r["symbols"] for r in grid.records}
    ax.set_xticks(range(len(snrs)), [f"{s:g}" for s in snrs])
    ax.set_yticks(range(len(rates)), [f"{symbols[r]}" for r in rates])
    ax.set_xlabel("SNR [dB]")
    ax.set_ylabel("K_r [symbols]")
    ax.set_title(f"{metric} gain of {METHOD_LABELS.get(a, a)} over {METHOD_LABELS.get(b, b)} [dB]",
                 fontsize=9)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return save_figure(fig, out)


def plot_curves(run_dir: RunDir, grid: Results, refs: Results, base: nn.Module
                ) -> tuple[list[str], str | None]:
    """PSNR against SNR per rate, latent PSNR at the highest rate, the CALA gain heatmap and
    consistency against bytes; returns (the curves' paths, the bytes plot's path or None),
    relative to the run."""
    plots = []
    for r, k in enumerate(base.rates):
        p = plot_metric(grid, "snr_db", "psnr", run_dir.plots / f"psnr-vs-snr-rate{r}.png",
                        where={"rate": r}, title=f"image PSNR, K_r = {k} symbols")
        plots.append(str(p.relative_to(run_dir.path)))
    p = plot_metric(grid, "snr_db", "latent_psnr", run_dir.plots / "latent-psnr-vs-snr.png",
                    where={"rate": base.num_rates - 1}, title="latent PSNR, highest rate")
    plots.append(str(p.relative_to(run_dir.path)))
    if any(r["method"] == "cala" for r in grid.records):
        plot_heatmap(grid, "cala", "base", run_dir.plots / "cala-gain-heatmap.png")
    bytes_plot = plot_consistency_vs_bytes(grid, refs, run_dir.plots / "consistency-vs-bytes.png",
                                           METHOD_LABELS)
    return plots, str(bytes_plot.relative_to(run_dir.path)) if bytes_plot else None


def plot_samples(cfg: DekagConfig, run_dir: RunDir, ev: Evaluation, data: Mapping[str, Any],
                 methods: list[str], base: nn.Module, snr_list: list[float]) -> list[str]:
    """Cloud, edge and every method's user images at (rate 1, SNR nearest 0 dB) and at (the
    highest rate, the highest SNR); returns the grids' paths relative to the run."""
    grids = []
    edge_img = ev.edge.decode_latents(data["test"][: cfg.eval.grid_images]).cpu()
    cloud_img = data["cloud_test"][: cfg.eval.grid_images]
    conditions = [(min(1, base.num_rates - 1), min(snr_list, key=lambda s: abs(s - 0.0))),
                  (base.num_rates - 1, max(snr_list))]
    for r, snr in conditions:
        rows, labels = [cloud_img, edge_img], ["cloud", "edge (aligned)"]
        for m in methods:
            rows.append(ev.samples[f"{m}|{r}|{snr:g}"])
            labels.append(METHOD_LABELS.get(m, m))
        path = save_image_grid(run_dir.plots / f"samples-rate{r}-snr{snr:g}.png", rows, labels,
                               f"user images at K_r = {base.rates[r]} symbols, {snr:g} dB")
        grids.append(str(path.relative_to(run_dir.path)))
    return grids


def plot_evaluation(cfg: DekagConfig, run_dir: RunDir, ev: Evaluation,
                    models: Mapping[str, nn.Module], data: Mapping[str, Any],
                    snr_list: list[float]) -> dict[str, Any]:
    """Every plot of an evaluation: ``{"plots", "grids", "bytes_plot"}`` (paths in the run)."""
    base = models["base"]
    plots, bytes_plot = plot_curves(run_dir, ev.grid, ev.refs, base)
    grids = plot_samples(cfg, run_dir, ev, data, list(models), base, snr_list)
    return {"plots": plots, "grids": grids, "bytes_plot": bytes_plot}


# ---- checks --------------------------------------------------------------------------------
def mean_of(records: list[dict[str, Any]], key: str) -> float:
    """Mean of ``key`` over the records that have it (NaN when none do)."""
    vals = [r[key] for r in records if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else math.nan


def _gain_check(avg: Mapping[str, float], lavg: Mapping[str, float], need: float) -> Check:
    gain = avg["cala"] - avg["base"]
    full = avg.get("full_ft")
    return Check(
        "cala_gain_over_base", gain >= need,
        {"psnr_cala": avg["cala"], "psnr_base": avg["base"], "gain_db": gain,
         "latent_gain_db": lavg["cala"] - lavg["base"],
         **({"full_ft_gain_db": full - avg["base"]} if full is not None else {})},
        need,
        f"CALA image PSNR over the grid {avg['cala']:.2f} dB vs base {avg['base']:.2f} dB: gain "
        f"{gain:+.2f} dB (required ≥ {need} dB); latent PSNR gain "
        f"{lavg['cala'] - lavg['base']:+.2f} dB"
        + (f"; full fine-tuning (the upper bound) gains {full - avg['base']:+.2f} dB"
           if full is not None else ""))


def _versus_checks(other: str, avg: Mapping[str, float], lowavg: Mapping[str, float],
                   low: float) -> list[Check]:
    label = METHOD_LABELS[other]
    return [
        Check(f"cala_beats_{other}_average", avg["cala"] >= avg[other],
              {"psnr_cala": avg["cala"], f"psnr_{other}": avg[other]},
              detail=f"CALA vs {label}: average {avg['cala']:.2f} vs {avg[other]:.2f} dB"),
        Check(f"cala_beats_{other}_low_snr", lowavg["cala"] > lowavg[other],
              {"psnr_cala": lowavg["cala"], f"psnr_{other}": lowavg[other], "low_snr_db": low},
              detail=f"CALA vs {label}: at SNR ≤ {low:g} dB {lowavg['cala']:.2f} vs "
                     f"{lowavg[other]:.2f} dB"),
    ]


def checks(grid: Results, refs: Results, meta: Mapping[str, Any], ev: EvalSpec) -> list[Check]:
    """The required results, measured from the grid, the references and the trainable
    counts in ``meta``, held to the thresholds of ``ev`` (the run's ``eval`` section)."""
    out = []
    methods = {r["method"] for r in grid.records}
    low = ev.low_snr_db
    avg = {m: mean_of(grid.select(method=m), "psnr") for m in methods}
    lavg = {m: mean_of(grid.select(method=m), "latent_psnr") for m in methods}
    lowavg = {m: mean_of([r for r in grid.select(method=m) if r["snr_db"] <= low], "psnr")
              for m in methods}
    if "cala" in avg and "base" in avg:
        out.append(_gain_check(avg, lavg, ev.min_gain_db))
    for other in ("shared_lora", "vgsa"):
        if "cala" in avg and other in avg:
            out.extend(_versus_checks(other, avg, lowavg, low))
    frac = meta.get("trainable", {}).get("cala", {}).get("fraction")
    if frac is not None:
        mx = ev.max_fraction
        out.append(Check("cala_trainable_fraction", frac <= mx, {"fraction": frac}, mx,
                         f"CALA trains {frac:.2%} of the codec's parameters (required ≤ {mx:.0%})"))
    return out + bytes_checks(grid, refs)


# ---- report.md -----------------------------------------------------------------------------
def _methods_table(grid: Results, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for m in METHOD_LABELS:
        recs = grid.select(method=m)
        if not recs:
            continue
        t = meta.get("trainable", {}).get(m, {})
        rows.append({"method": METHOD_LABELS[m], "trainable": t.get("trainable"),
                     "fraction": f"{t.get('fraction', 0):.2%}",
                     "train s": meta.get("train", {}).get(m, {}).get("seconds"),
                     "PSNR": mean_of(recs, "psnr"), "latent PSNR": mean_of(recs, "latent_psnr"),
                     "SSIM": mean_of(recs, "ssim"), "consistency": mean_of(recs, "consistency")})
    return rows


def _bytes_table(grid: Results, refs: Results) -> list[dict[str, Any]]:
    top = max(r["snr_db"] for r in grid.records)
    cala = {r["rate"]: r.get("consistency") for r in grid.select(method="cala", snr_db=top)}
    rates = sorted({(r["rate"], r["symbols"], r["bytes"]) for r in grid.records})
    return ([{"link": f"prompt + K_r={k} symbols" + (f" (CALA, {top:g} dB)" if cala else ""),
              "bytes": b, "consistency": cala.get(i)} for i, k, b in rates]
            + [{"link": r["reference"], "bytes": r["bytes"], "consistency": r.get("consistency"),
                "PSNR vs edge image": r["psnr"]} for r in refs.records])


def build_report(run_dir: RunDir) -> Path:
    """``report.md`` from ``results/dekag-grid.json`` and ``results/dekag-bytes.json``."""
    _, cfg = load_config(run_dir.config_data(), source=str(run_dir.path / "config.yaml"))
    grid = Results.load(run_dir.results / "dekag-grid.json")
    refs = Results.load(run_dir.results / "dekag-bytes.json")
    meta = grid.meta
    rep = MarkdownReport("DeKA-g transmission alignment: CALA and the end-to-end link")
    rep.text(f"Edge: {meta.get('edge')}; cloud: {meta.get('cloud')}; subject: "
             f"{meta.get('subject')}; alignment: {meta.get('alignment')}. Codec: "
             f"{meta.get('codec_params')} parameters, K_max = {meta.get('k_max')}, rates "
             f"{meta.get('rates')} symbols, {meta.get('constellation')}, channel "
             f"{meta.get('channel')}. Image PSNR is measured against the aligned edge's own image "
             "(VAE decode of the sent latent); consistency against the cloud's images "
             f"({', '.join(meta.get('embedders', [])) or 'none'}). Wall time "
             f"{meta.get('seconds', 0):.0f} s.")
    rep.section("Required results (measured)").bullets(
        check_lines(checks(grid, refs, meta, cfg.eval)) + bytes_notes(grid, refs))
    rep.section("Methods (averages over the rate × SNR grid)").table(_methods_table(grid, meta))
    rep.section("PSNR vs SNR per rate")
    for p in meta.get("plots", []):
        rep.image(p, Path(p).stem)
    rep.section("CALA gain over the base codec").image("plots/cala-gain-heatmap.png", "gain")
    rep.section("Bytes per image vs PNG / JPEG")
    if meta.get("bytes_plot"):
        rep.image(meta["bytes_plot"], "consistency against bytes")
    rep.table(_bytes_table(grid, refs))
    report_digital(rep, run_dir, grid)
    rep.section("Samples")
    for g in meta.get("grids", []):
        rep.image(g, Path(g).stem)
    if meta.get("merge_check"):
        rep.section("CALA merge check").text(
            "Max |merged − gated| latent difference over fixed conditions: "
            f"{meta['merge_check']:.2e}.")
    rep.section("All grid records").table(grid.records)
    return rep.save(run_dir.report_path)
