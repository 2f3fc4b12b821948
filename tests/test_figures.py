"""Figures: metric plots from results records and labelled image grids."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from semdistill.figures import save_image_grid


def test_image_grid_writes_one_png_row_per_labelled_batch(tmp_path):
    rows = [torch.rand(3, 3, 8, 8), torch.zeros(3, 3, 8, 8)]
    out = save_image_grid(tmp_path / "g.png", rows, ["cloud", "edge"], title="t")
    with Image.open(out) as im:
        assert im.format == "PNG" and im.height > im.width / 4
    one = save_image_grid(tmp_path / "one.png", rows[:1], ["only"])
    assert one.is_file()


def test_image_grid_needs_one_label_per_row(tmp_path):
    with pytest.raises(ValueError):
        save_image_grid(tmp_path / "g.png", [torch.rand(2, 3, 8, 8)] * 2, ["one"])


# ---- one figure style ---------------------------------------------------------------------
import math  # noqa: E402

from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from semdistill.figures import (  # noqa: E402
    METHOD_STYLES,
    Panel,
    display_name,
    metric_figure,
    panel_figure,
    style,
)
from semdistill.results import Results  # noqa: E402
from semdistill.utils.stats import t975, t_interval  # noqa: E402

#: the methods each system reports (results' ``method`` keys), plus the shared references.
SYSTEM_METHODS = {
    "ltsc": ["prestored", "prestored-nonadaptive", "online", "scratch", "teacher", "chance",
             "store", "digital"],
    "dekag": ["base", "shared_lora", "vgsa", "cala", "full_ft", "jpeg", "digital"],
    "makd": ["none", "metaword", "lora", "makd"],
}


def test_every_method_has_one_fixed_colour_distinct_within_its_system():
    for system, keys in SYSTEM_METHODS.items():
        assert all(k in METHOD_STYLES for k in keys), system
        colours = [METHOD_STYLES[k].color for k in keys]
        assert len(set(colours)) == len(colours), system
        names = [METHOD_STYLES[k].name for k in keys]
        assert len(set(names)) == len(names) and all("_" not in n for n in names), system
    # variants keep their base method's colour and get a readable name
    assert style("prestored-s3") == style("prestored").__class__("pre-stored KD, seed 3",
                                                               style("prestored").color)
    assert style("scratch-f0.25").color == METHOD_STYLES["scratch"].color
    assert display_name("scratch-f0.25").endswith("fraction 0.25")
    assert style("digital-webp").color == METHOD_STYLES["digital"].color
    # an unknown key has a colour that does not depend on the figure it is drawn in
    assert style("mystery_method") == style("mystery_method")
    assert display_name("mystery_method") == "mystery method"


def _seeded(n_seeds: int) -> Results:
    res = Results("ltsc", "accuracy-vs-snr")
    for seed in range(n_seeds):
        for snr in (-5.0, 0.0, 5.0):
            for method in ("prestored", "online"):
                res.add(method=method, channel="awgn", snr_db=snr, seed=seed,
                        accuracy=0.5 + 0.02 * snr + 0.01 * seed + (method == "online") * 0.1)
    return res


def test_error_bars_are_the_95_percent_t_interval_over_seeds():
    import matplotlib.pyplot as plt

    fig = metric_figure(_seeded(4), "snr_db", "accuracy")
    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # one per method
    bar = next(b for b in bars if b.get_label() == "pre-stored KD")
    line = bar.lines[0]
    assert to_hex(line.get_color()) == METHOD_STYLES["prestored"].color
    per_seed = [0.5 + 0.01 * s for s in range(4)]  # at 0 dB
    lo, mean, hi = t_interval(per_seed)
    i = list(line.get_xdata()).index(0.0)
    assert line.get_ydata()[i] == pytest.approx(mean)
    segments = bar.lines[2][0].get_segments()
    assert segments[i][0][1] == pytest.approx(lo) and segments[i][1][1] == pytest.approx(hi)
    plt.close(fig)
    mixed = _seeded(3)
    mixed.add(method="scratch", channel="awgn", snr_db=0.0, accuracy=0.01)  # one seed only
    fig = metric_figure(mixed, "snr_db", "accuracy", references={"chance": 0.1})
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "pre-stored KD"  # fixed order
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "pre-stored KD", "online KD", display_name("scratch"), display_name("chance")]
    assert fig.axes[0].get_ylim()[0] == 0.0  # accuracy's error bars stop at 0
    plt.close(fig)
    one = metric_figure(_seeded(1), "snr_db", "accuracy")  # one seed: plain lines
    assert not [c for c in one.axes[0].containers if isinstance(c, ErrorbarContainer)]
    plt.close(one)


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 40), 50, 100, 1000]:
        assert t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-4), df
    with pytest.raises(ValueError):
        t975(0)
    values = [1.0, 2.0, 4.0]
    half = stats.t.ppf(0.975, 2) * stats.sem(values)
    assert t_interval(values) == pytest.approx((7 / 3 - half, 7 / 3, 7 / 3 + half), abs=1e-4)
    assert t_interval([3.0]) == (3.0, 3.0, 3.0)


def test_reference_lines_and_shared_y_in_a_panel_figure():
    import matplotlib.pyplot as plt

    res = _seeded(1)
    for r in res.records[:6]:
        res.add(**{**r, "channel": "rayleigh", "accuracy": r["accuracy"] - 0.3})
    fig = panel_figure([Panel(res, {"channel": c}, c) for c in ("awgn", "rayleigh")], "snr_db",
                       "accuracy", references={"teacher": 0.9, "chance": 0.125}, title="t")
    a, b = fig.axes
    assert a.get_ylim() == b.get_ylim()  # one y range for every panel
    for ax in (a, b):
        refs = {ln.get_label(): ln.get_ydata()[0] for ln in ax.get_lines()
                if ln.get_label() in (display_name("teacher"), display_name("chance"))}
        assert refs == {display_name("teacher"): 0.9, display_name("chance"): 0.125}
    labels = fig.axes[-1].get_legend_handles_labels()[1]
    assert labels.count(display_name("teacher")) == 1  # the legend names it once
    plt.close(fig)


def test_lossless_relative_gain_and_sorted_columns_in_reports():
    from semdistill.experiments.report import gain_text, pivot, quality_text, relative_gain

    assert quality_text(100.0) == "lossless" and quality_text(31.234) == "31.23"
    assert relative_gain(0.6, 0.5) == pytest.approx(0.2) and gain_text(0.6, 0.5) == "+20.0%"
    assert relative_gain(0.05, -0.0102) is None  # the MAKD "-574.3%" case
    assert gain_text(0.05, -0.0102) == "+0.0602 abs." and gain_text(0.3, 0.0) == "+0.3000 abs."
    assert relative_gain(1.0, math.nan) is None
    recs = [{"method": "a", "snr_db": s, "accuracy": s / 10} for s in (0.0, 10.0, -5.0, 5.0)]
    rows = pivot(recs, ("method",), "snr_db", "accuracy", name=lambda k, v: v.upper())
    assert list(rows[0]) == ["method", "-5 dB", "0 dB", "5 dB", "10 dB"]
    assert rows[0]["method"] == "A" and rows[0]["-5 dB"] == -0.5

