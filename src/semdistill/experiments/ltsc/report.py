"""Stage 4 of system ``ltsc``: the required-results checks, ``report.md`` and ``plots/*.png``
(docs/ltsc.md, "Evaluation and report").

Everything here reads the run's results files and its saved, validated config (thresholds and
check SNRs from ``eval``); nothing is measured again, so ``semdistill report RUN`` rebuilds the
same report at any time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from semdistill.channels.config import channel_name
from semdistill.experiments.checks import OVER, REQUIRED_RESULTS, Check, check_lines
from semdistill.experiments.ltsc.claims import (
    best_student,
    claims,
    fraction_means,
    rises,
    seed_spread,
)
from semdistill.experiments.ltsc.config import LTSCConfig, run_config, seeds_of
from semdistill.experiments.ltsc.digital import report_digital
from semdistill.experiments.readings import readings_section
from semdistill.experiments.reference import reference_for
from semdistill.experiments.report import MarkdownReport, pivot
from semdistill.experiments.rundir import RunDir
from semdistill.figures import (
    Panel,
    bar_figure,
    display_name,
    metric_figure,
    panel_figure,
    save_figure,
)
from semdistill.results import Results


# ---- checks -----------------------------------------------------------------------------------
def required_checks(cfg: LTSCConfig, rd: RunDir) -> list[Check]:
    """The required results of docs/ltsc.md (:func:`claims`), single seeds placed against
    ``eval.reference`` when it exists (a corrupt or mismatched one is a ReferenceError)."""
    reference, _ = reference_for(cfg)
    return claims(cfg, rd.results, reference)


def _diagnostics(md: MarkdownReport, cfg: LTSCConfig, info: dict[str, Any], acc: Results,
                 fr: Results) -> None:
    """Seed spread per student, seed-mean accuracy per fraction, best student vs teacher."""
    md.section("Diagnostics over seeds (not checks)")
    hi = cfg.eval.check_snr_db
    spread = seed_spread(acc.records, hi)
    md.text(f"Accuracy at {hi:g} dB (AWGN) over training seeds; the standard deviation is the "
            "seed spread a single-seed comparison sits inside:")
    md.table([{"student": display_name(m), "seeds": n, "mean": mean, "std over seeds": sd}
              for m, (n, mean, sd) in spread.items()], floatfmt=".4f")
    lines = [f"{display_name(m)}: " + " → ".join(f"{v:.3f} (fraction {f:g})"
                                                 for f, v in means.items())
             + ("" if rises(means) or len(means) < 2 else " (does not rise with the fraction)")
             for m, means in fraction_means(fr.records).items()]
    best = best_student(acc.records)
    if best:
        name, top, mean = best
        lines.append(f"best student at {top:g} dB (AWGN): {display_name(name)} {mean:.4f} "
                     f"(seed mean) vs the teacher's {info['teacher']['test_accuracy']:.4f} on "
                     "the same test images (clean, no channel)")
    md.bullets(lines)


# ---- figures and report --------------------------------------------------------------------
def references(info: dict[str, Any]) -> dict[str, float]:
    """The reference lines of the accuracy curves: the teacher's test accuracy (clean images,
    no channel) and chance (1 / classes)."""
    return {"teacher": info["teacher"]["test_accuracy"],
            "chance": 1.0 / info["store"]["num_classes"]}


def _name(key: str, value: Any) -> Any:
    return display_name(value) if key == "method" else value


def figures(cfg: LTSCConfig, info: dict[str, Any], acc: Results, fr: Results, times: Results
            ) -> dict[str, Any]:
    """file name → figure: accuracy vs SNR (a panel per channel, shared y), accuracy vs
    training fraction (log x) and the distillation wall time with the store's build time."""
    refs = references(info)
    train_ch = channel_name(acc.meta.get("train_channel", cfg.channel.name))
    panels = [Panel(acc, {"channel": ch}, f"evaluated on {channel_name(ch)}")
              for ch in channels_of(acc)]
    steps = {r["steps"] for r in times.records}
    fr_channel = channel_name(fr.meta.get("channel", "awgn"))
    return {
        "accuracy-vs-snr.png": panel_figure(
            panels, "snr_db", "accuracy", references=refs,
            title=f"LTSC students trained on {train_ch}: accuracy vs SNR (Es/N0 per symbol)"),
        "accuracy-vs-fraction.png": metric_figure(
            fr, "fraction", "accuracy", logx=True, data_ticks=True, references=refs,
            title=f"accuracy vs training-data fraction ({fr_channel}, "
                  f"{fr.meta.get('snr_db', cfg.eval.check_snr_db):g} dB)"),
        "distill-time.png": bar_figure(
            [(_bar(r, cfg.seed), r["seconds"]) for r in times.records]
            + [("store", info["store"]["seconds"])], "wall time [s]",
            title="distillation wall time, " + "/".join(f"{n}" for n in sorted(steps))
                  + " steps each\n(the knowledge store is built once, before any student)"),
    }


def _bar(record: dict[str, Any], main_seed: int) -> str:
    seed = record.get("seed", main_seed)
    return record["method"] if seed == main_seed else f"{record['method']}-s{seed}"


def channels_of(acc: Results) -> list[str]:
    """The channels of the accuracy records, AWGN first."""
    return sorted({r["channel"] for r in acc.records}, key=lambda c: (c != "awgn", c))


def _teacher_and_store(md: MarkdownReport, info: dict[str, Any]) -> None:
    t, s = info["teacher"], info["store"]
    md.section("Teacher and knowledge store")
    md.bullets([
        f"teacher: {t['source']} (test accuracy {t['test_accuracy']:.4f}; "
        f"pre-trained in this run: {t['pretrained_now']})",
        f"store: K={s['k']} of {s['num_classes']} classes, {s['views']} views, "
        f"{s['samples']} samples, built in {s['seconds']:.1f} s",
        f"store size: {s['bytes_per_sample']:.1f} bytes/sample on disk "
        f"({s['payload_bytes_per_sample']} payload bytes/sample)",
        *([f"transfer set: the last {s['transfer_samples']} of the store's samples are "
           "unlabelled images the teacher labelled; the distilled students train on them and "
           "on the labelled ones (each at its fraction), scratch on the labelled ones only"]
          if s.get("transfer_samples") else []),
        *(f"{split} data: {text}" for split, text in info.get("data", {}).items() if text),
    ])


def _complexity(md: MarkdownReport, cx: Path) -> None:
    res = Results.load(cx)
    rec = {r["method"]: r for r in res.records}
    st, te = rec["student"], rec["teacher"]
    lat = "latency ms (batch 1, CPU)"
    md.section("Complexity: student vs teacher")
    md.text(f"Latency: {res.meta.get('latency', 'median ms, batch 1, CPU')}.")
    rows = [
        {"model": "student (tx + rx)", "params": st["params"], "MB": st["megabytes"],
         "MFLOPs/image": st["flops"] / 1e6, lat: st["tx_latency_ms"] + st["rx_latency_ms"]},
        {"model": f"teacher ({te['part']}, {te['input_size']} px)", "params": te["params"],
         "MB": te["megabytes"], "MFLOPs/image": te["flops"] / 1e6, lat: te["latency_ms"]},
    ]
    onnx = "onnx_tx_latency_ms" in st
    if onnx:
        rows.insert(1, {"model": "student (tx + rx), ONNX Runtime", "params": st["params"],
                        "MB": st["megabytes"], "MFLOPs/image": st["flops"] / 1e6,
                        lat: st["onnx_tx_latency_ms"] + st["onnx_rx_latency_ms"]})
    md.table(rows)
    lines = [
        f"teacher/student: {te['params'] / st['params']:.0f}x parameters, "
        f"{te['flops'] / st['flops']:.0f}x FLOPs",
        f"transmitter {st['tx_flops'] / 1e6:.3g} MFLOPs, {st['tx_latency_ms']:.3g} ms; "
        f"receiver {st['rx_flops'] / 1e6:.3g} MFLOPs, {st['rx_latency_ms']:.3g} ms",
        f"{st['symbols']} complex symbols per image (bandwidth ratio "
        f"{st['bandwidth_ratio']:.4g})",
    ]
    if onnx:
        lines.insert(2, f"in ONNX Runtime (`semdistill export`): transmitter "
                     f"{st['onnx_tx_latency_ms']:.3g} ms, receiver {st['onnx_rx_latency_ms']:.3g} "
                     f"ms; max |ONNX Runtime - PyTorch| {st['onnx_max_abs_error']:.2g}")
    md.bullets(lines)


def _accuracy_tables(md: MarkdownReport, acc: Results) -> None:
    """One accuracy table per channel (SNR columns in increasing order), then the energy."""
    seeds = sorted({r["seed"] for r in acc.records if "seed" in r})
    if len(seeds) > 1:
        md.text(f"Students of several seeds ({', '.join(map(str, seeds))}): tables give the mean "
                "over the seeds a cell has, plots the mean with a 95% t-interval.")
    for ch in channels_of(acc):
        md.text(f"**{channel_name(ch)}** (top-1 accuracy; {acc.meta.get('repeats', 1)} channel "
                f"realization(s) per test image):")
        md.table(pivot(acc.select(channel=ch), ("method",), "snr_db", "accuracy", name=_name),
                 floatfmt=".3f")
    energy = pivot(acc.select(channel="awgn"), ("method",), "snr_db", "energy", name=_name)
    if energy:
        md.text("Transmitted energy per symbol Es (AWGN; the power constraint is Es ≤ 1; the IB "
                "rate term per channel use grows with Es):")
        md.table(energy, floatfmt=".3f")


def write_report(cfg: LTSCConfig, rd: RunDir, checks: list[Check]) -> Path:
    """Build ``report.md`` and every ``plots/*.png`` from the results files, ``checks`` first."""
    info = rd.read_json("results/run-info.json")
    acc = Results.load(rd.results / "accuracy-vs-snr.json")
    fr = Results.load(rd.results / "accuracy-vs-fraction.json")
    times = Results.load(rd.results / "distill-time.json")
    for name, fig in figures(cfg, info, acc, fr, times).items():
        save_figure(fig, rd.plots / name)
    refs = references(info)
    md = MarkdownReport("LTSC: lightweight task-oriented semantic communication")
    md.text("Pre-stored fast distillation, channel-adaptive student and IB loss "
            "(arXiv 2506.13243; see docs/ltsc.md for what is inferred). Students trained on "
            f"{channel_name(acc.meta.get('train_channel', cfg.channel.name))}, evaluated on "
            f"{', '.join(channel_name(c) for c in channels_of(acc))}.")
    md.section(REQUIRED_RESULTS)
    n = len(seeds_of(cfg))
    md.text(f"Each claim is a per-seed statistic, {OVER.format(n=n)}: PASS when its whole 95% "
            "interval supports the claim, FAIL when the whole interval contradicts it, "
            "INCONCLUSIVE when it straddles the threshold." if n > 1 else
            "One training seed: each claim is a SMOKE line (no interval, no verdict); "
            "`runs.seeds: 5` (configs/ltsc/reproduce.yaml) makes them verdicts.")
    md.bullets(check_lines(checks, "(not enough variants were run to check)"))
    md.text(reference_for(cfg)[1])
    wall = info.get("wall_seconds_before_report")
    md.text(f"Run wall time (teacher + store + students + evaluation): "
            f"{wall:.1f} s." if wall else "")
    _teacher_and_store(md, info)
    md.section("Distillation wall time (same steps)")
    md.table([{"method": display_name(r["method"]), "seed": r.get("seed", cfg.seed),
               "fraction": r["fraction"], "steps": r["steps"], "seconds": r["seconds"]}
              for r in times.records]
             + [{"method": display_name("store"), "seconds": info["store"]["seconds"]}])
    md.image("plots/distill-time.png", "distillation time")
    md.section("Accuracy vs SNR")
    md.text(f"Reference lines: teacher {refs['teacher']:.3f} (clean test images, no channel), "
            f"chance {refs['chance']:.3f}.")
    _accuracy_tables(md, acc)
    md.image("plots/accuracy-vs-snr.png", "accuracy vs SNR")
    md.section(f"Accuracy vs training fraction ({channel_name(fr.meta.get('channel', 'awgn'))}, "
               f"{fr.meta.get('snr_db', cfg.eval.check_snr_db):g} dB)")
    md.table(pivot(fr.records, ("method",), "fraction", "accuracy", name=_name,
                   header=lambda f: f"fraction {f:g}"), floatfmt=".3f")
    md.image("plots/accuracy-vs-fraction.png", "accuracy vs fraction")
    _diagnostics(md, cfg, info, acc, fr)
    report_digital(md, rd, acc)
    cx = rd.results / "complexity.json"
    if cx.is_file():
        _complexity(md, cx)
    readings_section(md, cfg, "ltsc")
    return md.save(rd.report_path)


def build_report(rd: RunDir) -> Path:
    """``semdistill report RUN``: the checks and report of a run, from its files alone."""
    cfg = run_config(rd)
    return write_report(cfg, rd, required_checks(cfg, rd))
