"""Every file the library reads from a run directory, replaced by a pickle that would write a
file if it were ever unpickled: ``run --resume`` and ``eval`` refuse in one line (or ignore the
file), and nothing executes. Run directories are shared between people; none can run code."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from semdistill.cli import main
from semdistill.utils.io import sha256_file

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ltsc" / "tiny.yaml"


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    os.environ["SEMDISTILL_CACHE"] = str(root / "cache")
    try:
        assert main(["run", str(CONFIG), "--output-dir", str(root / "runs"), "--name", "t",
                     "--set", "runs.online=false", "--set", "runs.non_adaptive=false",
                     "--set", "runs.fractions=[]"]) == 0
    finally:
        del os.environ["SEMDISTILL_CACHE"]
    return root / "runs" / "t"


TARGETS = ["config.yaml", "run.json", "metrics.jsonl", "results/accuracy-vs-snr.json",
           "results/run-info.json", "store/manifest.json", "store/chunk-00000.safetensors",
           "checkpoints/prestored/final/manifest.json",
           "checkpoints/prestored/final/state.json",
           "checkpoints/prestored/final/state.safetensors",
           "checkpoints/prestored/final/weights.safetensors",
           "checkpoints/prestored/final/state.pt"]


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_a_planted_pickle_never_runs(finished_run, tmp_path, capsys, monkeypatch, target):
    monkeypatch.setenv("SEMDISTILL_CACHE", str(finished_run.parents[1] / "cache"))  # its teacher
    run = tmp_path / "t"
    shutil.copytree(finished_run, run)
    marker = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(marker))
    f = run / target
    f.write_bytes(blob)
    final = run / "checkpoints" / "prestored" / "final"
    if f.parent == final:  # the checksum matches: only a loader that never unpickles is safe
        m = json.loads((final / "manifest.json").read_text()) if f.name != "manifest.json" \
            else None
        if m is not None:
            if f.name == "state.pt":  # a format-1 checkpoint, as older versions wrote them
                m["format"] = "semdistill.checkpoint/1"
                m["files"] = {"weights.safetensors": m["files"]["weights.safetensors"]}
                (final / "state.json").unlink()
                (final / "state.safetensors").unlink()
            m["files"][f.name] = sha256_file(f)
            (final / "manifest.json").write_text(json.dumps(m))
    if target.startswith("store/") and f.name != "manifest.json":
        m = json.loads((run / "store" / "manifest.json").read_text())
        m["chunks"][0]["sha256"] = sha256_file(f)
        (run / "store" / "manifest.json").write_text(json.dumps(m))
    commands = [["run", "--resume", str(run)], ["eval", str(run), "--snr", "0"]]
    if target.startswith("checkpoints/") or target in ("config.yaml", "run.json"):
        commands.append(["export", str(run), "--out", str(tmp_path / "onnx")])  # what it reads
    for argv in commands:
        rc = main(argv)
        err = capsys.readouterr().err
        assert not marker.exists(), f"{target}: the payload ran ({argv[0]})"
        assert "Traceback" not in err
        if rc != 0:
            assert rc == 2 and len(err.strip().splitlines()) == 1, err
