"""Plots that read results records, in one figure style shared by every system.

* :data:`METHOD_STYLES`: a fixed method key → (display name, colour) map. Every figure the
  systems write takes a method's colour and legend name from it, so CALA is the same colour in
  every DeKA-g figure and no legend shows a raw key. Keys not in the map (variants such as
  ``prestored-s3`` or ``prestored-f0.5``) take their base method's colour (:func:`style`).
* :func:`metric_figure`: ``y`` against ``x``, one line per group; several records at one ``x``
  (several seeds) are drawn as their mean with a 95% Student-t interval as error bars;
  horizontal reference lines (``teacher``, ``chance``) are named in the legend.
* :func:`panel_figure`: one panel per subset of the records (per rate, per channel) side by
  side with a shared y range, or one panel per metric (``Panel.y``) over a shared x axis; the
  figure title names the setting (the channel).
* :func:`bar_figure`: horizontal bars (wall times), coloured by method.
* :func:`save_figure`: render and write atomically.
"""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from semdistill.results import Results  # noqa: E402
from semdistill.utils.io import atomic_write_bytes  # noqa: E402
from semdistill.utils.stats import t_interval  # noqa: E402

AXIS_LABELS = {
    "snr_db": "SNR [dB]",
    "rate": "rate index",
    "bandwidth_ratio": "bandwidth ratio K/N",
    "fraction": "training-data fraction",
    "step": "distillation steps",
    "accuracy": "top-1 accuracy",
    "psnr": "PSNR [dB]",
    "latent_psnr": "latent PSNR [dB]",
    "ssim": "SSIM",
    "consistency": "consistency (cosine)",
    "bytes": "bytes per image",
    "seconds": "wall time [s]",
    "acc_shape": "shape accuracy",
    "acc_color": "color accuracy",
    "acc_style": "style accuracy",
    "acc_size": "size accuracy",
    "acc_background": "background accuracy",
}


#: metrics with a natural range: y axes (and so error bars) stop at its bounds.
BOUNDED = {"accuracy": (0.0, 1.0), **{f"acc_{a}": (0.0, 1.0) for a in
                                       ("shape", "color", "style", "size", "background")}}


@dataclass(frozen=True)
class Style:
    """How a method appears in every figure and table: its display name and its colour."""

    name: str
    color: str


#: method key → style. Colours are distinct within each system's set (Okabe–Ito and tab10).
METHOD_STYLES: dict[str, Style] = {
    # references
    "teacher": Style("teacher (no channel)", "#000000"),
    "chance": Style("chance", "#7f7f7f"),
    "store": Style("knowledge store build (once)", "#bcbd22"),
    "digital": Style("digital (JPEG/WebP + 5G LDPC + QAM)", "#8c564b"),
    "digital-envelope": Style("digital, best configuration (JPEG/WebP + 5G LDPC + QAM)",
                              "#8c564b"),
    "jpeg": Style("JPEG (edge image)", "#ff7f0e"),
    # LTSC
    "prestored": Style("pre-stored KD", "#0072b2"),
    "prestored-nonadaptive": Style("pre-stored KD, non-adaptive", "#56b4e9"),
    "online": Style("online KD", "#e69f00"),
    "scratch": Style("from scratch (no teacher)", "#cc79a7"),
    # DeKA-g transmission alignment
    "base": Style("base codec (no alignment)", "#7f7f7f"),
    "base_matched": Style("base codec, matched channel (no alignment)", "#393b79"),
    "shared_lora": Style("shared LoRA", "#1f77b4"),
    "vgsa": Style("VGSA", "#2ca02c"),
    "cala": Style("CALA", "#d62728"),
    "full_ft": Style("full fine-tuning", "#9467bd"),
    # MAKD generation alignment
    "none": Style("no alignment", "#7f7f7f"),
    "metaword": Style("metaword only", "#e69f00"),
    "lora": Style("LoRA only", "#1f77b4"),
    "makd": Style("MAKD", "#d62728"),
}

#: colours for keys without a style (chosen by a stable hash of the key).
_SPARE = ("#17becf", "#e377c2", "#aec7e8", "#98df8a", "#ffbb78")
#: variant suffixes of a method key: ``-s<seed>`` (extra seed), ``-f<fraction>``, ``-<tag>``.
_VARIANT = re.compile(r"^(?P<base>.+?)-(?:s(?P<seed>\d+)|f(?P<frac>[0-9.e-]+)|(?P<tag>\w+))$")

def style(key: Any) -> Style:
    """The style of method ``key``; a variant (``prestored-s3``, ``prestored-f0.5``,
    ``digital-webp``) takes its base method's colour and a qualified name."""
    key = str(key)
    if key in METHOD_STYLES:
        return METHOD_STYLES[key]
    m = _VARIANT.match(key)
    if m and m["base"] in METHOD_STYLES:
        base = METHOD_STYLES[m["base"]]
        what = (f"seed {m['seed']}" if m["seed"] else f"fraction {m['frac']}" if m["frac"]
                else m["tag"].replace("_", " "))
        return Style(f"{base.name}, {what}", base.color)
    digest = int(hashlib.sha1(key.encode()).hexdigest(), 16)
    return Style(key.replace("_", " "), _SPARE[digest % len(_SPARE)])


def method_order(key: Any) -> tuple[int, str]:
    """Sort key of a method: its base method's place in :data:`METHOD_STYLES`, then the key."""
    key = str(key)
    m = _VARIANT.match(key)
    base = key if key in METHOD_STYLES else (m["base"] if m else key)
    keys = list(METHOD_STYLES)
    return (keys.index(base) if base in METHOD_STYLES else len(keys), key)


def display_name(key: Any) -> str:
    """The legend/table name of method ``key``."""
    return style(key).name


def label(key: str) -> str:
    """The axis label of field ``key``."""
    return AXIS_LABELS.get(key, key.replace("_", " "))


def save_figure(fig: Any, out: str | Path, **savefig_kw: Any) -> Path:
    """Render ``fig`` (format from the suffix), close it, and write the file atomically.

    Ranks of a multi-process run may write the same figure; the rename keeps each file whole.
    """
    out = Path(out)
    buf = io.BytesIO()
    fig.savefig(buf, format=out.suffix.lstrip(".") or "png", **savefig_kw)
    plt.close(fig)
    return atomic_write_bytes(out, buf.getvalue())


@dataclass(frozen=True)
class Panel:
    """One axes of a :func:`panel_figure`: the records of ``results`` matching ``where``, and
    ``y``, the field this panel draws (None: the figure's ``y``)."""

    results: Results | Sequence[Results]
    where: Mapping[str, Any] | None = None
    title: str | None = None
    y: str | None = None


def aggregate(points: Sequence[tuple[float, float]]
              ) -> tuple[list[float], list[float], list[float]]:
    """(xs, means, half-widths of the 95% t-interval) of ``(x, y)`` points, by increasing x.

    Several points at one x are repeated measurements (seeds): their mean and interval; one
    point has a zero half-width.
    """
    by_x: dict[float, list[float]] = defaultdict(list)
    for x, y in points:
        by_x[x].append(y)
    xs = sorted(by_x)
    stats = [t_interval(by_x[x]) for x in xs]
    return xs, [m for _, m, _ in stats], [hi - m for _, m, hi in stats]


def _group_points(res: Results, x: str, y: str, group_by: Sequence[str],
                  where: Mapping[str, Any]) -> dict[tuple[Any, ...], list[tuple[float, float]]]:
    groups: dict[tuple[Any, ...], list[tuple[float, float]]] = defaultdict(list)
    for r in res.select(**where):
        if r.get(x) is not None and r.get(y) is not None:
            groups[tuple(r.get(g) for g in group_by)].append((r[x], r[y]))
    return groups


def _group_label(group_by: Sequence[str], key: tuple[Any, ...]) -> tuple[str, str | None]:
    """(legend name, colour) of a group: the method's style, other fields appended."""
    fields = dict(zip(group_by, key, strict=True))
    method = fields.pop("method", None)
    rest = ", ".join(str(v) for v in fields.values() if v is not None)
    if method is None:
        return rest, None
    st = style(method)
    return (f"{st.name}, {rest}" if rest else st.name), st.color


def draw_metric(ax: Any, results: Results | Sequence[Results], x: str, y: str, *,
                group_by: Sequence[str] = ("method",), where: Mapping[str, Any] | None = None,
                references: Mapping[str, float] | None = None) -> tuple[set[float], list[str]]:
    """Draw ``y`` against ``x`` into ``ax``, one line per ``group_by`` group (colour and name
    from :func:`style`; further group fields change the line style), with error bars where
    a group has several records at one x, and a dashed line per ``references`` entry (method
    key → value). Returns (the x values drawn, the legend labels in drawing order)."""
    items = [results] if isinstance(results, Results) else list(results)
    drawn: set[float] = set()
    labels: list[str] = []
    dashes = ("-", "--", ":", "-.")
    for res in items:
        prefix = f"{res.name}: " if len(items) > 1 else ""
        groups = _group_points(res, x, y, group_by, where or {})
        others: dict[tuple[Any, ...], int] = {}
        for key in sorted(groups, key=lambda k: (method_order(dict(zip(group_by, k, strict=True))
                                                            .get("method", "")), str(k))):
            name, color = _group_label(group_by, key)
            rest = tuple(k for g, k in zip(group_by, key, strict=True) if g != "method")
            ls = dashes[others.setdefault(rest, len(others)) % len(dashes)]
            xs, ys, err = aggregate(groups[key])
            kw = {"marker": "o", "markersize": 3.5, "linewidth": 1.5, "linestyle": ls,
                  "label": prefix + (name or label(y)), "color": color}
            if any(e > 0 for e in err):
                ax.errorbar(xs, ys, yerr=err, capsize=2.5, **kw)
            else:
                ax.plot(xs, ys, **kw)
            drawn.update(xs)
            labels.append(kw["label"])
    for key, value in (references or {}).items():
        st = style(key)
        ax.axhline(value, color=st.color, linestyle="--" if key == "teacher" else ":",
                   linewidth=1.2, label=st.name)
        labels.append(st.name)
    return drawn, labels


def _finish_axes(ax: Any, x: str, y: str, logx: bool, logy: bool, title: str | None) -> None:
    """Scales (log axes labelled in plain numbers, no offset), labels, grid and title."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for on, axis, scale in ((logx, ax.xaxis, ax.set_xscale), (logy, ax.yaxis, ax.set_yscale)):
        if on:
            scale("log")
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        else:
            axis.get_major_formatter().set_useOffset(False)
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)


def _data_ticks(ax: Any, values: Sequence[float]) -> None:
    """Tick exactly ``values`` on the x axis (no minor ticks)."""
    ax.set_xticks(list(values), [f"{v:g}" for v in values])
    ax.minorticks_off()


def panel_figure(panels: Sequence[Panel], x: str, y: str, *,
                 group_by: Sequence[str] = ("method",), title: str | None = None,
                 references: Mapping[str, float] | None = None, logx: bool = False,
                 logy: bool = False, data_ticks: bool = False) -> Any:
    """One panel per entry of ``panels``, side by side with a shared x axis and one legend
    (display names only); panels of one metric (``y``, or each panel's own ``Panel.y``) share
    one y range, panels of several metrics each get their own axis; ``title`` over the figure;
    ``data_ticks``: tick exactly the x values drawn (a few training fractions on a log axis).
    Returns the matplotlib figure."""
    n = len(panels)
    ys = [p.y or y for p in panels]
    shared = len(set(ys)) == 1
    title = "\n".join(textwrap.fill(line, 72) for line in title.split("\n")) if title else None
    lines = title.count("\n") + 1 if title else 0
    fig, axes = plt.subplots(1, n, figsize=(max(6.0, 1.0 + 3.6 * n), 3.4 + 0.2 * lines),
                             dpi=150, sharex=True, sharey=shared, squeeze=False)
    xs_seen: set[float] = set()
    order: list[str] = []
    for ax, p, py in zip(axes[0], panels, ys, strict=True):
        xs, labels = draw_metric(ax, p.results, x, py, group_by=group_by, where=p.where,
                                 references=references)
        xs_seen |= xs
        order += [lab for lab in labels if lab not in order]
        _finish_axes(ax, x, py if ax is axes[0][0] or not shared else "", logx, logy, p.title)
    for ax, py in zip(axes[0], ys, strict=True):
        if py in BOUNDED and not logy:  # error bars of a bounded metric stop at its bounds
            lo, hi = ax.get_ylim()
            ax.set_ylim(max(lo, BOUNDED[py][0]), min(hi, BOUNDED[py][1]))
    if data_ticks and xs_seen:
        for ax in axes[0]:
            _data_ticks(ax, sorted(xs_seen))
    handles, labels = _unique_legend(axes[0], order)
    if handles:
        where = {"loc": "center left", "bbox_to_anchor": (1.0, 0.5)} if n > 1 else {}
        (axes[0][-1] if n > 1 else axes[0][0]).legend(handles, labels, fontsize=7, **where)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _unique_legend(axes: Sequence[Any], order: Sequence[str]) -> tuple[list[Any], list[str]]:
    """Each label once, in drawing ``order`` (curves by method, then the reference lines)."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    labels = sorted(seen, key=lambda lab: order.index(lab) if lab in order else len(order))
    return [seen[lab] for lab in labels], labels


def metric_figure(results: Results | Sequence[Results], x: str, y: str, *,
                  group_by: Sequence[str] = ("method",), where: Mapping[str, Any] | None = None,
                  title: str | None = None, references: Mapping[str, float] | None = None,
                  logx: bool = False, logy: bool = False, data_ticks: bool = False) -> Any:
    """A one-panel :func:`panel_figure`. Returns the matplotlib figure."""
    return panel_figure([Panel(results, where)], x, y, group_by=group_by, title=title,
                        references=references, logx=logx, logy=logy, data_ticks=data_ticks)


def plot_metric(results: Results | Sequence[Results], x: str, y: str, out: str | Path, *,
                group_by: Sequence[str] = ("method",), where: Mapping[str, Any] | None = None,
                title: str | None = None, references: Mapping[str, float] | None = None,
                logy: bool = False, logx: bool = False) -> Path:
    """:func:`metric_figure`, saved to ``out``."""
    return save_figure(metric_figure(results, x, y, group_by=group_by, where=where, title=title,
                                     references=references, logx=logx, logy=logy), out)


def bar_figure(items: Sequence[tuple[str, float]], xlabel: str, title: str | None = None) -> Any:
    """Horizontal bars, one per ``(method key, value)``, named and coloured by :func:`style`,
    each labelled with its value. Returns the matplotlib figure."""
    fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.4 * len(items)), dpi=150)
    names = [display_name(k) for k, _ in items]
    values = [v for _, v in items]
    bars = ax.barh(names, values, color=[style(k).color for k, _ in items])
    ax.bar_label(bars, [f"{v:.3g}" for v in values], padding=2, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.margins(x=0.15)
    ax.grid(True, axis="x", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_image_grid(out: str | Path, rows: Sequence[Any], labels: Sequence[str],
                    title: str | None = None) -> Path:
    """One labelled row of images per entry of ``rows`` (each ``(N, 3, H, W)`` in [0, 1])."""
    from torchvision.utils import make_grid

    n = rows[0].shape[0]
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.0 * n + 1.5, 1.1 * len(rows) + 0.4),
                             dpi=100, squeeze=False)
    for ax, imgs, lab in zip(axes[:, 0], rows, labels, strict=True):
        ax.imshow(make_grid(imgs.cpu(), nrow=len(imgs), padding=1).permute(1, 2, 0).numpy())
        ax.set_ylabel(lab, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out)
