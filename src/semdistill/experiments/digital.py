"""The digital baseline's part of a report (both systems; docs/digital.md).

Reads ``results/digital.json`` (written by ``experiments/<system>/digital.py``): the envelope
against the semantic system at the system's own channel uses, the budget sweep that shows where
the digital chain starts to work, failure rates, and plots drawn with ``plot_metric``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from semdistill.digital import NO_FIT
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.figures import plot_metric
from semdistill.results import Results

RESULTS = "digital.json"


def envelope_rows(res: Results, primary: str, semantic: dict[tuple[Any, ...], float],
                  semantic_label: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    """One table row per envelope record; ``semantic`` maps ``(key values..., budget, snr_db)``
    to the semantic system's ``primary`` at those channel uses (shown alongside when present)."""
    rows = []
    for r in res.select(method="digital-envelope"):
        key = (*(r.get(k) for k in keys), r["budget"], r["snr_db"])
        row: dict[str, Any] = {k: r.get(k) for k in keys}
        row |= {"channel uses": r["budget"], "SNR dB": r["snr_db"]}
        if key in semantic:
            row[f"{semantic_label} {primary}"] = semantic[key]
        if r["status"] == NO_FIT:
            row |= {"digital " + primary: NO_FIT}
        else:
            row |= {"digital " + primary: r[primary], "failure rate": r["failure_rate"],
                    "BLER": r["block_error_rate"], "configuration": r["config"],
                    "mean quality": r["quality"]}
        rows.append(row)
    return rows


def digital_section(md: MarkdownReport, rd: RunDir, primary: str,
                    semantic: dict[tuple[Any, ...], float], semantic_label: str,
                    keys: Sequence[str] = ("channel",)) -> None:
    """Append the digital baseline's section and plots (nothing when the run has none)."""
    path = rd.results / RESULTS
    if not path.is_file():
        return
    res = Results.load(path)
    meta = res.meta
    md.section("Digital baseline: image codec + 5G LDPC + QAM at matched channel uses")
    native = set(meta["native_budgets"])
    fits_native = [r for r in res.select(method="digital-envelope")
                   if r["budget"] in native and r["status"] == "ok"]
    md.bullets([
        f"{meta['images']} test images; codecs {', '.join(meta['codecs'])}; code rates "
        f"{', '.join(meta['code_rates'])}; {', '.join(meta['modulations'])}; LDPC n = "
        f"{meta['block_length']}, {meta['iterations']} BP iterations; "
        f"{meta['seconds']:.1f} s on this machine",
        f"the semantic system's channel uses per image: {sorted(native)}; budget sweep: "
        f"{meta['budgets']}",
        "at the semantic system's own channel uses: " + (
            f"{len(fits_native)} (SNR, budget) points have a configuration that fits"
            if fits_native else "**no configuration fits** (the smallest file, with headers, "
            "needs more channel uses than the semantic system sends)"),
        f"a failed image (nothing fits, a block error, a file that does not parse) is scored "
        f"as {meta['fallback']}; rule: {meta['rule']}",
        *meta.get("notes", []),
    ])
    md.table(envelope_rows(res, primary, semantic, semantic_label, keys), floatfmt=".3f")
    for group in sorted({tuple(r.get(k) for k in keys) for r in res.records}, key=str):
        where = dict(zip(keys, group, strict=True))
        tag = "-".join(str(g) for g in group)
        for x, by in (("snr_db", "budget"), ("budget", "snr_db")):
            for y in (primary, "failure_rate"):
                p = plot_metric(res, x, y, rd.plots / f"digital-{y}-vs-{x}-{tag}.png",
                                group_by=(by,), where={"method": "digital-envelope", **where},
                                title=f"digital envelope, {y} vs {x} ({tag})",
                                logx=x == "budget")
                md.image(f"plots/{p.name}", p.stem)
