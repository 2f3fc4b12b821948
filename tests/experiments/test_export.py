"""``semdistill export RUN`` on a tiny finished LTSC run: ONNX graphs that match the trained
student in ONNX Runtime, a manifest that names them, and one-line refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from semdistill.cli import main
from semdistill.deploy.parts import TaskReceiver, TaskTransmitter
from semdistill.experiments.registry import load_config
from semdistill.experiments.rundir import RunDir
from semdistill.utils.io import sha256_file

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "ltsc" / "tiny.yaml"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMDISTILL_CACHE", str(root / "cache"))
    try:
        assert main(["run", str(CONFIG), "--output-dir", str(root / "runs"), "--name", "t",
                     "--set", "runs.online=false", "--set", "runs.non_adaptive=false",
                     "--set", "runs.fractions=[]", "--set", "eval.onnx_latency=true"]) == 0
        yield root / "runs" / "t"
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def exported(finished_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    assert main(["export", str(finished_run), "--out", str(out)]) == 0
    return out


def _student(run: Path):
    from semdistill.experiments.ltsc.config import variants
    from semdistill.experiments.ltsc.evaluate import load_student

    rd = RunDir.open(run)
    _, cfg = load_config(rd.config_data())
    v = next(v for v in variants(cfg) if v["name"] == "prestored")
    return load_student(cfg, rd, v, cfg.data.build("train"), torch.device("cpu"))


def test_the_manifest_names_every_part_with_its_tensors_and_the_run(finished_run, exported):
    m = json.loads((exported / "manifest.json").read_text())
    run_info = json.loads((finished_run / "run.json").read_text())
    assert m["format"] == "semdistill.export/1" and m["system"] == "ltsc"
    assert m["config_sha256"] == run_info["config_sha256"]
    assert [p["name"] for p in m["parts"]] == ["prestored-transmitter", "prestored-receiver"]
    tx, rx = m["parts"]
    assert [t["name"] for t in tx["inputs"]] == ["images", "snr_db"]
    assert [t["name"] for t in tx["outputs"]] == ["symbols", "weights"]
    assert tx["outputs"][0]["shape"][0] == "batch" and tx["outputs"][0]["shape"][-1] == 2
    assert "dB" in tx["inputs"][1]["units"] and rx["inputs"][0]["dtype"] == "float32"
    for p in m["parts"]:
        f = exported / p["file"]
        assert f.parent == exported and sha256_file(f) == p["sha256"]  # inside the folder
        assert p["verification"]["max_abs_error"] <= p["verification"]["atol"]


def test_the_graphs_compute_the_trained_student(finished_run, exported):
    student = _student(finished_run)
    tx = ort.InferenceSession(str(exported / "prestored-transmitter.onnx"))
    rx = ort.InferenceSession(str(exported / "prestored-receiver.onnx"))
    g = torch.Generator().manual_seed(3)
    for batch in (1, 4):
        images = torch.rand(batch, 3, 32, 32, generator=g)
        snr = torch.rand(batch, generator=g) * 25 - 5
        sym, w = tx.run(None, {"images": images.numpy(), "snr_db": snr.numpy()})
        with torch.no_grad():
            ref_sym, ref_w = TaskTransmitter(student)(images, snr)
            ref_logits = TaskReceiver(student)(torch.from_numpy(sym), snr)
        torch.testing.assert_close(torch.from_numpy(sym), ref_sym, rtol=0, atol=1e-5)
        torch.testing.assert_close(torch.from_numpy(w), ref_w, rtol=0, atol=1e-5)
        (logits,) = rx.run(None, {"symbols": sym, "snr_db": snr.numpy()})
        torch.testing.assert_close(torch.from_numpy(logits), ref_logits, rtol=0, atol=1e-4)


def test_the_complexity_table_has_onnx_runtime_latency(finished_run):
    cx = json.loads((finished_run / "results" / "complexity.json").read_text())
    st = next(r for r in cx["records"] if r["method"] == "student")
    assert st["onnx_tx_latency_ms"] > 0 and st["onnx_rx_latency_ms"] > 0
    assert st["onnx_max_abs_error"] <= 1e-4
    assert "1 thread(s)" in cx["meta"]["latency"]
    report = (finished_run / "report.md").read_text()
    assert "student (tx + rx), ONNX Runtime" in report


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    return err


def test_an_unfinished_run_is_refused_in_one_line(finished_run, tmp_path, capsys):
    run = Path(shutil.copytree(finished_run, tmp_path / "t"))
    shutil.rmtree(run / "checkpoints" / "prestored" / "final")
    err = _one_line_error(capsys, ["export", str(run)])
    assert "no finished checkpoint for prestored" in err and "--resume" in err
    assert not (run / "export").exists()


def test_an_edited_or_foreign_run_is_refused_in_one_line(finished_run, tmp_path, capsys):
    run = Path(shutil.copytree(finished_run, tmp_path / "t"))
    cfg = run / "config.yaml"
    cfg.write_text(cfg.read_text().replace("seed: 0", "seed: 1", 1))
    assert "changed after the run started" in _one_line_error(capsys, ["export", str(run)])
    (run / "run.json").write_text(json.dumps({"format": "semdistill.run/1", "system": "dekag"}))
    assert "is a 'dekag' run" in _one_line_error(capsys, ["export", str(run)])
    assert "not a run directory" in _one_line_error(capsys, ["export", str(tmp_path)])


def test_an_unknown_student_and_a_system_without_parts_are_refused(finished_run, tmp_path,
                                                                   capsys):
    err = _one_line_error(capsys, ["export", str(finished_run), "--method", "nope"])
    assert "'nope' is not a student of this run" in err and "prestored" in err
    _, cfg = load_config({"system": "makd"})
    rd = RunDir.create(tmp_path, cfg, name="m")
    assert "has no transmitter or receiver" in _one_line_error(capsys, ["export", str(rd.path)])
