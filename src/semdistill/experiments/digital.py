"""The digital baseline's part of a report (both systems; docs/digital.md).

Reads ``results/digital.json`` (written by ``experiments/<system>/digital.py``): the envelope
against the semantic system at the system's own channel uses, the budget sweep that shows where
the digital chain starts to work, failure rates, and plots of both drawn with ``plot_metric``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from semdistill.channels.config import channel_name
from semdistill.digital import NO_FIT
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.figures import display_name, plot_metric
from semdistill.results import Results, ResultsError

RESULTS = "digital.json"


def envelope_rows(res: Results, metrics: Sequence[str], semantic: Sequence[dict[str, Any]],
                  keys: Sequence[str]) -> list[dict[str, Any]]:
    """One table row per envelope record, with the semantic system's first metric at the same
    ``(keys..., budget, snr_db)`` alongside when ``semantic`` has it."""
    primary = metrics[0]
    same = {(*(s.get(k) for k in keys), s["budget"], s["snr_db"]): s for s in semantic}
    rows = []
    for r in res.select(method="digital-envelope"):
        row: dict[str, Any] = {k: r.get(k) for k in keys}
        row |= {"channel uses": r["budget"], "SNR dB": r["snr_db"]}
        s = same.get((*(r.get(k) for k in keys), r["budget"], r["snr_db"]))
        if s is not None:
            row[f"{display_name(s['method'])} {primary}"] = s[primary]
        if r["status"] == NO_FIT:
            row |= {f"digital {primary}": NO_FIT}
        else:
            row |= {f"digital {m}": r[m] for m in metrics if m in r}
            row |= {"failure rate": r["failure_rate"], "BLER": r["block_error_rate"],
                    "configuration": r["config"], "mean quality": r["quality"]}
        rows.append(row)
    return rows


def _summary(res: Results) -> list[str]:
    meta = res.meta
    native = set(meta["native_budgets"])
    fits_native = [r for r in res.select(method="digital-envelope")
                   if r["budget"] in native and r["status"] == "ok"]
    return [
        f"{meta['images']} test images; codecs {', '.join(meta['codecs'])}; code rates "
        f"{', '.join(meta['code_rates'])}; {', '.join(meta['modulations'])}; LDPC n = "
        f"{meta['block_length']}, {meta['iterations']} BP iterations; "
        f"{meta['seconds']:.1f} s on this machine",
        f"the semantic system's channel uses per image: {sorted(native)}; budget sweep: "
        f"{meta['budgets']}",
        "at the semantic system's own channel uses: " + (
            f"{len(fits_native)} (SNR, budget) points have a configuration that fits"
            if fits_native else "**no configuration fits** (the smallest file, headers "
            "included, needs more channel uses than the semantic system sends)"),
        f"a failed image (nothing fits, a block error, a file that does not parse) is scored "
        f"as {meta['fallback']}; rule: {meta['rule']}",
        *meta.get("notes", []),
    ]


def digital_section(md: MarkdownReport, rd: RunDir, metrics: Sequence[str],
                    semantic: Sequence[dict[str, Any]], keys: Sequence[str] = ("channel",)
                    ) -> None:
    """Append the digital baseline's section and plots (nothing when the run has none).

    ``semantic``: the semantic system's records to compare with, each with ``method``,
    ``budget`` (its channel uses), ``snr_db``, the ``keys`` and the ``metrics``.
    """
    path = rd.results / RESULTS
    if not path.is_file():
        return
    res = Results.load(path)
    missing = {"native_budgets", "budgets", "images", "codecs", "code_rates", "modulations",
               "block_length", "iterations", "seconds", "fallback", "rule"} - set(res.meta)
    if missing or any("budget" not in r or "snr_db" not in r or "method" not in r
                      for r in res.records):
        raise ResultsError(f"{path}: not a digital-baseline results file (missing "
                           f"{', '.join(sorted(missing)) or 'budget/snr_db/method in a record'})")
    md.section("Digital baseline: image codec + 5G LDPC + QAM at matched channel uses")
    md.bullets(_summary(res))
    md.table(envelope_rows(res, metrics, semantic, keys), floatfmt=".3f")
    both = Results(res.system, "digital vs semantic",
                   records=[*res.select(method="digital-envelope"), *semantic])
    for group in sorted({tuple(r.get(k) for k in keys) for r in res.records}, key=str):
        where = dict(zip(keys, group, strict=True))
        tag = "-".join(str(g) for g in group)
        for y in (*metrics, "failure_rate"):
            for x, by in (("snr_db", "budget"), ("budget", "snr_db")):
                p = plot_metric(both, x, y, rd.plots / f"digital-{y}-vs-{x}-{tag}.png",
                                group_by=("method", by), where=where, logx=x == "budget",
                                title=f"digital envelope vs semantic over "
                                      f"{channel_name(tag) if keys == ('channel',) else tag}")
                md.image(f"plots/{p.name}", p.stem)
