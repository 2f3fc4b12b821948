"""Both DeKA-g systems refuse, before any work, a subject their edge was trained on and a
deliverable made for another edge."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from semdistill.cli import main
from semdistill.data.world.samples import render_world, subject_name
from semdistill.experiments.registry import load_config_file
from semdistill.generative.pretrain_edge import SUMMARY, EdgePretrainConfig
from semdistill.metrics.world_encoder import WorldEncoder, categorical_heads

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "dekag"


@pytest.mark.parametrize("config, key", [("makd-tiny.yaml", "subjects[0]"),
                                         ("tiny.yaml", "data.subject")])
def test_a_subject_the_edge_saw_stops_the_run_in_one_line(saved_edge, tmp_path, capsys, config,
                                                          key):
    edge = Path(shutil.copytree(saved_edge, tmp_path / "edge"))
    (edge / SUMMARY).write_text(json.dumps(  # the tiny edge "never saw" green hearts only
        {"config": EdgePretrainConfig(exclude=[{"shape": "heart", "color": "green"}]
                                      ).model_dump()}))
    _, cfg = load_config_file(CONFIGS / config)
    subject = subject_name(cfg.subjects[0] if cfg.system == "makd" else cfg.data.subject)
    torch.manual_seed(0)
    world = render_world("train", 16, 16, 0, ["flat", "textured"])
    WorldEncoder(categorical_heads(world.attrs), width=4, dim=8).save(tmp_path / "we")
    rc = main(["run", str(CONFIGS / config), "--output-dir", str(tmp_path / "runs"), "--name", "t",
               "--set", f"edge.model={edge}", "--set", "cloud.image_size=16",
               "--set", f"metrics.world_encoder={tmp_path / 'we'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    run = tmp_path / "runs" / "t"
    assert err[0] == (f"error: config: {key}: subject {subject}: the edge at {edge} was "
                      "trained on it (its denoiser excluded only: green heart); choose a held-out "
                      f"subject (nothing was kept: removed {run}; fix, then run again)")
    assert not run.exists()  # nothing was trained or generated before the check


def test_dekag_refuses_a_deliverable_made_for_another_edge(saved_edge, tmp_path, capsys):
    from semdistill.generative.deliverable import MAKDDeliverable

    foreign = MAKDDeliverable(token="<meta>", class_word="triangle", embedding=torch.zeros(16),
                              edge_fingerprint="f" * 64, edge_origin="runs/other-edge")
    path = foreign.save(tmp_path / "foreign.safetensors")
    torch.manual_seed(0)
    world = render_world("train", 16, 16, 0, ["flat", "textured"])
    WorldEncoder(categorical_heads(world.attrs), width=4, dim=8).save(tmp_path / "we")
    rc = main(["run", str(CONFIGS / "tiny.yaml"), "--output-dir", str(tmp_path / "runs"),
               "--name", "t", "--set", f"edge.model={saved_edge}", "--set", "cloud.image_size=16",
               "--set", f"metrics.world_encoder={tmp_path / 'we'}",
               "--set", f"alignment.deliverable={path}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {path}: made for the edge ffffffffffff (runs/other-edge), "
                             "not for this edge ")
    assert not list((tmp_path / "runs").glob("t/data/*"))
