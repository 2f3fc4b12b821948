"""End to end: ``semdistill run configs/dekag/makd-tiny.yaml`` writes report, results, PNGs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip("semdistill.data")

from semdistill.cli import main  # noqa: E402
from semdistill.data.world.samples import render_world  # noqa: E402
from semdistill.metrics.world_encoder import WorldEncoder, categorical_heads  # noqa: E402
from semdistill.results import Results  # noqa: E402

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "dekag" / "makd-tiny.yaml"


def test_makd_tiny_run_writes_report_results_and_plots(saved_edge, tmp_path):
    world = render_world("train", 48, 16, 0, ["flat", "textured"])
    torch.manual_seed(0)
    WorldEncoder(categorical_heads(world.attrs), width=4, dim=8).save(tmp_path / "we")
    rc = main(["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "t",
               "--set", f"edge.model={saved_edge}", "--set",
               f"metrics.world_encoder={tmp_path / 'we'}"])
    assert rc == 0
    run = tmp_path / "runs" / "t"
    report = (run / "report.md").read_text()
    assert "Required results (measured)" in report and "world-encoder" in report
    assert "Reference points" in report
    assert "| steps | none | metaword | lora | makd | best |" in report  # budgets 2 and 4
    res = Results.load(run / "results" / "consistency.json")
    methods = {r["method"] for r in res.records}
    assert methods == {"none", "metaword", "lora", "makd"}
    assert {r["step"] for r in res.records if r["method"] == "makd"} == {2, 4}
    pngs = sorted(p.name for p in (run / "plots").glob("*.png"))
    assert "consistency-vs-steps.png" in pngs and any(p.startswith("grid-") for p in pngs)
    assert list((run / "deliverables").glob("*-makd.safetensors"))
    for grid in res.meta["grids"]:  # the cloud against itself: ‖mean of unit embeddings‖²
        assert -1 <= grid["ceilings"]["cloud_through_edge_vae"] <= 1
        assert 0 <= grid["ceilings"]["cloud"] <= 1
