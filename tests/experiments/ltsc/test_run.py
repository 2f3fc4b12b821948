"""End to end: configs/ltsc/tiny.yaml through the CLI writes report, results and plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from semdistill.cli import main
from semdistill.experiments.checks import REQUIRED_RESULTS
from semdistill.results import Results

pytest.importorskip("semdistill.data", reason="the shapes world (semdistill.data) is not installed")

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "ltsc" / "tiny.yaml"


def _tiny_run(tmp_path, monkeypatch, *overrides: str) -> Path:
    """``semdistill run configs/ltsc/tiny.yaml --set ...`` with a private teacher cache."""
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    args = ["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "t"]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 0
    return tmp_path / "runs" / "t"


def _digital_baseline_is_reported(run: Path, report: str) -> None:
    """eval.digital (on in tiny.yaml): an envelope record per (channel, budget, SNR); at the
    student's own 64 symbols no configuration fits, and the report says so."""
    dig = Results.load(run / "results" / "digital.json")
    env = dig.select(method="digital-envelope")
    assert dig.meta["native_budgets"] == [64] and dig.meta["budgets"] == [64, 1024]
    assert {(r["channel"], r["budget"], r["snr_db"]) for r in env} == {
        (c, b, s) for c in ("awgn", "rayleigh") for b in (64, 1024) for s in (0.0, 10.0)}
    assert {r["status"] for r in env if r["budget"] == 64} == {"no configuration fits"}
    assert all(0 <= r["failure_rate"] <= 1 and "accuracy" in r for r in env if r["budget"] == 1024)
    assert "Digital baseline" in report and "**no configuration fits**" in report
    assert (run / "plots" / "digital-accuracy-vs-snr_db-awgn.png").stat().st_size > 1000


@pytest.mark.slow
def test_tiny_config_runs_end_to_end_and_resumes(tmp_path, monkeypatch):
    run = _tiny_run(tmp_path, monkeypatch)
    report = (run / "report.md").read_text()
    assert REQUIRED_RESULTS in report and "**SMOKE** prestored_time_le_third" in report
    for name in ("accuracy-vs-snr", "accuracy-vs-fraction", "distill-time", "complexity"):
        res = Results.load(run / "results" / f"{name}.json")
        assert res.records, name
    acc = Results.load(run / "results" / "accuracy-vs-snr.json")
    assert {r["channel"] for r in acc.records} == {"awgn", "rayleigh"}
    assert {r["method"] for r in acc.records} >= {"prestored", "online", "scratch",
                                                   "prestored-nonadaptive"}
    assert all(0 < r["energy"] <= 1 + 1e-5 for r in acc.records)  # Es ≤ 1 (power: max)
    assert "Transmitted energy per symbol Es" in report
    assert "- train data: shapes world (seed 0), train split:" in report  # what the run read
    for png in ("accuracy-vs-snr", "accuracy-vs-fraction", "distill-time"):
        assert (run / "plots" / f"{png}.png").stat().st_size > 1000
    _digital_baseline_is_reported(run, report)
    info = json.loads((run / "results" / "run-info.json").read_text())
    assert info["teacher"]["pretrained_now"] is True  # empty cache: the teacher was pre-trained
    assert (tmp_path / "cache" / "teachers").is_dir()
    # eval on a new grid for one channel keeps the other channel's records
    assert main(["eval", str(run), "--snr", "5", "--channel", "rayleigh"]) == 0
    acc = Results.load(run / "results" / "accuracy-vs-snr.json")
    # the check SNRs (eval.check_snr_db, eval.low_snr_db) are always on the grid
    assert {r["snr_db"] for r in acc.select(channel="rayleigh")} == {0.0, 5.0, 10.0}
    assert {r["snr_db"] for r in acc.select(channel="awgn")} == {0.0, 10.0}
    # a resumed run skips finished stages and reuses the verified store
    assert main(["run", "--resume", str(run)]) == 0
    timings = json.loads((run / "results" / "run-info.json").read_text())["timings"]
    assert all(t["skipped"] for t in timings.values())


def test_report_after_eval_sorts_snr_columns_and_rebuilds_every_plot(tmp_path, monkeypatch):
    run = _tiny_run(tmp_path, monkeypatch, "runs.online=false", "runs.scratch=false",
                    "runs.non_adaptive=false", "runs.fractions=[]")
    assert main(["eval", str(run), "--snr", "10,-5,5", "--channel", "awgn"]) == 0
    report = (run / "report.md").read_text()
    assert "**AWGN** (top-1 accuracy" in report and "**Rayleigh fading** (top-1" in report
    assert "| method | -5 dB | 0 dB | 5 dB | 10 dB |" in report  # numeric order; 0 dB: a check SNR
    assert "| pre-stored KD | " in report and "| prestored |" not in report
    assert "## Readings this run used" in report and "`store.k` = 2" in report
    assert "Reference lines: teacher" in report
    for png in (run / "plots").glob("*.png"):
        png.unlink()
    assert main(["report", str(run)]) == 0
    assert {"accuracy-vs-snr.png", "accuracy-vs-fraction.png", "distill-time.png",
            "digital-accuracy-vs-snr_db-awgn.png"} <= {p.name for p in (run / "plots").glob("*.png")}


def test_tampered_store_in_a_run_is_named(tmp_path, monkeypatch, capsys):
    run = _tiny_run(tmp_path, monkeypatch, "runs.online=false", "runs.scratch=false",
                    "runs.non_adaptive=false", "runs.fractions=[]")
    chunk = run / "store" / "chunk-00000.safetensors"
    chunk.write_bytes(chunk.read_bytes()[:-4])
    assert main(["run", "--resume", str(run)]) == 2
    assert "chunk-00000.safetensors" in capsys.readouterr().err


def test_eval_refuses_a_run_with_a_missing_checkpoint_and_changes_nothing(tmp_path, monkeypatch,
                                                                         capsys):
    import shutil

    run = _tiny_run(tmp_path, monkeypatch, "runs.online=false", "runs.non_adaptive=false",
                    "runs.fractions=[]")
    shutil.rmtree(run / "checkpoints" / "scratch" / "final")
    before = {p.name: p.read_bytes() for p in (run / "results").iterdir()}
    capsys.readouterr()
    assert main(["eval", str(run), "--snr", "0,10"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no finished checkpoint for scratch;" in err and "--resume" in err
    assert {p.name: p.read_bytes() for p in (run / "results").iterdir()} == before


def test_an_older_runs_extra_seeds_still_load_and_resume_without_retraining(tmp_path,
                                                                            monkeypatch):
    """``runs.extra_seeds`` (before ``runs.seeds``) seeds only the main-fraction distilled
    students, as it did: a resumed older run finds every student and trains none."""
    run = _tiny_run(tmp_path, monkeypatch, "runs.online=false", "runs.fractions=[]",
                    "runs.extra_seeds=[0,3]", "eval.digital.enabled=false")
    times = {(r["method"], r["seed"]) for r in
             Results.load(run / "results" / "distill-time.json").records}
    assert times == {("prestored", 0), ("scratch", 0), ("prestored-nonadaptive", 0),
                     ("prestored", 3), ("prestored-nonadaptive", 3)}
    assert not (run / "results" / "accuracy-vs-seed.json").exists()
    assert main(["run", "--resume", str(run)]) == 0
    timings = json.loads((run / "results" / "run-info.json").read_text())["timings"]
    assert all(t["skipped"] for t in timings.values()) and "prestored-s3" in timings
    a = load_file(run / "checkpoints" / "prestored" / "final" / "weights.safetensors")
    b = load_file(run / "checkpoints" / "prestored-s3" / "final" / "weights.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a)  # another seed, another student
    report = (run / "report.md").read_text()  # scratch has one seed: its claim is a smoke line
    assert "**SMOKE** distilled_beats_scratch_at_fraction_1" in report
    assert "**PASS** adaptive_beats" in report or "**FAIL** adaptive_beats" in report or \
        "**INCONCLUSIVE** adaptive_beats" in report


def test_pretrain_teacher_command_writes_a_loadable_teacher(tmp_path):
    from semdistill.teachers import load_teacher

    out = tmp_path / "teacher"
    assert main(["pretrain-teacher", "--config", str(CONFIG), "--out", str(out),
                 "--set", "train.steps=2"]) == 0
    meta = json.loads((out / "teacher.json").read_text())
    assert meta["arch"] == "test_resnet" and 0.0 <= meta["test_accuracy"] <= 1.0
    assert load_teacher(f"local:{out}").num_classes == meta["num_classes"] == 8
