"""Stage 5 of ``dekag``: plots, the required-results checks and ``report.md``.

The checks are the claims over seeds of :mod:`.claims` (docs/dekag-cala.md, "Claims and
seeds"), measured from the results files and held to the run's validated config
(``eval.min_gain_db``, ``eval.max_fraction``, ``eval.low_snr_db``), never to defaults copied
into the results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from torch import nn

from semdistill.experiments.checks import REQUIRED_RESULTS, check_lines
from semdistill.experiments.dekag.bytes import QUALITY_PANELS, bytes_notes, quality_vs_bytes_figure
from semdistill.experiments.dekag.claims import claims_of
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.experiments.dekag.digital import report_digital
from semdistill.experiments.dekag.evaluate import Evaluation
from semdistill.experiments.readings import readings_section
from semdistill.experiments.reference import reference_for
from semdistill.experiments.registry import load_config
from semdistill.experiments.report import MarkdownReport, quality_text
from semdistill.experiments.rundir import RunDir
from semdistill.figures import (
    Panel,
    display_name,
    label,
    method_order,
    metric_figure,
    panel_figure,
    save_figure,
    save_image_grid,
)
from semdistill.results import Results


# ---- plots ---------------------------------------------------------------------------------
def heatmap_figure(grid: Results, a: str, b: str, channel: str, metric: str = "psnr") -> Any:
    """``metric`` of method ``a`` minus method ``b`` [dB] over rate (rows) × SNR (columns),
    over ``channel`` (its description). Returns the figure."""
    import matplotlib.pyplot as plt  # the Agg backend is chosen by semdistill.figures

    rates = sorted({r["rate"] for r in grid.records})
    snrs = sorted({r["snr_db"] for r in grid.records})
    val = {(r["method"], r["rate"], r["snr_db"]): r[metric] for r in grid.records}
    gain = [[val[(a, ri, s)] - val[(b, ri, s)] for s in snrs] for ri in rates]
    fig, ax = plt.subplots(figsize=(1.6 + 0.8 * len(snrs), 1.4 + 0.6 * len(rates)), dpi=150)
    im = ax.imshow(gain, cmap="viridis", aspect="auto", origin="lower")
    for i in range(len(rates)):
        for j in range(len(snrs)):
            ax.text(j, i, f"{gain[i][j]:.1f}", ha="center", va="center", color="w", fontsize=8)
    symbols = {r["rate"]: r["symbols"] for r in grid.records}
    ax.set_xticks(range(len(snrs)), [f"{s:g}" for s in snrs])
    ax.set_yticks(range(len(rates)), [f"{symbols[r]}" for r in rates])
    ax.set_xlabel("SNR [dB]")
    ax.set_ylabel("K_r [symbols]")
    ax.set_title(f"{label(metric)}: {display_name(a)} − {display_name(b)}\n{channel}",
                 fontsize=8)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def grid_figures(grid: Results, refs: Results, suffix: str = "") -> dict[str, Any]:
    """file name → figure for one grid: image PSNR vs SNR (a panel per rate, shared y range),
    latent PSNR at the highest rate, the CALA gain heatmap and quality (latent PSNR, image PSNR,
    SSIM, consistency) against bytes; every title names the grid's channel. ``suffix`` tells
    the grids of ``semdistill eval`` apart."""
    channel = channel_text(grid.meta)
    rates = sorted({(r["rate"], r["symbols"]) for r in grid.records})
    out = {f"psnr-vs-snr{suffix}.png": panel_figure(
        [Panel(grid, {"rate": r}, f"K_r = {k} symbols") for r, k in rates], "snr_db", "psnr",
        title=f"user image PSNR vs SNR\n{channel}")}
    top, k = rates[-1]
    out[f"latent-psnr-vs-snr{suffix}.png"] = metric_figure(
        grid, "snr_db", "latent_psnr", where={"rate": top},
        title=f"latent PSNR vs SNR, K_r = {k} symbols\n{channel}")
    if any(r["method"] == "cala" for r in grid.records):
        out[f"cala-gain-heatmap{suffix}.png"] = heatmap_figure(grid, "cala", "base", channel)
    out[f"quality-vs-bytes{suffix}.png"] = quality_vs_bytes_figure(grid, refs, channel)
    return out


def channel_text(meta: Mapping[str, Any]) -> str:
    """The grid's channel as a sentence (runs made before ``channel_text`` give their key)."""
    return str(meta.get("channel_text") or meta.get("channel", "the run's channel"))


def plot_samples(cfg: DekagConfig, run_dir: RunDir, ev: Evaluation, data: Mapping[str, Any],
                 methods: list[str], base: nn.Module, snr_list: list[float]) -> list[str]:
    """Cloud, edge and every method's user images at (rate 1, SNR nearest 0 dB) and at (the
    highest rate, the highest SNR) over the codec's channel; returns the grids' paths relative
    to the run (``plots/samples-<channel>-rate<r>-snr<snr>.png``)."""
    ch = cfg.codec.channel
    grids = []
    edge_img = ev.edge.decode_latents(data["test"][: cfg.eval.grid_images]).cpu()
    cloud_img = data["cloud_test"][: cfg.eval.grid_images]
    conditions = [(min(1, base.num_rates - 1), min(snr_list, key=lambda s: abs(s - 0.0))),
                  (base.num_rates - 1, max(snr_list))]
    for r, snr in conditions:
        rows, labels = [cloud_img, edge_img], ["cloud", "edge (aligned)"]
        for m in methods:
            rows.append(ev.samples[f"{m}|{r}|{snr:g}"])
            labels.append(display_name(m))
        path = save_image_grid(run_dir.plots / f"samples-{ch.name}-rate{r}-snr{snr:g}.png",
                               rows, labels, f"user images at K_r = {base.rates[r]} symbols, "
                                             f"{snr:g} dB, {ch.describe()}")
        grids.append(str(path.relative_to(run_dir.path)))
    return grids


def plot_evaluation(cfg: DekagConfig, run_dir: RunDir, ev: Evaluation,
                    models: Mapping[str, nn.Module], data: Mapping[str, Any],
                    snr_list: list[float]) -> dict[str, Any]:
    """The sample grids of an evaluation (drawn from its images; every other plot is drawn by
    :func:`build_report` from the results): ``{"grids": [paths in the run]}``."""
    return {"grids": plot_samples(cfg, run_dir, ev, data, list(models), models["base"],
                                  snr_list)}


# ---- checks --------------------------------------------------------------------------------
def mean_of(records: list[dict[str, Any]], key: str) -> float:
    """Mean of ``key`` over the records that have it (NaN when none do)."""
    vals = [r[key] for r in records if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else math.nan


def _methods_table(grid: Results, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for m in sorted({r["method"] for r in grid.records}, key=method_order):
        recs = grid.select(method=m)
        t = meta.get("trainable", {}).get(m, {})
        rows.append({"method": display_name(m), "trainable": t.get("trainable"),
                     "fraction": f"{t.get('fraction', 0):.2%}",
                     "train s": meta.get("train", {}).get(m, {}).get("seconds"),
                     "PSNR": mean_of(recs, "psnr"), "latent PSNR": mean_of(recs, "latent_psnr"),
                     "SSIM": mean_of(recs, "ssim"), "consistency": mean_of(recs, "consistency")})
    return rows


def _bytes_table(grid: Results, refs: Results) -> list[dict[str, Any]]:
    """The link at each rate (CALA's figures at the highest SNR) and every reference."""
    top = max(r["snr_db"] for r in grid.records)
    cala = {r["rate"]: r for r in grid.select(method="cala", snr_db=top)}
    rates = sorted({(r["rate"], r["symbols"], r["bytes"]) for r in grid.records})

    def row(link: str, bytes_: float, r: Mapping[str, Any]) -> dict[str, Any]:
        return {"link": link, "bytes": bytes_, "latent PSNR": r.get("latent_psnr"),
                "PSNR vs edge image": quality_text(r.get("psnr")) if r else "",
                "SSIM vs edge image": r.get("ssim"), "consistency": r.get("consistency")}

    return ([row(f"prompt + K_r={k} symbols" + (f" (CALA, {top:g} dB)" if cala else ""), b,
                 cala.get(i, {})) for i, k, b in rates]
            + [row(r["reference"], r["bytes"], r) for r in refs.records])


def _bytes_text(grid: Results) -> tuple[str, list[str]]:
    """What ``plots/quality-vs-bytes.png`` draws, and one line per panel."""
    top = max(r["snr_db"] for r in grid.records)
    what = {"latent_psnr": "the received latent against the sent one (for JPEG: the decoded "
                           "file encoded by the edge VAE, so it includes the VAE's own "
                           "encode–decode error, the edge PNG row below)",
            "psnr": "the user's image against the aligned edge's own image",
            "ssim": "the same images' structural similarity",
            "consistency": "the user's images to the cloud's images"}
    return (f"`plots/quality-vs-bytes.png`: every method at {top:g} dB (one point per rate, "
            "the prompt's bytes included) and JPEG of the edge image over its quality sweep "
            "(file bytes, error-free), against bytes per image (log scale); one panel each:",
            [f"{label(m)}: {what[m]}" for m, _ in QUALITY_PANELS
             if any(m in r for r in grid.records)])


def _setting(meta: Mapping[str, Any]) -> str:
    """The paragraph on the setting (edge, cloud, subject, alignment, codec, channel)."""
    subject = meta.get("subject") or {}
    subject_text = " ".join(str(subject[k]) for k in ("size", "color", "shape", "style")
                            if k in subject) or "none"
    al = meta.get("alignment")
    if isinstance(al, Mapping):
        al = (f"MAKD deliverable ({al.get('params')} parameters, {al.get('bytes')} bytes, "
              f"metaword {al.get('token')}; {al.get('source')})")
    rates = ", ".join(str(k) for k in meta.get("rates", []))
    return (f"Edge: {meta.get('edge')}; cloud: {meta.get('cloud')}; held-out subject: "
            f"{subject_text}; alignment: {al or 'none'}. Codec: {meta.get('codec_params')} "
            f"parameters, K_max = {meta.get('k_max')}, rates K_r = {rates} symbols, "
            f"{meta.get('constellation')}; channel: {channel_text(meta)}. Image PSNR is "
            "measured against the aligned edge's own image (VAE decode of the sent latent); "
            f"consistency against the cloud's images "
            f"({', '.join(meta.get('embedders', [])) or 'none'}). Wall time "
            f"{meta.get('seconds', 0):.0f} s.")


def _grid_files(run_dir: RunDir) -> list[tuple[str, Results]]:
    """(plot suffix, grid): the run's grid first, then each ``semdistill eval`` grid
    (``results/dekag-grid-<channel>.json``, suffix ``-<channel>``)."""
    out = [("", Results.load(run_dir.results / "dekag-grid.json"))]
    for path in sorted(run_dir.results.glob("dekag-grid-*.json")):
        out.append((path.stem.removeprefix("dekag-grid"), Results.load(path)))
    return out


def _images(rep: MarkdownReport, paths: Iterable[str]) -> None:
    for p in paths:
        rep.image(p, Path(p).stem)


def _appendix(rep: MarkdownReport, grids: list[tuple[str, Results]]) -> None:
    rep.section("Appendix: every grid record")
    for _, grid in grids:
        rep.text(f"**{channel_text(grid.meta)}** ({len(grid.records)} records):")
        rep.table([{**r, "method": display_name(r["method"])} for r in grid.records])


def build_report(run_dir: RunDir) -> Path:
    """``report.md`` and every plot of it from ``results/dekag-grid*.json`` and
    ``results/dekag-bytes.json`` (the sample grids are drawn by the evaluation)."""
    _, cfg = load_config(run_dir.config_data(), source=str(run_dir.path / "config.yaml"))
    grids = _grid_files(run_dir)
    refs = Results.load(run_dir.results / "dekag-bytes.json")
    drawn: dict[str, list[str]] = {}
    for suffix, g in grids:
        drawn[suffix] = [str(save_figure(fig, run_dir.plots / name).relative_to(run_dir.path))
                         for name, fig in grid_figures(g, refs, suffix).items()]
    grid = grids[0][1]
    meta = grid.meta
    rep = MarkdownReport("DeKA-g transmission alignment: CALA and the end-to-end link")
    rep.text(_setting(meta))
    ref_checks, ref_note = reference_for(cfg)
    rep.section(REQUIRED_RESULTS).bullets(
        check_lines(claims_of(cfg, grid, refs, ref_checks)) + bytes_notes(grid, refs))
    if ref_note:
        rep.text(ref_note)
    rep.section(f"Methods (averages over the rate × SNR grid, {channel_text(meta)})").table(
        _methods_table(grid, meta))
    rep.section("PSNR vs SNR per rate")
    _images(rep, [p for p in drawn[""] if "psnr" in p])
    if any(r["method"] == "cala" for r in grid.records):
        rep.section("CALA gain over the base codec").image("plots/cala-gain-heatmap.png", "gain")
    rep.section("Bytes per image vs PNG / JPEG")
    _images(rep, [p for p in drawn[""] if "quality-vs-bytes" in p])
    head, panels = _bytes_text(grid)
    rep.text(head).bullets(panels)
    rep.table(_bytes_table(grid, refs))
    report_digital(rep, run_dir, grid)
    rep.section("Samples")
    _images(rep, meta.get("grids", []))
    if meta.get("merge_check"):
        rep.section("CALA merge check").text(
            "Max |merged − gated| latent difference over fixed conditions: "
            f"{meta['merge_check']:.2e}.")
    for suffix, g in grids[1:]:
        rep.section(f"Re-evaluation over {channel_text(g.meta)}")
        snrs = ", ".join(f"{v:g}" for v in sorted({r["snr_db"] for r in g.records}))
        rep.text(f"`semdistill eval`: the trained codecs, unchanged, over "
                 f"{channel_text(g.meta)} at {snrs} dB (results/dekag-grid{suffix}.json).")
        rep.table(_methods_table(g, g.meta))
        _images(rep, drawn[suffix] + list(g.meta.get("grids", [])))
    readings_section(rep, cfg, "dekag")
    _appendix(rep, grids)
    return rep.save(run_dir.report_path)
