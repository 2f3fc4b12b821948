"""A tiny run through the CLI as a user runs it: tracker files that agree with metrics.jsonl,
``--quiet``, ``--device``, ``eval`` on another channel, failed runs, and file modes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from semdistill.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "ltsc" / "tiny.yaml"
ONE_STUDENT = ["--set", "runs.online=false", "--set", "runs.scratch=false",
               "--set", "runs.non_adaptive=false", "--set", "runs.fractions=[]"]


def cli(*argv: str) -> tuple[int, str, str]:
    """``main(argv)`` with its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One shapes-teacher cache for the module (the tiny teacher trains in about a second)."""
    root = tmp_path_factory.mktemp("cache")
    old = os.environ.get("SEMDISTILL_CACHE")
    os.environ["SEMDISTILL_CACHE"] = str(root)
    yield root
    if old is None:
        del os.environ["SEMDISTILL_CACHE"]
    else:
        os.environ["SEMDISTILL_CACHE"] = old


@pytest.fixture(scope="module")
def quiet_run(cache, tmp_path_factory):
    """A finished tiny run made with ``--quiet --tracker tensorboard --device cpu``."""
    out = tmp_path_factory.mktemp("runs")
    result = cli("run", str(CONFIG), "--output-dir", str(out), "--name", "t", "--quiet",
                 "--tracker", "tensorboard", "--device", "cpu", *ONE_STUDENT)
    os.environ.pop("ACCELERATE_USE_CPU", None)  # --device cpu set it for this process
    return out / "t", result


def test_quiet_prints_only_the_report_line(quiet_run):
    run, (rc, out, err) = quiet_run
    assert rc == 0, err
    assert out == f"report: {run / 'report.md'}\n" and err == ""


def test_tensorboard_scalars_are_the_rows_of_metrics_jsonl(quiet_run):
    run, _ = quiet_run
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["tag"] == "prestored"]
    assert train and all({"loss", "lr", "grad_norm", "samples_per_s"} <= set(r) for r in train)
    assert any(r["tag"].startswith("eval/accuracy-vs-snr/prestored/") for r in rows)
    got = scalars(run / "tensorboard")
    expected = {(f"{r['tag']}/{k}", r["step"]): v for r in rows for k, v in r.items()
                if k not in ("step", "tag", "time")}
    seen = {(tag, step): v for tag, points in got.items() for step, v in points}
    assert seen.keys() == expected.keys()
    for key, v in expected.items():  # TensorBoard stores float32
        assert seen[key] == pytest.approx(v, rel=1e-6, abs=1e-30), key


def test_the_saved_config_names_the_tracker_and_device(quiet_run):
    import yaml

    run, _ = quiet_run
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["tracker"] == "tensorboard" and saved["device"] == "cpu"


def test_eval_on_another_channel_logs_its_results_as_rows(quiet_run, tmp_path):
    import shutil

    run = tmp_path / "t"
    shutil.copytree(quiet_run[0], run)
    rc, out, err = cli("eval", str(run), "--snr", "0,5", "--channel", "rayleigh", "--quiet",
                       "--tracker", "none")
    assert rc == 0, err
    assert out.startswith("results: ") and err == ""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    ray = [r for r in rows if r["tag"] == "eval/accuracy-vs-snr/prestored/rayleigh"]
    # the run evaluated 0 and 10 dB; this eval (0, 5 and the check SNR 10 dB, always on the
    # grid) continues the tag's step axis
    assert [(r["step"], r["snr_db"]) for r in ray] == [(0, 0.0), (1, 10.0), (2, 0.0), (3, 5.0),
                                                      (4, 10.0)]


def test_eval_of_an_unknown_channel_is_one_line_naming_the_channels(quiet_run, capsys):
    run, _ = quiet_run
    before = sorted(p.name for p in (run / "results").iterdir())
    assert main(["eval", str(run), "--channel", "foo"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --channel") and "\n" not in err
    assert all(c in err for c in ("'awgn'", "'rayleigh'", "'rayleigh_block'", "'rician'"))
    assert sorted(p.name for p in (run / "results").iterdir()) == before


def test_plot_of_an_unknown_metric_names_the_valid_ones_and_writes_nothing(quiet_run, tmp_path,
                                                                            capsys):
    run, _ = quiet_run
    out = tmp_path / "p.png"
    assert main(["plot", str(run / "results"), "--y", "acc", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --y 'acc'") and "\n" not in err and "accuracy" in err
    assert not out.exists()
    assert main(["plot", str(run / "results"), "--x", "snr_db", "--y", "flops",  # complexity
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no record has both 'snr_db' and 'flops'" in err and "accuracy" in err
    assert not out.exists()
    assert main(["plot", str(run / "results" / "accuracy-vs-snr.json"), "--y", "accuracy",
                 "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_a_run_that_fails_before_its_first_stage_leaves_no_directory(cache, tmp_path):
    root = tmp_path / "runs"
    (root / "earlier").mkdir(parents=True)  # someone else's folder: untouched
    rc, _, err = cli("run", str(CONFIG), "--output-dir", str(root), "--name", "f",
                     "--set", "teacher.spec=local:/no/such/teacher", *ONE_STUDENT)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "nothing was kept" in err and "--resume" not in err
    assert sorted(p.name for p in root.iterdir()) == ["earlier"]


def test_a_run_that_fails_after_a_stage_keeps_its_work_and_says_resume(cache, tmp_path):
    root = tmp_path / "runs"
    rc, _, err = cli("run", str(CONFIG), "--output-dir", str(root), "--name", "f",
                     "--set", "train.lr=1e30", *ONE_STUDENT)  # the student diverges at once
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "non-finite loss" in err and "--resume" in err and str(root / "f") in err
    assert (root / "f" / "store" / "manifest.json").is_file()  # the finished store stage


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_every_file_of_a_run_follows_the_umask(cache, tmp_path, mask):
    old = os.umask(mask)
    try:
        rc, _, err = cli("run", str(CONFIG), "--output-dir", str(tmp_path), "--name", "u",
                         "--quiet", *ONE_STUDENT)
    finally:
        os.umask(old)
    assert rc == 0, err
    run = tmp_path / "u"
    modes = {p.relative_to(run).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [run, *run.rglob("*")] if not p.is_symlink()}
    for must in ("config.yaml", "report.md", "results/accuracy-vs-snr.json",
                 "checkpoints/prestored/final/weights.safetensors"):
        assert must in modes
    assert any(k.startswith("plots/") and k.endswith(".png") for k in modes)
    wrong = {k: oct(m) for k, m in modes.items()
             if m != ((0o777 if (run / k).is_dir() else 0o666) & ~mask)}
    assert not wrong


def wandb_records(log: Path) -> list[Any]:
    """The whole ``Record`` protobufs W&B has written so far to its offline record log.

    The ``.wandb`` file is a LevelDB-style log (W&B's datastore format): a 7-byte file header,
    then 32 KiB blocks of chunks, each with a 7-byte header (CRC32, little-endian length, type
    FULL 1 / FIRST 2 / MIDDLE 3 / LAST 4); a block's tail under 7 bytes is padding. A record
    still being written (a torn tail) is left out.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, buf = log.read_bytes(), 7, 32768, b""
    out = []
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        if kind == 0:  # zero padding to the block's end
            pos += left
            continue
        if pos + 7 + length > len(data):
            break
        buf += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            buf = b""
            out.append(rec)
    return out


def wandb_history(log: Path, timeout_s: float = 60.0) -> dict[str, list[float]]:
    """Every history value of the offline log, by key, once W&B has written the run's ``exit``
    record: W&B's service process writes the file asynchronously, and can still be writing its
    last rows when the run has returned (read before that, a test saw a row missing)."""
    deadline = time.monotonic() + timeout_s
    records = wandb_records(log)
    while not any(r.HasField("exit") for r in records):
        assert time.monotonic() < deadline, f"{log}: no exit record after {timeout_s:g} s"
        time.sleep(0.2)
        records = wandb_records(log)
    out: dict[str, list[float]] = {}
    for rec in records:
        for item in rec.history.item if rec.HasField("history") else ():
            key = item.key or "/".join(item.nested_key)
            value = json.loads(item.value_json)
            if isinstance(value, int | float):
                out.setdefault(key, []).append(float(value))
    return out


def test_wandb_offline_records_every_row(cache, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    rc, _, err = cli("run", str(CONFIG), "--output-dir", str(tmp_path), "--name", "w",
                     "--quiet", "--tracker", "wandb", *ONE_STUDENT)
    assert rc == 0, err
    run = tmp_path / "w"
    (log,) = run.glob("wandb/offline-run-*/run-*.wandb")
    history = wandb_history(log)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any(r["tag"] == "prestored" for r in rows)
    for r in rows:
        assert r["step"] in history.get(f"{r['tag']}/step", [])  # each tag's own x axis
        for k, v in r.items():
            if k not in ("step", "tag", "time"):
                assert any(w == pytest.approx(v, rel=1e-9)
                           for w in history.get(f"{r['tag']}/{k}", [])), (r["tag"], k, v)


@pytest.mark.parametrize("config", ["ltsc/tiny.yaml", "dekag/tiny.yaml", "dekag/makd-tiny.yaml"])
def test_device_sets_every_device_field_of_a_config_and_auto_none(config):
    from semdistill.experiments.registry import load_config_file, with_device

    _, cfg = load_config_file(CONFIG.parents[1] / config)

    def devices(model, where=""):
        out = {}
        for key in type(model).model_fields:
            value = getattr(model, key)
            if hasattr(type(value), "model_fields"):
                out.update(devices(value, f"{where}{key}."))
            elif key == "device":
                out[f"{where}{key}"] = value
        return out

    before = devices(cfg)
    assert before, "each system has a device field"
    assert devices(with_device(cfg, "auto")) == before
    assert set(devices(with_device(cfg, "cuda:1")).values()) == {"cuda:1"}
