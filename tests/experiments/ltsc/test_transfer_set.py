"""store.transfer_size: the unlabelled images the distilled students see and scratch does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from semdistill.cli import main
from semdistill.data import UNLABELLED
from semdistill.experiments import load_config_file
from semdistill.experiments.ltsc.config import variants
from semdistill.experiments.ltsc.data import train_pool
from semdistill.experiments.ltsc.train import distill_job, training_set
from semdistill.teachers import KnowledgeStore

TINY = Path(__file__).resolve().parents[3] / "configs" / "ltsc" / "tiny.yaml"


def _cfg(*overrides: str):
    return load_config_file(TINY, list(overrides))[1]


def test_the_labelled_images_are_the_same_with_and_without_a_transfer_set():
    plain, cfg = train_pool(_cfg()), _cfg("store.transfer_size=40")
    pool = train_pool(cfg)
    assert len(plain) == 64 and len(pool) == 104
    ids = torch.arange(64)
    assert all(torch.equal(a, b) for a, b in zip(plain.render_indices(ids),
                                                 pool.render_indices(ids), strict=True))


@pytest.mark.parametrize("name, labelled, unlabelled", [
    ("prestored", 64, 40), ("online", 64, 40), ("prestored-nonadaptive", 64, 40),
    ("scratch", 64, 0), ("prestored-f0.5", 32, 20), ("scratch-f0.5", 32, 0)])
def test_each_student_sees_its_fraction_and_only_distillation_sees_the_transfer_set(
        name, labelled, unlabelled):
    cfg = _cfg("store.transfer_size=40")
    pool, v = train_pool(cfg), {v["name"]: v for v in variants(cfg)}[name]
    ds = training_set(cfg, v, pool)
    assert (ds.labelled, len(ds) - ds.labelled) == (labelled, unlabelled)
    assert ds.sources[labelled:].tolist() == list(range(64, 64 + unlabelled))
    _, labels = ds.render_indices(torch.arange(len(ds)))
    assert (labels == UNLABELLED).sum().item() == unlabelled


def test_a_transfer_set_changes_the_distilled_fingerprints_only(tmp_path):
    """Old runs (no transfer set) keep their fingerprints; with one, a checkpoint made
    without it is refused, and scratch (which never sees it) keeps its checkpoint."""
    from semdistill.experiments.rundir import RunDir

    def fps(*o):
        cfg = _cfg(*o)
        pool, rd = train_pool(cfg), RunDir(tmp_path / "r")
        return {v["name"]: distill_job(cfg, rd, v, torch.nn.Linear(1, 1), pool,
                                       torch.device("cpu")).fingerprint for v in variants(cfg)}
    old, zero, new = fps(), fps("store.transfer_size=0"), fps("store.transfer_size=40")
    assert old == zero and '"unlabelled"' not in old["prestored"]
    assert new["prestored"] != old["prestored"] and '"unlabelled": 40' in new["prestored"]
    assert new["scratch"] == old["scratch"] and new["scratch-f0.5"] == old["scratch-f0.5"]


def test_a_real_dataset_too_small_for_the_transfer_set_is_one_line_before_any_work(
        image_tree, tmp_path, capsys):
    image_tree(tmp_path / "tree")  # 50 training images (ant 30, bee 20) and a held-out split
    rc = main(["run", str(TINY), "--output-dir", str(tmp_path / "runs"), "--name", "r",
               "--set", "data.name=imagefolder", "--set", f"data.root={tmp_path / 'tree'}",
               "--set", "data.train_size=8", "--set", "store.transfer_size=1000"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "data.train_size + store.transfer_size = 1008 images" in err
    assert not (tmp_path / "runs" / "r" / "store").exists()


@pytest.mark.slow
def test_a_run_with_a_transfer_set_labels_it_in_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "runs" / "t"
    assert main(["run", str(TINY), "--output-dir", str(tmp_path / "runs"), "--name", "t",
                 "--set", "store.transfer_size=32", "--set", "runs.fractions=[]",
                 "--set", "eval.digital.enabled=false"]) == 0
    store = KnowledgeStore.open(run / "store")
    assert len(store) == 96
    info = json.loads((run / "results" / "run-info.json").read_text())
    assert (info["store"]["samples"], info["store"]["transfer_samples"]) == (96, 32)
    assert "transfer set" in (run / "report.md").read_text()
