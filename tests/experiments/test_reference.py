"""Reference results of any system (experiments.reference): two tiny fake systems registered
here (and unregistered after), their runs written through the real RunDir and Results writers,
merged by seed through the CLI; refusals and hostile folders are one line each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Literal

import pytest

from semdistill.cli import main
from semdistill.experiments.checks import judge, per_seed
from semdistill.experiments.reference import (
    MANIFEST,
    REFERENCES,
    ReferenceError,
    ReferenceSpec,
    load_reference,
    make_reference,
    reference_checks,
    reference_for,
    register_reference,
)
from semdistill.experiments.registry import EXPERIMENTS, ExperimentConfig, register_experiment
from semdistill.experiments.rundir import RunDir
from semdistill.results import Results
from semdistill.utils.stats import paired

FILES = ("scores.json", "times.json")


class FakeConfig(ExperimentConfig):
    system: Literal["fake-a", "fake-b", "fake-c"] = "fake-a"
    steps: int = 2
    margin: float = 0.0
    label: str = ""  # not compared: changes no seed's figures
    reference: str | None = None


def fake_claims(cfg: FakeConfig, folder: Path, reference) -> list:
    """``a − b`` score per seed, paired by seed, against ``cfg.margin``."""
    recs = Results.load(folder / "scores.json").records
    diff = paired(per_seed(recs, cfg.seed, "score", method="a"),
                  per_seed(recs, cfg.seed, "score", method="b"))
    check = judge("a_beats_b", diff, cfg.margin, "gt", "a − b score", reference)
    return [check] if check else []


def _spec(system: str) -> ReferenceSpec:
    return ReferenceSpec(system, FakeConfig, FILES, {"": ("label", "reference")}, fake_claims,
                         lambda cfg: [cfg.seed], reference_key="reference")


@pytest.fixture(autouse=True)
def fake_systems():
    """fake-a and fake-b have reference results, fake-c is a system without them."""
    for name in ("fake-a", "fake-b", "fake-c"):
        register_experiment(name, FakeConfig)(lambda cfg, rd: {})
    register_reference(_spec("fake-a"))
    register_reference(_spec("fake-b"))
    yield
    for name in ("fake-a", "fake-b"):
        REFERENCES.unregister(name)
    for name in ("fake-a", "fake-b", "fake-c"):
        EXPERIMENTS.unregister(name)


def _run(root: Path, name: str, seed: int, wall: float | None = 1.0, system: str = "fake-a",
         **fields) -> Path:
    """A finished fake run: scores without ``seed`` fields, times with them."""
    rd = RunDir.create(root, FakeConfig(system=system, seed=seed, **fields), name=name)
    Results(system, "scores", [{"method": "a", "score": 0.7 + 0.01 * seed},
                               {"method": "b", "score": 0.5 - 0.02 * seed}],
            {"unit": "fraction"}).save(rd.results / "scores.json")
    Results(system, "times", [{"method": "a", "seed": seed, "seconds": 3.0 + seed}]
            ).save(rd.results / "times.json")
    if wall is not None:
        rd.write_json("results/run-info.json", {"wall_seconds_before_report": wall,
                                                "device": "cpu"})
    return rd.path


def _reference(tmp_path: Path, *runs: Path, out: str = "ref") -> tuple[int, Path]:
    args = ["reference", *map(str, runs), "--out", str(tmp_path / out), "--command", "pytest"]
    return main(args), tmp_path / out


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_two_runs_merge_into_one_reference_with_every_seed(tmp_path, capsys):
    r0, r1 = _run(tmp_path, "s0", 0, wall=1.5), _run(tmp_path, "s1", 1, wall=2.5, label="x")
    rc, ref = _reference(tmp_path, r0, r1)
    assert rc == 0
    out = capsys.readouterr().out
    assert "PASS a_beats_b" in out and f"reference: {ref} (2 runs, seeds 0, 1)" in out
    man = load_reference(ref)
    assert man["system"] == "fake-a" and man["seeds"] == [0, 1] and man["command"] == "pytest"
    assert [(r["run"], r["seed"], r["seeds"]) for r in man["runs"]] == [("s0", 0, [0]),
                                                                       ("s1", 1, [1])]
    assert man["config"]["seed"] == 0 and man["config"]["label"] == ""  # the first run's
    assert man["config_sha256"] == json.loads((r0 / "run.json").read_text())["config_sha256"]
    assert man["runs"][1]["config_sha256"] != man["config_sha256"]
    assert man["wall_seconds"] == pytest.approx(4.0) and "device cpu" in man["machine"]
    assert set(man["files"]) == set(FILES) == {p.name for p in ref.iterdir()} - {MANIFEST}
    scores = Results.load(ref / "scores.json")
    assert [(r["method"], r["seed"]) for r in scores.records] == [
        ("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    assert scores.meta == {"unit": "fraction"} and scores.name == "scores"
    times = Results.load(ref / "times.json").records
    assert [(r["seed"], r["seconds"]) for r in times] == [(0, 3.0), (1, 4.0)]


def test_the_claims_are_rebuilt_from_the_folder_alone(tmp_path):
    ref = make_reference([RunDir.open(_run(tmp_path, f"s{s}", s)) for s in (0, 1, 2)],
                         tmp_path / "ref")
    for run in tmp_path.glob("s*"):
        shutil.rmtree(run)
    (check,) = reference_checks(ref)
    expected = {s: (0.7 + 0.01 * s) - (0.5 - 0.02 * s) for s in (0, 1, 2)}
    assert check.per_seed == pytest.approx(expected) and len(check.per_seed) == 3
    assert check.verdict == "PASS" and check.interval[1] == pytest.approx(0.23)


def test_the_main_seed_comes_first_then_the_rest_sorted(tmp_path):
    runs = [RunDir.open(_run(tmp_path, f"s{s}", s)) for s in (3, 1, 0)]
    man = load_reference(make_reference(runs, tmp_path / "ref"))
    assert man["seeds"] == [3, 0, 1] and man["config"]["seed"] == 3


def test_overlapping_seeds_are_refused_naming_the_runs(tmp_path, capsys):
    r0, again = _run(tmp_path, "s0", 0), _run(tmp_path, "again", 0)
    rc, ref = _reference(tmp_path, r0, _run(tmp_path, "s1", 1), again)
    assert rc == 2 and not ref.exists()
    err = _one_line(capsys)
    assert f"{r0} and {again} share seed(s) 0" in err and "--set seed=N" in err
    assert _reference(tmp_path, r0, r0)[0] == 2 and "share seed(s) 0" in _one_line(capsys)


def test_runs_of_other_configs_are_refused_naming_the_key(tmp_path, capsys):
    r0, r1 = _run(tmp_path, "s0", 0), _run(tmp_path, "s1", 1, steps=3, margin=0.1)
    rc, ref = _reference(tmp_path, r0, r1)
    assert rc == 2 and not ref.exists()
    err = _one_line(capsys)
    assert f"margin: 0.1 in {r1}, 0.0 in {r0}; steps: 3 in {r1}, 2 in {r0}" in err
    assert "differ only in seed" in err


def test_runs_of_two_systems_are_refused(tmp_path, capsys):
    rc, _ = _reference(tmp_path, _run(tmp_path, "a", 0), _run(tmp_path, "b", 1, system="fake-b"))
    assert rc == 2 and "are runs of systems fake-a, fake-b" in _one_line(capsys)


def test_a_system_without_reference_results_is_one_line(tmp_path, capsys):
    rc, ref = _reference(tmp_path, _run(tmp_path, "c", 0, system="fake-c"))
    assert rc == 2 and not ref.exists()
    err = _one_line(capsys)
    assert "reference results exist for systems: dekag, fake-a, fake-b, ltsc, makd" in err
    assert "not for 'fake-c'" in err


def test_an_unfinished_run_or_a_foreign_results_file_is_one_line(tmp_path, capsys):
    r0, r1 = _run(tmp_path, "s0", 0), _run(tmp_path, "s1", 1)
    (r1 / "results" / "times.json").unlink()
    assert _reference(tmp_path, r0, r1)[0] == 2
    assert f"{r1}: not a finished fake-a run (no results/times.json)" in _one_line(capsys)
    (r1 / "results" / "times.json").write_text('{"schema": "other"}')
    assert _reference(tmp_path, r0, r1)[0] == 2
    assert "not a semdistill results file (schema 'other')" in _one_line(capsys)
    (r1 / "results" / "run-info.json").write_bytes(b"\x80 not json")
    assert _reference(tmp_path, r0, r1)[0] == 2
    assert "run-info.json: unreadable" in _one_line(capsys)


def test_a_run_without_a_wall_time_leaves_the_total_out_and_says_so(tmp_path, capsys):
    rc, ref = _reference(tmp_path, _run(tmp_path, "s0", 0), _run(tmp_path, "s1", 1, wall=None))
    assert rc == 0 and "(no wall time: a run has no results/run-info.json" in \
        capsys.readouterr().out
    man = load_reference(ref)
    assert man["wall_seconds"] is None and [r["wall_seconds"] for r in man["runs"]] == [1.0, None]


def test_reference_for_places_one_seed_and_names_another_config(tmp_path):
    ref = make_reference([RunDir.open(_run(tmp_path, f"s{s}", s)) for s in (0, 1)],
                         tmp_path / "ref")
    checks, note = reference_for(FakeConfig(seed=5, label="demo", reference=str(ref)))
    assert set(checks) == {"a_beats_b"} and note.startswith(f"reference: {ref} (2 seeds, ")
    one = _run(tmp_path, "one", 20)
    (smoke,) = fake_claims(FakeConfig(seed=20), one / "results", checks)
    assert smoke.verdict == "SMOKE" and "above the reference 95% interval" in smoke.detail
    assert reference_for(FakeConfig(steps=3, reference=str(ref))) == (
        None, f"reference {ref} was made for another config (steps: 2 there, 3 here): not used "
              "(reference)")
    assert reference_for(FakeConfig(reference=str(tmp_path / "none")))[1] == (
        f"no reference results at {tmp_path / 'none'} yet (reference)")
    assert reference_for(FakeConfig()) == reference_for(FakeConfig(reference="")) == (None, "")
    with pytest.raises(ReferenceError, match="not a semdistill reference manifest of system "
                                             "'fake-b'"):
        reference_for(FakeConfig(system="fake-b", reference=str(ref)))


def _hostile(ref: Path, how: str) -> None:
    man = json.loads((ref / MANIFEST).read_text())
    if how == "foreign":
        man["format"] = "someone.else/1"
    elif how == "system":
        man["system"] = "nope"
    elif how == "system-list":
        man["system"] = ["ltsc"]
    elif how == "path":
        man["files"]["../scores.json"] = man["files"].pop("scores.json")
    elif how == "link":
        (ref / "scores.json").rename(ref / "elsewhere")
        (ref / "scores.json").symlink_to(ref / "elsewhere")
    elif how == "checksum":
        (ref / "times.json").write_text((ref / "times.json").read_text() + " ")
    elif how == "missing":
        (ref / "times.json").unlink()
    elif how == "not-results":
        (ref / "times.json").write_text("{}")
        man["files"]["times.json"] = __import__("hashlib").sha256(b"{}").hexdigest()
    elif how == "skip":
        man["files"].pop("times.json")
    (ref / MANIFEST).write_text(json.dumps(man))


@pytest.mark.parametrize("how, words", [
    ("foreign", "not a semdistill reference manifest"),
    ("system", "reference results exist for systems: dekag, fake-a, fake-b, ltsc, makd; not for 'nope'"),
    ("system-list", "not for ['ltsc']"),
    ("path", "file '../scores.json' is not a plain name inside the folder"),
    ("link", "file 'scores.json' is not a plain name inside the folder"),
    ("checksum", "times.json does not match its checksum"),
    ("missing", "times.json is missing"),
    ("not-results", "not a semdistill results file"),
    ("skip", "a reference holds exactly scores.json, times.json"),
])
def test_a_hostile_reference_folder_is_one_line(tmp_path, how, words):
    ref = make_reference([RunDir.open(_run(tmp_path, "s0", 0))], tmp_path / "ref")
    _hostile(ref, how)
    with pytest.raises(ReferenceError) as err:
        reference_checks(ref)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(ref)) and words in msg, msg
