"""The required results of system ``ltsc`` as claims over training seeds (docs/ltsc.md, "Claims
and seeds").

Every claim is a statistic per seed, *paired by seed*: the two students compared in a seed were
trained from the same initialization and SNR draws (and the same data order when they train on
the same images: with a transfer set, ``scratch`` draws from the labelled images only) and are
evaluated on the same test images and noise draws, so their difference (or time ratio) removes
what the seed shares.
Over N ≥ 2 seeds the claim's verdict comes from the two-sided 95% Student-t interval of the mean
of that statistic (:func:`semdistill.utils.stats.t_interval`): PASS when the whole interval
supports the claim, FAIL when the whole interval contradicts it, INCONCLUSIVE when it straddles
the threshold. One seed gives a SMOKE line, placed against a reference interval when one is
given. Everything is read from results files, so a reference folder rebuilds its own table.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from semdistill.experiments.checks import Check, judge, per_seed
from semdistill.experiments.ltsc.config import LTSCConfig
from semdistill.results import Results
from semdistill.utils.stats import paired


def _time_claim(cfg: LTSCConfig, times: list[dict[str, Any]], ref: Any) -> list[Check]:
    tp = per_seed(times, cfg.seed, "seconds", method="prestored")
    to = per_seed(times, cfg.seed, "seconds", method="online")
    steps = next((r["steps"] for r in times if r["method"] == "prestored"), None)
    check = judge("prestored_time_le_third_of_online", paired(tp, to, operator.truediv),
                  cfg.eval.max_time_ratio, "le",
                  f"prestored/online distillation time ({steps} steps each)", ref, ".3f",
                  {"prestored_seconds": tp, "online_seconds": to, "steps": steps})
    return [check] if check else []


def _accuracy_claims(cfg: LTSCConfig, acc: list[dict[str, Any]], ref: Any) -> list[Check]:
    """prestored − online at ``check_snr_db`` (AWGN) and adaptive − non-adaptive at
    ``low_snr_db`` on every evaluation channel."""
    ev, out = cfg.eval, []

    def at(method: str, channel: str, snr: float) -> dict[int, float]:
        return per_seed(acc, cfg.seed, method=method, channel=channel, snr_db=float(snr))

    hi = ev.check_snr_db
    out.append(judge(f"prestored_acc_within_1pt_of_online_at_{hi:g}dB",
                     paired(at("prestored", "awgn", hi), at("online", "awgn", hi)),
                     -ev.max_accuracy_drop, "ge",
                     f"prestored − online accuracy (AWGN, {hi:g} dB)", ref))
    lo = ev.low_snr_db
    for ch in sorted({r["channel"] for r in acc}, key=lambda c: (c != "awgn", c)):
        out.append(judge(f"adaptive_beats_nonadaptive_at_{lo:g}dB_{ch}",
                         paired(at("prestored", ch, lo), at("prestored-nonadaptive", ch, lo)),
                         0.0, "gt", f"adaptive − non-adaptive accuracy ({ch}, {lo:g} dB)", ref))
    return [c for c in out if c is not None]


def _scratch_claims(cfg: LTSCConfig, fr: list[dict[str, Any]], ref: Any) -> list[Check]:
    """prestored − scratch > 0 at the smallest and at the largest training fraction."""
    fractions = sorted({r["fraction"] for r in fr})
    out = []
    for f in dict.fromkeys(fractions[:1] + fractions[-1:]):
        diff = paired(per_seed(fr, cfg.seed, method="prestored", fraction=f),
                      per_seed(fr, cfg.seed, method="scratch", fraction=f))
        out.append(judge(f"distilled_beats_scratch_at_fraction_{f:g}", diff, 0.0, "gt",
                         f"prestored − scratch accuracy (fraction {f:g}, AWGN "
                         f"{cfg.eval.check_snr_db:g} dB)", ref))
    return [c for c in out if c is not None]


def complexity_claim(cx: list[dict[str, Any]]) -> list[Check]:
    """The student (transmitter + receiver) against the teacher: fewer parameters, fewer FLOPs
    and a lower batch-1 latency. Sizes do not depend on the seed; latency is one measurement
    per run, its interval the 95% t-interval over torch.utils.benchmark's timing blocks. PASS
    when the student is smaller and its tx + rx upper bound is below the teacher's lower bound,
    FAIL when it is larger or its lower bound is above the teacher's upper bound, else
    INCONCLUSIVE. (Results without the block interval compare the medians.)"""
    rec = {r["method"]: r for r in cx}
    if not {"student", "teacher"} <= rec.keys():
        return []
    st, te = rec["student"], rec["teacher"]
    lat = st["tx_latency_ms"] + st["rx_latency_ms"]
    lat_lo = st.get("tx_latency_low_ms", st["tx_latency_ms"]) + st.get(
        "rx_latency_low_ms", st["rx_latency_ms"])
    lat_hi = st.get("tx_latency_high_ms", st["tx_latency_ms"]) + st.get(
        "rx_latency_high_ms", st["rx_latency_ms"])
    t_lo, t_hi = te.get("latency_low_ms", te["latency_ms"]), te.get("latency_high_ms",
                                                                     te["latency_ms"])
    ratios = {"params": te["params"] / st["params"], "flops": te["flops"] / st["flops"],
              "latency": te["latency_ms"] / lat}
    smaller = ratios["params"] > 1 and ratios["flops"] > 1
    outcome = ("PASS" if smaller and lat_hi < t_lo else
               "FAIL" if not smaller or lat_lo > t_hi else "INCONCLUSIVE")
    return [Check("student_smaller_and_faster_than_teacher",
                  {"PASS": True, "FAIL": False}.get(outcome), outcome=outcome,
                  measured={**{f"teacher_over_student_{k}": v for k, v in ratios.items()},
                            "student_latency_ms": (lat_lo, lat, lat_hi),
                            "teacher_latency_ms": (t_lo, te["latency_ms"], t_hi)},
                  threshold=1.0,
                  detail=f"teacher/student: {ratios['params']:.0f}x parameters, "
                         f"{ratios['flops']:.0f}x FLOPs, {ratios['latency']:.1f}x latency "
                         f"(tx+rx {lat:.3g} ms [{lat_lo:.3g}, {lat_hi:.3g}] vs teacher "
                         f"{te['latency_ms']:.3g} ms [{t_lo:.3g}, {t_hi:.3g}]: medians, 95% "
                         "t-intervals over torch.utils.benchmark's timing blocks, batch 1, CPU)")]


def _load(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / f"{name}.json"
    return Results.load(path).records if path.is_file() else []


def claims(cfg: LTSCConfig, folder: Path, reference: Mapping[str, Check] | None = None
           ) -> list[Check]:
    """Every claim measurable from the results files in ``folder`` (a run's ``results/`` or a
    reference folder), with ``cfg``'s thresholds; single seeds placed against ``reference``."""
    times = _load(folder, "distill-time")
    out = _time_claim(cfg, times, reference) if times else []
    out += _accuracy_claims(cfg, _load(folder, "accuracy-vs-snr"), reference)
    out += _scratch_claims(cfg, _load(folder, "accuracy-vs-fraction"), reference)
    return out + complexity_claim(_load(folder, "complexity"))


def seed_spread(acc: list[dict[str, Any]], snr: float, channel: str = "awgn"
                ) -> dict[str, tuple[int, float, float]]:
    """Diagnostic: ``{student: (seeds, mean, standard deviation over seeds)}`` at ``snr``."""
    out: dict[str, tuple[int, float, float]] = {}
    for m in dict.fromkeys(r["method"] for r in acc):
        v = [r["accuracy"] for r in acc if (r["method"], r["channel"], r["snr_db"])
             == (m, channel, float(snr))]
        if v:
            out[m] = (len(v), statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0)
    return out


def fraction_means(fr: list[dict[str, Any]]) -> dict[str, dict[float, float]]:
    """Diagnostic: ``{method: {fraction: seed-mean accuracy}}``, fractions increasing."""
    return {m: {f: statistics.fmean(r["accuracy"] for r in fr
                                    if (r["method"], r["fraction"]) == (m, f))
                for f in sorted({r["fraction"] for r in fr if r["method"] == m})}
            for m in dict.fromkeys(r["method"] for r in fr)}


def rises(means: Mapping[float, float]) -> bool:
    """Whether the accuracies rise strictly with the fraction."""
    v = list(means.values())
    return all(a < b for a, b in zip(v, v[1:], strict=False))


def best_student(acc: list[dict[str, Any]], channel: str = "awgn"
                 ) -> tuple[str, float, float] | None:
    """Diagnostic: (student, top SNR in dB, its seed-mean accuracy) of the best student at the
    grid's top SNR on ``channel``."""
    rows = [r for r in acc if r["channel"] == channel]
    if not rows:
        return None
    top = max(r["snr_db"] for r in rows)
    means = {m: (n, mean) for m, (n, mean, _) in seed_spread(rows, top, channel).items()}
    name = max(means, key=lambda m: means[m][1])
    return name, top, means[name][1]

