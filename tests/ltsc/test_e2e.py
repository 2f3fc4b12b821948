"""End to end: configs/ltsc/tiny.yaml through the CLI writes report, results and plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from semdistill.cli import main
from semdistill.experiments.results import Results

pytest.importorskip("semdistill.data", reason="the shapes world (semdistill.data) is not installed")

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ltsc" / "tiny.yaml"


@pytest.mark.slow
def test_tiny_config_runs_end_to_end_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    rc = main(["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "t"])
    assert rc == 0
    run = tmp_path / "runs" / "t"
    report = (run / "report.md").read_text()
    assert "Required results (measured)" in report and ("PASS" in report or "FAIL" in report)
    for name in ("accuracy-vs-snr", "accuracy-vs-fraction", "distill-time", "complexity"):
        res = Results.load(run / "results" / f"{name}.json")
        assert res.records, name
    acc = Results.load(run / "results" / "accuracy-vs-snr.json")
    assert {r["channel"] for r in acc.records} == {"awgn", "rayleigh"}
    assert {r["method"] for r in acc.records} >= {"prestored", "online", "scratch",
                                                   "prestored-nonadaptive"}
    for png in ("accuracy-vs-snr-awgn", "accuracy-vs-snr-rayleigh", "accuracy-vs-fraction",
                "distill-time"):
        assert (run / "plots" / f"{png}.png").stat().st_size > 1000
    info = json.loads((run / "results" / "run-info.json").read_text())
    assert info["teacher"]["pretrained_now"] is True  # empty cache: the teacher was pre-trained
    assert (tmp_path / "cache" / "teachers").is_dir()
    # eval on a new grid for one channel keeps the other channel's records
    assert main(["eval", str(run), "--snr", "5", "--channel", "rayleigh"]) == 0
    acc = Results.load(run / "results" / "accuracy-vs-snr.json")
    assert {r["snr_db"] for r in acc.select(channel="rayleigh")} == {5.0}
    assert {r["snr_db"] for r in acc.select(channel="awgn")} == {0.0, 10.0}
    # a resumed run skips finished stages and reuses the verified store
    assert main(["run", "--resume", str(run)]) == 0
    timings = json.loads((run / "results" / "run-info.json").read_text())["timings"]
    assert all(t["skipped"] for t in timings.values())


def test_tampered_store_in_a_run_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    args = ["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "t",
            "--set", "runs.online=false", "--set", "runs.scratch=false",
            "--set", "runs.non_adaptive=false", "--set", "runs.fractions=[]"]
    assert main(args) == 0
    chunk = tmp_path / "runs" / "t" / "store" / "chunk-00000.safetensors"
    chunk.write_bytes(chunk.read_bytes()[:-4])
    assert main(["run", "--resume", str(tmp_path / "runs" / "t")]) == 2
    assert "chunk-00000.safetensors" in capsys.readouterr().err


def test_pretrain_teacher_command_writes_a_loadable_teacher(tmp_path):
    from semdistill.teachers import load_teacher

    out = tmp_path / "teacher"
    assert main(["pretrain-teacher", "--config", str(CONFIG), "--out", str(out),
                 "--set", "train.steps=2"]) == 0
    meta = json.loads((out / "teacher.json").read_text())
    assert meta["arch"] == "test_resnet" and 0.0 <= meta["test_accuracy"] <= 1.0
    assert load_teacher(f"local:{out}").num_classes == meta["num_classes"] == 8
