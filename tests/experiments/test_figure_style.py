"""Every figure the systems write uses the one style of semdistill.figures: a method keeps its
colour and display name in every figure, LTSC curves carry teacher and chance lines, and each
title names the channel. Figures are built from hand-made results (no training)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer

from semdistill.experiments.dekag.report import grid_figures
from semdistill.experiments.ltsc.config import LTSCConfig
from semdistill.experiments.ltsc.report import figures as ltsc_figures
from semdistill.figures import METHOD_STYLES, display_name, metric_figure
from semdistill.results import Results

LTSC = ("prestored", "online", "scratch", "prestored-nonadaptive")
DEKAG = ("base", "shared_lora", "vgsa", "cala", "full_ft")


def legend_colours(fig) -> dict[str, set[str]]:
    """legend label → the colours of every line (or error-bar line) carrying it, all axes."""
    out: dict[str, set[str]] = {}
    for ax in fig.axes:
        for handle, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            line = handle.lines[0] if isinstance(handle, ErrorbarContainer) else handle
            out.setdefault(lab, set()).add(to_hex(line.get_color()))
    return out


def collect(figs) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for fig in figs:
        for lab, colours in legend_colours(fig).items():
            seen.setdefault(lab, set()).update(colours)
    return seen


def assert_one_style(seen: dict[str, set[str]]) -> None:
    """Every legend label is a display name (variants: ``name, qualifier``) in its colour."""
    by_name = {s.name: s.color for s in METHOD_STYLES.values()}
    assert seen
    for lab, colours in seen.items():
        base = lab if lab in by_name else lab.rsplit(", ", 1)[0]
        assert base in by_name, f"legend {lab!r} is not a display name"
        assert colours == {by_name[base]}, lab


def _ltsc_results():
    acc = Results("ltsc", "accuracy-vs-snr", meta={"train_channel": "awgn", "repeats": 1})
    for ch in ("rayleigh", "awgn"):
        for snr in (10.0, -5.0, 0.0):
            for i, m in enumerate(LTSC):
                acc.add(method=m, channel=ch, snr_db=snr, accuracy=0.3 + 0.02 * snr + 0.05 * i)
    fr = Results("ltsc", "accuracy-vs-fraction", meta={"channel": "awgn", "snr_db": 10.0})
    for f in (0.1, 0.25, 1.0):
        fr.add(method="prestored", fraction=f, accuracy=0.5 + f / 4)
        fr.add(method="scratch", fraction=f, accuracy=0.3 + f / 4)
    times = Results("ltsc", "distill-time")
    for m in (*LTSC, "prestored-f0.1", "prestored-s3"):
        times.add(method=m, fraction=1.0, steps=100, seconds=10.0)
    info = {"teacher": {"test_accuracy": 0.92}, "store": {"num_classes": 8, "seconds": 4.0}}
    return LTSCConfig(), info, acc, fr, times


def _dekag_results(channel: str, text: str):
    grid = Results("dekag", "dekag-grid", meta={"channel": channel, "channel_text": text})
    for r, k in enumerate((16, 64)):
        for snr in (0.0, 10.0):
            for i, m in enumerate(DEKAG):
                grid.add(method=m, channel=channel, rate=r, symbols=k, snr_db=snr,
                         bytes=40.0 + 20 * r, psnr=20 + snr / 5 + i, latent_psnr=15 + i,
                         ssim=0.5 + 0.02 * i + 0.01 * snr,
                         consistency=0.5 + 0.05 * i + 0.1 * r)
    refs = Results("dekag", "dekag-bytes")
    for q, b in ((10, 600.0), (50, 700.0), (75, 760.0)):
        refs.add(reference=f"edge image, JPEG q{q}", quality=q, bytes=b, consistency=0.6, psnr=30.,
                 ssim=0.8, latent_psnr=28.0)
    return grid, refs


def test_each_method_has_its_one_colour_and_name_in_every_figure_of_every_system():
    figs = dict(ltsc_figures(*_ltsc_results()))
    for ch, text in (("rayleigh_block", "Rayleigh block fading (J = 4 blocks)"), ("awgn", "AWGN")):
        grid, refs = _dekag_results(ch, text)
        figs.update({f"{ch}/{k}": v for k, v in grid_figures(grid, refs, f"-{ch}").items()})
    makd = Results("makd", "consistency")
    for step in (0, 2, 4):
        for m in ("none", "metaword", "lora", "makd"):
            makd.add(method=m, subject="red triangle", step=step, consistency=0.1 * step)
    figs["makd"] = metric_figure(makd, "step", "consistency", group_by=("method", "subject"))
    seen = collect([f for k, f in figs.items() if not k.endswith("distill-time.png")])
    assert_one_style(seen)
    assert {display_name(m) for m in (*LTSC, *DEKAG, "jpeg", "teacher", "chance")} <= set(seen)
    # the time bars: a method's bar has its colour, the store's build time is one of them
    bars = figs["distill-time.png"].axes[0]
    names = [t.get_text() for t in bars.get_yticklabels()]
    colours = {n: to_hex(p.get_facecolor()) for n, p in zip(names, bars.patches, strict=True)}
    assert colours[display_name("store")] == METHOD_STYLES["store"].color
    assert colours[display_name("prestored-s3")] == METHOD_STYLES["prestored"].color
    assert colours[display_name("online")] == METHOD_STYLES["online"].color
    plt.close("all")


def test_ltsc_curves_carry_teacher_and_chance_lines_and_name_the_channel():
    cfg, info, acc, fr, times = _ltsc_results()
    figs = ltsc_figures(cfg, info, acc, fr, times)
    snr = figs["accuracy-vs-snr.png"]
    assert [ax.get_title() for ax in snr.axes] == ["evaluated on AWGN",
                                                   "evaluated on Rayleigh fading"]
    assert "trained on AWGN" in snr._suptitle.get_text()
    assert snr.axes[0].get_ylim() == snr.axes[1].get_ylim()
    for fig in (snr, figs["accuracy-vs-fraction.png"]):
        for ax in fig.axes:
            lines = {ln.get_label(): ln.get_ydata()[0] for ln in ax.get_lines()}
            assert lines[display_name("teacher")] == 0.92
            assert lines[display_name("chance")] == 1 / 8
    frac = figs["accuracy-vs-fraction.png"].axes[0]
    assert frac.get_xscale() == "log"
    assert [t.get_text() for t in frac.get_xticklabels()] == ["0.1", "0.25", "1"]
    plt.close("all")


def test_dekag_grid_figures_have_one_multi_panel_psnr_figure_naming_the_channel():
    grid, refs = _dekag_results("awgn", "AWGN")
    figs = grid_figures(grid, refs, "-awgn")
    assert set(figs) == {"psnr-vs-snr-awgn.png", "latent-psnr-vs-snr-awgn.png",
                         "cala-gain-heatmap-awgn.png", "quality-vs-bytes-awgn.png"}
    psnr = figs["psnr-vs-snr-awgn.png"]
    assert [ax.get_title() for ax in psnr.axes] == ["K_r = 16 symbols", "K_r = 64 symbols"]
    assert psnr.axes[0].get_ylim() == psnr.axes[1].get_ylim()  # shared y range
    assert "AWGN" in psnr._suptitle.get_text()
    for name in ("latent-psnr-vs-snr-awgn.png", "quality-vs-bytes-awgn.png"):
        assert "AWGN" in figs[name]._suptitle.get_text()
    assert "AWGN" in figs["cala-gain-heatmap-awgn.png"].axes[0].get_title()
    plt.close("all")


def _lines(ax) -> dict[str, tuple[list[float], list[float]]]:
    return {ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata())) for ln in ax.get_lines()}


def test_quality_vs_bytes_has_a_panel_per_metric_on_one_log_bytes_axis():
    grid, refs = _dekag_results("awgn", "AWGN")
    fig = grid_figures(grid, refs)["quality-vs-bytes.png"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["latent PSNR [dB]", "PSNR [dB]", "SSIM",
                                                    "consistency (cosine)"]
    assert all(ax.get_xscale() == "log" and ax.get_xlabel() == "bytes per image"
               for ax in fig.axes)
    assert fig.axes[0].get_ylim() != fig.axes[2].get_ylim()  # each metric its own range
    assert "10 dB over AWGN" in fig._suptitle.get_text()
    cala = display_name("cala")
    for ax, metric in zip(fig.axes, ("latent_psnr", "psnr", "ssim", "consistency"), strict=True):
        lines = _lines(ax)
        # each method at the highest SNR, one point per rate; JPEG over its quality sweep
        top = sorted((r["bytes"], r[metric]) for r in grid.select(method="cala", snr_db=10.0))
        assert list(zip(*lines[cala], strict=True)) == top
        assert lines[display_name("jpeg")][0] == [600.0, 700.0, 760.0]
    assert_one_style(legend_colours(fig))
    plt.close("all")


def test_quality_vs_bytes_leaves_out_what_the_records_lack():
    grid, refs = _dekag_results("awgn", "AWGN")
    for r in grid.records:
        del r["consistency"]  # no consistency metric configured
    for r in refs.records:  # a run made before the JPEG records carried SSIM
        del r["ssim"], r["consistency"]
    fig = grid_figures(grid, refs)["quality-vs-bytes.png"]
    assert [ax.get_ylabel() for ax in fig.axes] == ["latent PSNR [dB]", "PSNR [dB]", "SSIM"]
    assert display_name("jpeg") in _lines(fig.axes[1])
    assert display_name("jpeg") not in _lines(fig.axes[2])
    plt.close("all")
