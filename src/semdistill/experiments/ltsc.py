"""System ``ltsc``: lightweight task-oriented semantic communication with pre-stored distillation.

One ``semdistill run configs/ltsc/shapes.yaml`` does, in its run directory:

1. teacher: the offline shapes teacher (shipped → cached → pre-trained) or ``timm:/hf:/local:``;
2. knowledge store: the teacher once over every (train sample, view) → ``store/``;
3. students (same init, data order, views, SNR draws and steps): prestored (adaptive and
   non-adaptive), online KD, scratch, plus prestored/scratch at smaller training fractions;
4. evaluation: accuracy vs SNR (AWGN, Rayleigh), complexity of student vs teacher, distillation
   wall time, accuracy vs training fraction → ``results/*.json``, ``plots/*.png``, ``report.md``
   with the required-results checks as measured pass/fail lines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, model_validator

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRdB, SNRRange, StrictModel, TrainConfig
from semdistill.data import DatasetSpec, SeededAugment, Subset
from semdistill.data.spec import class_names
from semdistill.distill import DistillJob, LossConfig, distill
from semdistill.engine import load_checkpoint
from semdistill.experiments.registry import ExperimentConfig, register_experiment
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.figures import plot_metric, save_figure
from semdistill.metrics.classification import classifier_accuracy, student_accuracy
from semdistill.metrics.complexity import count_flops, count_parameters, latency_ms, model_megabytes
from semdistill.models.student import StudentConfig, TaskStudent
from semdistill.results import Results
from semdistill.teachers import (
    KnowledgeStore,
    Teacher,
    TeacherPretrainConfig,
    fit_linear_probe,
    load_teacher,
    resolve_teacher,
)
from semdistill.utils.seeds import derive_seed

SYSTEM = "ltsc"


class TeacherSection(StrictModel):
    """``spec: shapes`` = the library's offline teacher (``pretrain``); else timm:/hf:/local:."""

    spec: str = "shapes"
    pretrain: TeacherPretrainConfig = Field(default_factory=TeacherPretrainConfig)
    allow_pretrain: bool = Field(True, description="train the shapes teacher when none is cached")
    head: Literal["zeroshot", "linear"] = Field("zeroshot", description="CLIP class head")
    probe_samples: int = Field(2000, ge=1, description="train samples for a CLIP linear probe")
    pretrained: bool = Field(True, description="timm: load pretrained weights")
    input_size: int | None = Field(None, ge=8, description="timm: override the input px")


class StoreSection(StrictModel):
    """Knowledge store: top-K per (sample, view); ``path`` defaults to ``<run>/store``."""

    k: int = Field(4, ge=1)
    views: int = Field(2, ge=1)
    chunk_size: int = Field(1024, ge=1)
    batch_size: int = Field(256, ge=1)
    path: str | None = None


class AugmentSection(StrictModel):
    pad: int = Field(4, ge=0)
    flip: bool = True
    jitter: float = Field(0.1, ge=0, lt=1)


class RunsSection(StrictModel):
    """Which student variants to train besides the main prestored adaptive one."""

    online: bool = True
    scratch: bool = True
    non_adaptive: bool = True
    fractions: list[float] = Field(default_factory=lambda: [0.1, 0.25])
    fraction_methods: list[Literal["prestored", "online", "scratch"]] = Field(
        default_factory=lambda: ["prestored", "scratch"])
    extra_seeds: list[int] = Field(
        default_factory=list,
        description="more seeds (init, data order, SNR draws) for the prestored, online and "
                    "non-adaptive students; the prestored-vs-online and adaptive-vs-non-adaptive "
                    "checks then compare means over seeds")

    @model_validator(mode="after")
    def _fractions(self) -> RunsSection:
        if any(not 0 < f <= 1 for f in self.fractions):
            raise ValueError("runs.fractions must be in (0, 1]")
        if any(s < 0 for s in self.extra_seeds):
            raise ValueError("runs.extra_seeds must be non-negative")
        return self


class EvalSection(StrictModel):
    snr_db: list[SNRdB] = Field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    channels: list[Literal["awgn", "rayleigh"]] = Field(default_factory=lambda: ["awgn",
                                                                                  "rayleigh"])
    batch_size: int = Field(500, ge=1)
    repeats: int = Field(2, ge=1, description="channel realizations per test image")
    latency_repeats: int = Field(20, ge=1)
    check_snr_db: SNRdB = Field(10.0, description="SNR of the accuracy checks (AWGN)")
    low_snr_db: SNRdB = Field(0.0, description="SNR of the adaptive-vs-non-adaptive check")


def _default_train() -> TrainConfig:
    return TrainConfig(steps=300, batch_size=128, lr=3e-3, weight_decay=1e-4, warmup_steps=15,
                       log_every=25, checkpoint_every=100)


class LTSCConfig(ExperimentConfig):
    """Top-level config of system ``ltsc`` (see configs/ltsc/shapes.yaml and docs/ltsc.md)."""

    system: Literal["ltsc"] = "ltsc"
    data: DatasetSpec = Field(default_factory=DatasetSpec)
    teacher: TeacherSection = Field(default_factory=TeacherSection)
    store: StoreSection = Field(default_factory=StoreSection)
    augment: AugmentSection = Field(default_factory=AugmentSection)
    student: StudentConfig = Field(default_factory=StudentConfig)
    channel: ChannelConfig = Field(default_factory=ChannelConfig, description="training channel")
    snr: SNRRange = Field(default_factory=SNRRange, description="training SNR range (dB)")
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=_default_train)
    fraction: float = Field(1.0, gt=0, le=1, description="training-data fraction of main runs")
    runs: RunsSection = Field(default_factory=RunsSection)
    eval: EvalSection = Field(default_factory=EvalSection)
    device: str = Field("auto", description="auto, cpu, cuda...")

    @model_validator(mode="after")
    def _consistent(self) -> LTSCConfig:
        self.student.feature_channels(self.data.image_size)  # raises on a bad bandwidth ratio
        n = self.data.num_classes
        if n is not None and self.store.k > n:
            raise ValueError(f"store.k={self.store.k} is larger than the {n} classes of "
                             f"data {self.data.name!r} (task {self.data.task!r})")
        return self


# ---- variants ---------------------------------------------------------------------------------
def variants(cfg: LTSCConfig) -> list[dict[str, Any]]:
    """The student runs: name, method, adaptive, fraction, seed (the first is the main model).

    Students of ``runs.extra_seeds`` (prestored, online, prestored-nonadaptive) are named
    ``<name>-s<seed>`` and evaluated only at the two check SNRs (AWGN), for the seed-averaged
    prestored-vs-online and adaptive-vs-non-adaptive checks.
    """
    def one(name: str, method: str, adaptive: bool = True, fraction: float = cfg.fraction,
            seed: int = cfg.seed) -> dict[str, Any]:
        return {"name": name, "method": method, "adaptive": adaptive, "fraction": fraction,
                "seed": seed}

    out = [one("prestored", "prestored")]
    if cfg.runs.online:
        out.append(one("online", "online"))
    if cfg.runs.scratch:
        out.append(one("scratch", "scratch"))
    if cfg.runs.non_adaptive:
        out.append(one("prestored-nonadaptive", "prestored", adaptive=False))
    for f in cfg.runs.fractions:
        if abs(f - cfg.fraction) < 1e-9:
            continue
        for m in cfg.runs.fraction_methods:
            out.append(one(f"{m}-f{f:g}", m, fraction=f))
    main = [v for v in out if v["fraction"] == cfg.fraction and v["method"] != "scratch"]
    for seed in dict.fromkeys(s for s in cfg.runs.extra_seeds if s != cfg.seed):
        out += [{**v, "name": f"{v['name']}-s{seed}", "seed": seed} for v in main]
    return out


def _device(cfg: LTSCConfig) -> torch.device:
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() and not cfg.train.cpu else "cpu")
    return torch.device(cfg.device)


def build_student(cfg: LTSCConfig, num_classes: int, adaptive: bool,
                  seed: int | None = None) -> TaskStudent:
    """Same seed (default ``cfg.seed``) → same encoder/decoder init for every variant
    (adaptive on or off)."""
    torch.manual_seed(cfg.seed if seed is None else seed)
    scfg = cfg.student.model_copy(update={"adaptive": adaptive})
    return TaskStudent(scfg, num_classes, cfg.data.image_size)


# ---- teacher and store ------------------------------------------------------------------------
def get_teacher(cfg: LTSCConfig, train_ds: Any, rd: RunDir) -> tuple[Teacher, dict[str, Any]]:
    """Resolve the configured teacher; returns it with provenance for the report."""
    t0 = time.perf_counter()
    if cfg.teacher.spec == "shapes":
        teacher, folder, trained = resolve_teacher(
            cfg.teacher.pretrain, allow_train=cfg.teacher.allow_pretrain, log=rd.log_metrics)
        meta = json.loads((folder / "teacher.json").read_text())
        info = {"source": str(folder), "pretrained_now": trained,
                "pretrain_seconds": meta.get("wall_seconds") if trained else 0.0,
                "reported_test_accuracy": meta.get("test_accuracy")}
    else:
        names = class_names(train_ds)
        source = cfg.teacher.spec.partition(":")[0]
        kwargs = {"hf": {"class_names": names, "head": cfg.teacher.head},
                  "timm": {"num_classes": train_ds.num_classes, "class_names": names,
                           "pretrained": cfg.teacher.pretrained,
                           "input_size": cfg.teacher.input_size},
                  }.get(source, {"class_names": names})
        torch.manual_seed(cfg.seed)  # random-weight teachers (timing runs) are reproducible
        teacher = load_teacher(cfg.teacher.spec, **kwargs)
        info = {"source": cfg.teacher.spec, "pretrained_now": False}
        if cfg.teacher.spec.startswith("hf:") and cfg.teacher.head == "linear":
            n = min(cfg.teacher.probe_samples, len(train_ds))
            x, y = train_ds.render_indices(torch.arange(n))
            info["probe_train_accuracy"] = fit_linear_probe(teacher, x, y)
    info["load_seconds"] = round(time.perf_counter() - t0, 2)
    return teacher, info


def store_path(cfg: LTSCConfig, rd: RunDir) -> Path:
    return Path(cfg.store.path) if cfg.store.path else rd.path / "store"


def augment_of(cfg: LTSCConfig) -> SeededAugment:
    return SeededAugment(cfg.augment.pad, cfg.augment.flip, cfg.augment.jitter)


def aug_seed(cfg: LTSCConfig) -> int:
    return derive_seed(cfg.seed, 17)


# ---- run --------------------------------------------------------------------------------------
@torch.no_grad()
def _teacher_eval(teacher: Teacher, test_ds: Any, device: torch.device) -> float:
    return classifier_accuracy(teacher.to(device), test_ds, device=device)


def _job(cfg: LTSCConfig, rd: RunDir, v: dict[str, Any], student: TaskStudent, train_ds: Any,
         device: torch.device) -> DistillJob:
    n = max(1, round(v["fraction"] * len(train_ds)))
    fp = {"student": cfg.student.fingerprint_dump(), "adaptive": v["adaptive"],
          "seed": v["seed"],
          "loss": cfg.loss.model_dump(), "fraction": v["fraction"], "n": n,
          "data": cfg.data.model_dump(mode="json"), "snr": cfg.snr.model_dump(),
          "channel": cfg.channel.model_dump(), "store": cfg.store.model_dump(exclude={"path"})}
    return DistillJob(
        student=student, link=Link.from_config(cfg.channel, normalize=False).to(device),
        dataset=Subset(train_ds, n),
        train=cfg.train, loss=cfg.loss, snr=cfg.snr, checkpoint_dir=rd.checkpoints / v["name"],
        augment=augment_of(cfg), aug_seed=aug_seed(cfg), views=cfg.store.views, seed=v["seed"],
        tag=v["name"], fingerprint=json.dumps(fp, sort_keys=True), log=rd.log_metrics)


@register_experiment(SYSTEM, LTSCConfig, evaluate=lambda *a, **k: evaluate(*a, **k),
                     report=lambda rd: report(rd))
def run(cfg: LTSCConfig, rd: RunDir) -> dict[str, Any]:
    """Teacher → store → students → evaluation → report. Resumable (finished stages skip)."""
    t_start = time.perf_counter()
    device = _device(cfg)
    train_ds, test_ds = cfg.data.build("train"), cfg.data.build("test")
    teacher, tinfo = get_teacher(cfg, train_ds, rd)
    if teacher.num_classes != train_ds.num_classes:
        from semdistill.teachers import TeacherNotAvailable

        raise TeacherNotAvailable(f"teacher {teacher.spec} has {teacher.num_classes} classes, "
                                  f"dataset has {train_ds.num_classes}")
    tinfo["test_accuracy"] = _teacher_eval(teacher, test_ds, device)
    t0 = time.perf_counter()
    store = KnowledgeStore.build(
        teacher, train_ds, store_path(cfg, rd), dataset_id=cfg.data.identity("train"),
        views=cfg.store.views, k=cfg.store.k, seed=aug_seed(cfg), augment=augment_of(cfg),
        chunk_size=cfg.store.chunk_size, temperature=cfg.loss.temperature,
        batch_size=cfg.store.batch_size, device=device)
    store_seconds = time.perf_counter() - t0
    timings: dict[str, dict[str, Any]] = {}
    for v in variants(cfg):
        student = build_student(cfg, train_ds.num_classes, v["adaptive"], v["seed"])
        job = _job(cfg, rd, v, student, train_ds, device)
        knowledge = {"prestored": store, "online": teacher, "scratch": None}[v["method"]]
        summary = distill(v["method"], job, knowledge)
        timings[v["name"]] = {**v, "seconds": summary.seconds, "steps": summary.steps,
                              "skipped": summary.skipped, "last": summary.last}
    rd.write_json("results/run-info.json", {
        "teacher": tinfo, "store": {"path": str(store.path), "seconds": store_seconds,
                                    "bytes_per_sample": store.bytes_per_sample,
                                    "payload_bytes_per_sample":
                                        store.manifest["payload_bytes_per_sample"],
                                    "k": store.header.k, "views": store.header.views,
                                    "num_classes": store.header.num_classes,
                                    "samples": len(store)},
        "timings": timings, "device": str(device)})
    _save_timing_results(rd, timings)
    evaluate(cfg, rd, snr_db=cfg.eval.snr_db, channel=None, _refresh=False)
    _complexity(cfg, rd, teacher, train_ds.num_classes, device)
    info = rd.read_json("results/run-info.json")
    info["wall_seconds_before_report"] = time.perf_counter() - t_start
    rd.write_json("results/run-info.json", info)
    report(rd)
    checks = _checks(rd)
    return {"teacher_test_accuracy": round(tinfo["test_accuracy"], 4),
            **{c["check"]: ("PASS" if c["pass"] else "FAIL") for c in checks},
            "wall_seconds": round(time.perf_counter() - t_start, 1)}


def _save_timing_results(rd: RunDir, timings: dict[str, dict[str, Any]]) -> None:
    res = Results(SYSTEM, "distill-time", meta={"unit": "seconds (TrainSummary.seconds)"})
    for name, t in timings.items():
        res.add(method=name, fraction=t["fraction"], steps=t["steps"], seconds=t["seconds"])
    res.save(rd.results / "distill-time.json")


def _load_student(cfg: LTSCConfig, rd: RunDir, v: dict[str, Any], num_classes: int,
                  device: torch.device) -> TaskStudent | None:
    final = rd.checkpoints / v["name"] / "final"
    if not final.is_dir():
        return None
    student = build_student(cfg, num_classes, v["adaptive"], v["seed"])
    load_checkpoint(final, {"student": student}, restore_rng=False)
    return student.to(device).eval()


def evaluate(cfg: LTSCConfig, rd: RunDir, snr_db: list[float], channel: str | None = None,
             _refresh: bool = True) -> Path:
    """Accuracy vs SNR of every trained variant on each channel; accuracy vs fraction.

    Writes ``results/accuracy-vs-snr.json`` (merged with earlier channels),
    ``results/accuracy-vs-fraction.json`` and, with ``runs.extra_seeds``,
    ``results/accuracy-vs-seed.json``; refreshes the report when called from the CLI.
    """
    device = _device(cfg)
    test_ds = cfg.data.build("test")
    channels = [channel] if channel else list(cfg.eval.channels)
    path = rd.results / "accuracy-vs-snr.json"
    res = Results.load(path) if path.is_file() else Results(SYSTEM, "accuracy-vs-snr")
    res.records = [r for r in res.records if r.get("channel") not in channels]
    res.meta = {"test_samples": len(test_ds), "repeats": cfg.eval.repeats,
                "train_channel": cfg.channel.name}
    frac = Results(SYSTEM, "accuracy-vs-fraction",
                   meta={"snr_db": cfg.eval.check_snr_db, "channel": "awgn"})
    students = {}
    for v in variants(cfg):
        s = _load_student(cfg, rd, v, test_ds.num_classes, device)
        if s is not None:
            students[v["name"]] = (v, s)
    for ch in channels:
        link = Link.from_config(ChannelConfig(name=ch, equalizer=cfg.channel.equalizer),
                                normalize=False).to(device)
        for name, (v, s) in students.items():
            grid = snr_db if v["fraction"] == cfg.fraction and v["seed"] == cfg.seed else []
            for snr in grid:
                m = student_accuracy(s, link, test_ds, snr, batch_size=cfg.eval.batch_size,
                                     seed=cfg.seed + 1, repeats=cfg.eval.repeats, device=device)
                res.add(method=name, channel=ch, snr_db=float(snr), adaptive=v["adaptive"],
                        fraction=v["fraction"], accuracy=m["accuracy"], active=m["active"],
                        energy=m["energy"])
    awgn = Link.from_config(ChannelConfig(name="awgn"), normalize=False).to(device)
    seeds = Results(SYSTEM, "accuracy-vs-seed", meta={"channel": "awgn"})
    done: dict[tuple[str, float], float] = {}  # the fraction and seed checks share evaluations

    def awgn_accuracy(v: dict[str, Any], s: TaskStudent, snr: float) -> float:
        key = (v["name"], float(snr))
        if key not in done:
            done[key] = student_accuracy(s, awgn, test_ds, snr, batch_size=cfg.eval.batch_size,
                                         seed=cfg.seed + 1, repeats=cfg.eval.repeats,
                                         device=device)["accuracy"]
        return done[key]

    for v, s in students.values():
        if (v["adaptive"] and v["seed"] == cfg.seed
                and v["method"] in cfg.runs.fraction_methods):
            frac.add(method=v["method"], fraction=v["fraction"], snr_db=cfg.eval.check_snr_db,
                     channel="awgn", accuracy=awgn_accuracy(v, s, cfg.eval.check_snr_db))
        if cfg.runs.extra_seeds and v["fraction"] == cfg.fraction and v["method"] != "scratch":
            for snr in dict.fromkeys((cfg.eval.check_snr_db, cfg.eval.low_snr_db)):
                seeds.add(method=v["method"], adaptive=v["adaptive"], seed=v["seed"],
                          snr_db=float(snr), accuracy=awgn_accuracy(v, s, snr))
    res.save(path)
    frac.save(rd.results / "accuracy-vs-fraction.json")
    if seeds.records:
        seeds.save(rd.results / "accuracy-vs-seed.json")
    if _refresh:
        report(rd)
    return path


def _complexity(cfg: LTSCConfig, rd: RunDir, teacher: Teacher, num_classes: int,
                device: torch.device) -> None:
    """Params, MB, FLOPs per image and tx/rx latency (batch 1, CPU) of student vs teacher."""
    student = build_student(cfg, num_classes, True).eval()
    size = cfg.data.image_size
    x = torch.rand(1, 3, size, size)
    snr = torch.full((1,), 10.0)
    teacher = teacher.to("cpu")
    with torch.no_grad():
        z, _ = student.transmit(x, snr)
    reps = cfg.eval.latency_repeats
    res = Results(SYSTEM, "complexity", meta={"latency": "median ms, batch 1, CPU",
                                              "flops": "per image, FlopCounterMode"})
    tx_flops = count_flops(lambda: student.transmit(x, snr))
    rx_flops = count_flops(lambda: student.receive(z, snr))
    res.add(method="student", part="transmitter+receiver", params=count_parameters(student),
            megabytes=model_megabytes(student), flops=tx_flops + rx_flops,
            tx_flops=tx_flops, rx_flops=rx_flops,
            tx_latency_ms=latency_ms(lambda: student.transmit(x, snr), repeats=reps),
            rx_latency_ms=latency_ms(lambda: student.receive(z, snr), repeats=reps),
            symbols=student.num_symbols, bandwidth_ratio=student.bandwidth_ratio)
    res.add(method="teacher", part=teacher.spec, params=count_parameters(teacher),
            megabytes=model_megabytes(teacher), flops=count_flops(lambda: teacher(x)),
            latency_ms=latency_ms(lambda: teacher(x), repeats=reps),
            input_size=teacher.preprocess.cfg.input_size)
    res.save(rd.results / "complexity.json")


# ---- checks and report ------------------------------------------------------------------------
def _acc(res: Results, method: str, channel: str, snr: float) -> float | None:
    rows = res.select(method=method, channel=channel, snr_db=float(snr))
    return rows[0]["accuracy"] if rows else None


def _seed_accuracies(rd: RunDir, method: str, adaptive: bool, snr: float) -> list[float]:
    """Accuracies over seeds (``results/accuracy-vs-seed.json``; empty without extra seeds)."""
    path = rd.results / "accuracy-vs-seed.json"
    if not path.is_file():
        return []
    return [r["accuracy"] for r in Results.load(path).records if r["method"] == method
            and r["adaptive"] == adaptive and r["snr_db"] == float(snr)]


def _seed_text(per_seed: dict[str, list[float]]) -> str:
    n = len(next(iter(per_seed.values())))
    return f"mean over {n} seeds: " + ", ".join(
        f"{k} {[round(a, 4) for a in v]}" for k, v in per_seed.items())


def _fmt(accuracy: float | None) -> str:
    return "n/a" if accuracy is None else f"{accuracy:.4f}"


def _checks(rd: RunDir) -> list[dict[str, Any]]:
    """The issue's required results, measured: one dict per check with pass and the figures."""
    cfg_data = rd.config_data()
    ev = cfg_data.get("eval", {})
    hi, lo = float(ev.get("check_snr_db", 10.0)), float(ev.get("low_snr_db", 0.0))
    out: list[dict[str, Any]] = []
    times = {r["method"]: r for r in Results.load(rd.results / "distill-time.json").records}
    acc = Results.load(rd.results / "accuracy-vs-snr.json")
    if "prestored" in times and "online" in times:
        tp, to = times["prestored"]["seconds"], times["online"]["seconds"]
        ap, ao = _acc(acc, "prestored", "awgn", hi), _acc(acc, "online", "awgn", hi)
        how = f"AWGN, {hi:g} dB"
        per_seed = {m: _seed_accuracies(rd, m, True, hi) for m in ("prestored", "online")}
        if all(per_seed.values()):  # runs.extra_seeds: compare the means over seeds
            ap, ao = (sum(v) / len(v) for v in per_seed.values())
            how += f", {_seed_text(per_seed)}"
        ok_t = tp <= to / 3
        ok_a = ap is not None and ao is not None and ap >= ao - 0.01
        out.append({"check": "prestored_time_le_third_of_online", "pass": ok_t,
                    "detail": f"prestored {tp:.1f} s vs online {to:.1f} s for "
                              f"{times['prestored']['steps']} steps (ratio {to / max(tp, 1e-9):.2f}x)"})
        out.append({"check": f"prestored_acc_within_1pt_of_online_at_{hi:g}dB", "pass": ok_a,
                    "detail": f"prestored {_fmt(ap)} vs online {_fmt(ao)} ({how})"})
    a_ad = _acc(acc, "prestored", "awgn", lo)
    a_na = _acc(acc, "prestored-nonadaptive", "awgn", lo)
    per_seed = {"adaptive": _seed_accuracies(rd, "prestored", True, lo),
                "non-adaptive": _seed_accuracies(rd, "prestored", False, lo)}
    how = ""
    if all(per_seed.values()):
        a_ad, a_na = (sum(v) / len(v) for v in per_seed.values())
        how = f" ({_seed_text(per_seed)})"
    if a_ad is not None and a_na is not None:
        out.append({"check": f"adaptive_ge_nonadaptive_at_{lo:g}dB_awgn", "pass": a_ad >= a_na,
                    "detail": f"adaptive {a_ad:.4f} vs non-adaptive {a_na:.4f}{how}"})
    fr = Results.load(rd.results / "accuracy-vs-fraction.json")
    fractions = sorted({r["fraction"] for r in fr.records})
    if fractions:
        f0 = fractions[0]
        rows = {r["method"]: r["accuracy"] for r in fr.records if r["fraction"] == f0}
        if "scratch" in rows and "prestored" in rows:
            out.append({"check": f"distilled_beats_scratch_at_fraction_{f0:g}",
                        "pass": rows["prestored"] > rows["scratch"],
                        "detail": f"prestored {rows['prestored']:.4f} vs scratch "
                                  f"{rows['scratch']:.4f} (AWGN {fr.meta.get('snr_db')} dB)"})
    return out


def report(rd: RunDir) -> Path:
    """Build report.md and plots/*.png from the run's results files."""
    info = rd.read_json("results/run-info.json")
    acc = Results.load(rd.results / "accuracy-vs-snr.json")
    plots = []
    for ch in sorted({r["channel"] for r in acc.records}):
        out = plot_metric(acc, "snr_db", "accuracy", rd.plots / f"accuracy-vs-snr-{ch}.png",
                          group_by=("method",), where={"channel": ch},
                          title=f"accuracy vs SNR ({ch})")
        plots.append(out)
    fr = Results.load(rd.results / "accuracy-vs-fraction.json")
    plots.append(plot_metric(fr, "fraction", "accuracy", rd.plots / "accuracy-vs-fraction.png",
                             title=f"accuracy vs training fraction (AWGN {fr.meta.get('snr_db')} dB)"))
    times = Results.load(rd.results / "distill-time.json")
    _bar_plot(times, rd.plots / "distill-time.png")
    md = MarkdownReport("LTSC: lightweight task-oriented semantic communication")
    md.text("Pre-stored fast distillation, channel-adaptive student and IB loss "
            "(arXiv 2506.13243; see docs/ltsc.md for what is inferred).")
    md.section("Required results (measured)")
    checks = _checks(rd)
    md.bullets([f"**{'PASS' if c['pass'] else 'FAIL'}** {c['check']}: {c['detail']}"
                for c in checks] or ["(not enough variants were run to check)"])
    wall = info.get("wall_seconds_before_report")
    md.text(f"Run wall time (teacher + store + students + evaluation): "
            f"{wall:.1f} s." if wall else "")
    t, s = info["teacher"], info["store"]
    md.section("Teacher and knowledge store")
    md.bullets([
        f"teacher: {t['source']} (test accuracy {t['test_accuracy']:.4f}; "
        f"pre-trained in this run: {t['pretrained_now']})",
        f"store: K={s['k']} of {s['num_classes']} classes, {s['views']} views, "
        f"{s['samples']} samples, built in {s['seconds']:.1f} s",
        f"store size: {s['bytes_per_sample']:.1f} bytes/sample on disk "
        f"({s['payload_bytes_per_sample']} payload bytes/sample)",
    ])
    md.section("Distillation wall time (same steps)")
    md.table([{"method": r["method"], "fraction": r["fraction"], "steps": r["steps"],
               "seconds": r["seconds"]} for r in times.records])
    md.image("plots/distill-time.png", "distillation time")
    md.section("Accuracy vs SNR")
    md.table(_snr_rows(acc, "accuracy", ("method", "channel")), floatfmt=".3f")
    for p in plots[:-1]:
        md.image(f"plots/{p.name}", p.stem)
    energy = _snr_rows(acc, "energy", ("method",), channel="awgn")
    if energy:
        md.text("Transmitted energy per symbol Es (AWGN; the power constraint is Es ≤ 1; the IB "
                "rate term per channel use grows with Es):")
        md.table(energy, floatfmt=".3f")
    md.section("Accuracy vs training fraction")
    md.table(fr.records, floatfmt=".3f")
    md.image("plots/accuracy-vs-fraction.png", "accuracy vs fraction")
    cx = rd.results / "complexity.json"
    if cx.is_file():
        rec = {r["method"]: r for r in Results.load(cx).records}
        st, te = rec["student"], rec["teacher"]
        md.section("Complexity: student vs teacher")
        md.table([
            {"model": "student (tx + rx)", "params": st["params"], "MB": st["megabytes"],
             "MFLOPs/image": st["flops"] / 1e6,
             "latency ms (batch 1, CPU)": st["tx_latency_ms"] + st["rx_latency_ms"]},
            {"model": f"teacher ({te['part']}, {te['input_size']} px)", "params": te["params"],
             "MB": te["megabytes"], "MFLOPs/image": te["flops"] / 1e6,
             "latency ms (batch 1, CPU)": te["latency_ms"]},
        ])
        md.bullets([
            f"teacher/student: {te['params'] / st['params']:.0f}x parameters, "
            f"{te['flops'] / st['flops']:.0f}x FLOPs",
            f"transmitter {st['tx_flops'] / 1e6:.3g} MFLOPs, {st['tx_latency_ms']:.3g} ms; "
            f"receiver {st['rx_flops'] / 1e6:.3g} MFLOPs, {st['rx_latency_ms']:.3g} ms",
            f"{st['symbols']} complex symbols per image (bandwidth ratio "
            f"{st['bandwidth_ratio']:.4g})",
        ])
    return md.save(rd.report_path)


def _snr_rows(res: Results, metric: str, keys: tuple[str, ...], **where: Any
              ) -> list[dict[str, Any]]:
    """One table row per ``keys`` group: the group's fields, then ``metric`` at each SNR."""
    return [{**dict(zip(keys, key, strict=True)),
             **{f"{x:g} dB": y for x, y in zip(xs, ys, strict=True)}}
            for key, (xs, ys) in sorted(res.series("snr_db", metric, keys, **where).items())]


def _bar_plot(times: Results, out: Path) -> None:
    import matplotlib.pyplot as plt

    names = [r["method"] for r in times.records]
    secs = [r["seconds"] for r in times.records]
    fig, ax = plt.subplots(figsize=(6.0, 3.5), dpi=120)
    ax.barh(names, secs)
    ax.set_xlabel("distillation wall time [s]")
    fig.tight_layout()
    save_figure(fig, out)
