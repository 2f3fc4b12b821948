"""Where the channel-adaptive module helps: the adaptive gain over bandwidth ratio × SNR × channel
(docs/ltsc.md, "Where Φ_θ helps").

Claim (c) compares the adaptive and the non-adaptive pre-stored student at one SNR on the
default bandwidth. This module measures the same paired difference on a grid: each cell of the
map is one ltsc run (``runs`` reduced to the two prestored students, ``runs.seeds`` ≥ 2) at one
``student.bandwidth_ratio``, trained and evaluated on one channel; at every evaluation SNR the
cell holds the mean of ``adaptive − non-adaptive`` accuracy over the seeds, its 95% t-interval
(paired by seed) and the verdict of "gain > 0". ``benchmarks/ltsc_adaptive_map.py`` runs the
grid and calls :func:`gain_map`, :func:`draw_gain_map` and :func:`gain_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from semdistill.experiments.checks import judge, per_seed
from semdistill.experiments.ltsc.config import SYSTEM
from semdistill.results import Results
from semdistill.utils.stats import paired

#: the two students a cell compares (variant base names in results records).
ADAPTIVE, NON_ADAPTIVE = "prestored", "prestored-nonadaptive"
#: what a cell's verdict is: one 95% interval per cell, not adjusted for the map's many cells
#: (which share students across SNRs and seeds across cells), so a few marks are chance.
MULTIPLICITY = "per-cell 95% intervals, not adjusted for the number of cells"


def gain_map(cells: Sequence[tuple[str, int, Results]]) -> Results:
    """The adaptive-gain records of ``cells`` ``(channel, symbols, accuracy-vs-snr results)``.

    ``channel`` is the one the cell's students were trained on; only its evaluation records are
    read. ``symbols`` is the cell's k (complex channel uses per image). One record per (channel,
    symbols, snr_db): ``gain`` (mean accuracy difference, in [−1, 1]), ``low``/``high`` (95%
    t-interval), ``per_seed`` ``{seed: difference}``, ``seeds`` and ``verdict`` (PASS when the
    interval lies above 0, FAIL below, INCONCLUSIVE across; SMOKE with one seed). Raises
    ``ValueError`` for a cell without both students at some SNR.
    """
    out = Results(SYSTEM, "adaptive-gain-map",
                  meta={"statistic": "adaptive - non-adaptive prestored accuracy, paired by "
                                     "seed, 95% t-interval",
                        "multiplicity": MULTIPLICITY, "students": [ADAPTIVE, NON_ADAPTIVE]})
    for channel, symbols, res in cells:
        snrs = sorted({float(r["snr_db"]) for r in res.select(channel=channel)})
        for snr in snrs:
            acc = {m: per_seed(res.records, 0, method=m, channel=channel, snr_db=snr)
                   for m in (ADAPTIVE, NON_ADAPTIVE)}
            diff = paired(acc[ADAPTIVE], acc[NON_ADAPTIVE])
            check = judge("adaptive_gain", diff, 0.0, "gt", "adaptive − non-adaptive accuracy")
            if check is None:
                raise ValueError(f"cell {channel}/{symbols} symbols at {snr:g} dB lacks the "
                                 f"{ADAPTIVE} or {NON_ADAPTIVE} student")
            low, mean, high = check.interval
            out.add(channel=channel, symbols=symbols, snr_db=snr, gain=mean, low=low, high=high,
                    seeds=sorted(diff), per_seed={str(s): d for s, d in diff.items()},
                    verdict=check.outcome)
    return out


def _grid(res: Results, channel: str) -> tuple[list[int], list[float], dict[tuple[int, float],
                                                                          dict[str, Any]]]:
    recs = res.select(channel=channel)
    rows = sorted({int(r["symbols"]) for r in recs})
    cols = sorted({float(r["snr_db"]) for r in recs})
    return rows, cols, {(int(r["symbols"]), float(r["snr_db"])): r for r in recs}


def draw_gain_map(res: Results) -> Any:
    """One heatmap panel per channel: rows = symbols per image, columns = evaluation SNR, colour
    = mean gain in points (diverging, centred on 0), each cell annotated with the gain and a
    mark: ``▲`` interval above 0 (PASS), ``▼`` below (FAIL), none when it straddles 0."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    channels = sorted({r["channel"] for r in res.records})
    span = max((abs(100 * r["gain"]) for r in res.records), default=1.0) or 1.0
    fig, axes = plt.subplots(1, len(channels), figsize=(4.2 * len(channels), 3.2), squeeze=False,
                             constrained_layout=True)
    image = None
    for ax, channel in zip(axes[0], channels, strict=True):
        rows, cols, cell = _grid(res, channel)
        data = [[100 * cell[(k, s)]["gain"] if (k, s) in cell else float("nan") for s in cols]
                for k in rows]
        image = ax.imshow(data, cmap="RdBu", norm=TwoSlopeNorm(0.0, -span, span), aspect="auto",
                          origin="lower")
        for i, k in enumerate(rows):
            for j, s in enumerate(cols):
                r = cell.get((k, s))
                if r is not None:
                    mark = {"PASS": " ▲", "FAIL": " ▼"}.get(r["verdict"], "")
                    ax.text(j, i, f"{100 * r['gain']:+.1f}{mark}", ha="center", va="center",
                            fontsize=8)
        ax.set_xticks(range(len(cols)), [f"{s:g}" for s in cols])
        ax.set_yticks(range(len(rows)), [str(k) for k in rows])
        ax.set_xlabel("SNR [dB]")
        ax.set_ylabel("symbols per image (k)")
        ax.set_title(f"trained and evaluated on {channel}")
    fig.colorbar(image, ax=axes[0].tolist(), label="adaptive − non-adaptive [points]")
    fig.suptitle(f"marks: {MULTIPLICITY}", fontsize=8)
    return fig


def gain_table(res: Results) -> str:
    """The map as Markdown: one table per channel, a row per k, a column per SNR, each cell
    ``+1.2 [−0.3, +2.7]`` in points with its verdict in bold when it is not INCONCLUSIVE."""
    parts = []
    for channel in sorted({r["channel"] for r in res.records}):
        rows, cols, cell = _grid(res, channel)
        lines = [f"**{channel}** (trained and evaluated; points, 95% t-interval over seeds, "
                 f"paired; {MULTIPLICITY})", "",
                 "| k | " + " | ".join(f"{s:g} dB" for s in cols) + " |",
                 "|---|" + "---|" * len(cols)]
        for k in rows:
            items = []
            for s in cols:
                r = cell.get((k, s))
                if r is None:
                    items.append("")
                    continue
                verdict = "" if r["verdict"] == "INCONCLUSIVE" else f" **{r['verdict']}**"
                items.append(f"{100 * r['gain']:+.1f} [{100 * r['low']:+.1f}, "
                             f"{100 * r['high']:+.1f}]{verdict}")
            lines.append(f"| {k} | " + " | ".join(items) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
