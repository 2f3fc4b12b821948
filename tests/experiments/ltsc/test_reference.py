"""runs.seeds end to end, reference folders (round trip, the shipped one, malicious ones) and a
single-seed run placed against a reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from semdistill.cli import main
from semdistill.experiments.reference import (
    MANIFEST,
    ReferenceError,
    load_reference,
    reference_checks,
)
from semdistill.results import Results

pytest.importorskip("semdistill.data", reason="the shapes world (semdistill.data) is not installed")

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "ltsc" / "tiny.yaml"
FAST = ["train.steps=2", "eval.digital.enabled=false", "eval.channels=[awgn]"]


def _run(root: Path, name: str, *overrides: str) -> Path:
    args = ["run", str(CONFIG), "--output-dir", str(root), "--name", name]
    for o in (*FAST, *overrides):
        args += ["--set", o]
    assert main(args) == 0
    return root / name


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    """A tiny run with runs.seeds=2 and its reference folder (made through the CLI)."""
    root = tmp_path_factory.mktemp("seeds")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEMDISTILL_CACHE", str(root / "cache"))
        run = _run(root / "runs", "two", "runs.seeds=2")
        assert main(["reference", str(run), "--out", str(root / "ref"),
                     "--command", "pytest", "--machine", "test host"]) == 0
    return run, root / "ref"


def test_every_variant_is_trained_and_evaluated_for_every_seed(two_seeds):
    run, _ = two_seeds
    res = run / "results"
    names = {"prestored", "online", "scratch", "prestored-nonadaptive", "prestored-f0.5",
             "scratch-f0.5"}
    times = Results.load(res / "distill-time.json").records
    assert {(r["method"], r["seed"]) for r in times} == {(n, s) for n in names for s in (0, 1)}
    assert {p.name for p in (run / "checkpoints").iterdir()} >= {f"{n}-s1" for n in names}
    fr = Results.load(res / "accuracy-vs-fraction.json").records
    assert {(r["method"], r["fraction"], r["seed"]) for r in fr} == {
        (m, f, s) for m in ("prestored", "scratch") for f in (0.5, 1.0) for s in (0, 1)}
    acc = Results.load(res / "accuracy-vs-snr.json").records
    assert {(r["method"], r["seed"]) for r in acc} == {
        (n, s) for n in names - {"prestored-f0.5", "scratch-f0.5"} for s in (0, 1)}
    assert not (res / "accuracy-vs-seed.json").exists()
    report = (run / "report.md").read_text()
    assert "t-interval over 2 seeds, paired by seed" in report and "**SMOKE**" not in report
    assert "## Diagnostics over seeds (not checks)" in report and "std over seeds" in report


def test_reference_replaces_a_reference_folder_and_nothing_else(two_seeds, tmp_path, capsys):
    run, ref = two_seeds
    again = tmp_path / "again"
    shutil.copytree(ref, again)
    (again / "stale.json").write_text("{}")
    assert main(["reference", str(run), "--out", str(again)]) == 0
    assert not (again / "stale.json").exists() and len(load_reference(again)["seeds"]) == 2
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    capsys.readouterr()
    assert main(["reference", str(run), "--out", str(other)]) == 2
    assert "is not a reference folder" in capsys.readouterr().err
    assert (other / "mine.txt").read_text() == "keep" and len(list(tmp_path.iterdir())) == 2


def test_a_reference_rebuilds_the_runs_claims_table(two_seeds):
    from semdistill.experiments.ltsc.config import run_config
    from semdistill.experiments.ltsc.report import required_checks
    from semdistill.experiments.rundir import RunDir

    run, ref = two_seeds
    rd = RunDir.open(run)
    assert [c.to_dict() for c in reference_checks(ref)] == [
        c.to_dict() for c in required_checks(run_config(rd), rd)]
    man = load_reference(ref)
    assert man["seeds"] == [0, 1] and man["command"] == "pytest"
    assert man["config_sha256"] == json.loads((run / "run.json").read_text())["config_sha256"]
    assert set(man["files"]) == {p.name for p in ref.iterdir()} - {MANIFEST}


def test_one_seed_is_placed_against_a_matching_reference(two_seeds, tmp_path, monkeypatch):
    _, ref = two_seeds
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    run = _run(tmp_path / "runs", "one", f"eval.reference={ref}")
    report = (run / "report.md").read_text()
    assert "**SMOKE** prestored_acc_within_1pt_of_online_at_10dB" in report
    assert "the reference 95% interval [" in report and "over 2 seeds" in report
    assert f"reference: {ref} (2 seeds, test host" in report


def _tampered(ref: Path, tmp_path: Path, how: str) -> Path:
    bad = tmp_path / f"ref-{how}"
    shutil.copytree(ref, bad)
    man = json.loads((bad / MANIFEST).read_text())
    if how == "escape":
        (tmp_path / "outside.json").write_text((bad / "complexity.json").read_text())
        man["files"]["../outside.json"] = man["files"].pop("complexity.json")
    elif how == "checksum":
        (bad / "distill-time.json").write_text((bad / "distill-time.json").read_text() + " ")
    elif how == "not-json":
        (bad / MANIFEST).write_bytes(b"\\x80\\x04pickle")
        return bad
    elif how == "other-config":
        man["config"]["train"]["steps"] = 7
        man["claims_fingerprint"] = "0" * 16
    (bad / MANIFEST).write_text(json.dumps(man))
    return bad


@pytest.mark.parametrize("how, words", [
    ("escape", "'../outside.json' is not a plain name"),
    ("checksum", "distill-time.json does not match its checksum"),
    ("not-json", "not a readable reference manifest"),
])
def test_a_bad_reference_is_one_line_and_the_run_keeps_its_files(two_seeds, tmp_path, how,
                                                                 words, capsys):
    run, ref = two_seeds
    bad = _tampered(ref, tmp_path, how)
    with pytest.raises(ReferenceError, match="^" + str(bad).replace(".", r"\.")):
        load_reference(bad)
    copy = _with_reference(run, bad, tmp_path)
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["report", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def _with_reference(run: Path, ref: Path, tmp_path: Path) -> Path:
    """A copy of ``run`` whose config.yaml (and run.json's hash of it) names ``ref``."""
    import hashlib

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    config = copy / "config.yaml"
    config.write_text(config.read_text().replace("reference: null", f"reference: {ref}"))
    info = json.loads((copy / "run.json").read_text())  # "created" with this reference
    info["config_sha256"] = hashlib.sha256(config.read_bytes()).hexdigest()
    (copy / "run.json").write_text(json.dumps(info))
    return copy


def test_a_reference_of_another_config_is_named_in_one_line_and_not_used(two_seeds, tmp_path):
    run, ref = two_seeds
    copy = _with_reference(run, _tampered(ref, tmp_path, "other-config"), tmp_path)
    assert main(["report", str(copy)]) == 0
    report = (copy / "report.md").read_text()
    line = [ln for ln in report.splitlines() if "made for another config" in ln]
    assert len(line) == 1 and "(train.steps: 7 there, 2 here): not used" in line[0]
    assert "the reference 95% interval" not in report


def test_a_corrupt_reference_stops_a_run_before_any_work(two_seeds, tmp_path, monkeypatch,
                                                        capsys):
    _, ref = two_seeds
    bad = _tampered(ref, tmp_path, "checksum")
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    args = ["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "x",
            "--set", f"eval.reference={bad}"]
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not match its checksum" in err
    assert not (tmp_path / "runs" / "x").exists() and not (tmp_path / "cache").exists()


def test_a_manifest_that_skips_a_file_is_refused(two_seeds, tmp_path):
    """Every file the claims read must be listed and checksummed: a manifest that leaves one out
    (so an edited copy would be read unchecked) is one line."""
    _, ref = two_seeds
    bad = tmp_path / "ref-skip"
    shutil.copytree(ref, bad)
    man = json.loads((bad / MANIFEST).read_text())
    man["files"].pop("distill-time.json")
    (bad / MANIFEST).write_text(json.dumps(man))
    with pytest.raises(ReferenceError, match="holds exactly"):
        load_reference(bad)
