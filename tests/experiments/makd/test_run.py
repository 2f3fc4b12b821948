"""End to end: ``semdistill run configs/dekag/makd-tiny.yaml`` writes report, results, PNGs;
the report's checks hold the measured figures to the config's thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip("semdistill.data")

from semdistill.cli import main  # noqa: E402
from semdistill.config import ConfigError  # noqa: E402
from semdistill.data.world.samples import render_world  # noqa: E402
from semdistill.experiments.checks import REQUIRED_RESULTS
from semdistill.experiments.makd import MAKDExperimentConfig, required_checks  # noqa: E402
from semdistill.experiments.registry import load_config  # noqa: E402
from semdistill.metrics.world_encoder import WorldEncoder, categorical_heads  # noqa: E402
from semdistill.results import Results  # noqa: E402

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "dekag" / "makd-tiny.yaml"


def test_makd_tiny_run_writes_report_results_and_plots(saved_edge, tmp_path):
    world = render_world("train", 48, 16, 0, ["flat", "textured"])
    torch.manual_seed(0)
    WorldEncoder(categorical_heads(world.attrs), width=4, dim=8).save(tmp_path / "we")
    rc = main(["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "t",
               "--set", f"edge.model={saved_edge}", "--set", "cloud.image_size=16", "--set",
               f"metrics.world_encoder={tmp_path / 'we'}"])
    assert rc == 0
    run = tmp_path / "runs" / "t"
    report = (run / "report.md").read_text()
    assert REQUIRED_RESULTS in report and "world-encoder" in report
    assert "Reference points" in report
    assert "PASS** deliverable_fraction: deliverable = " in report or \
        "FAIL** deliverable_fraction: deliverable = " in report
    assert ("| steps | no alignment | metaword only | LoRA only | MAKD | best |"
            in report)  # budgets 2 and 4, display names only
    assert "## Readings this run used" in report and "`makd.metaword_placement` = " in report
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


def _results(frac: float, none: float = 0.5, makd: float = 0.8) -> Results:
    res = Results("makd", "consistency", meta={"deliverable_fraction": frac,
                                               "deliverable_bytes": 1234})
    for method, value in (("none", none), ("makd", makd)):
        res.add(method=method, subject="red triangle", step=4, consistency=value)
    return res


def test_deliverable_fraction_check_reads_the_config_threshold():
    cfg = MAKDExperimentConfig(max_deliverable_fraction=0.02)
    by_name = {c.name: c for c in required_checks(_results(0.03), cfg)}
    over = by_name["deliverable_fraction"]
    assert not over.passed and over.threshold == 0.02 and over.line().startswith("**FAIL**")
    assert over.measured == {"deliverable_fraction": 0.03, "deliverable_bytes": 1234}
    assert "required < 2%" in over.detail
    under = {c.name: c for c in required_checks(_results(0.015), cfg)}["deliverable_fraction"]
    assert under.passed and under.line().startswith("**PASS**")
    assert not {c.name: c for c in required_checks(
        _results(0.015), MAKDExperimentConfig())}["deliverable_fraction"].passed  # default 1%


def test_gain_check_reads_min_gain():
    gain = {c.name: c for c in required_checks(_results(0.0, none=0.5, makd=0.7),
                                               MAKDExperimentConfig(min_gain=0.3))}
    assert gain["makd_gain_vs_none"].passed and gain["makd_gain_vs_none"].threshold == 0.3
    assert abs(gain["makd_gain_vs_none"].measured["gain"] - 0.4) < 1e-12
    strict = required_checks(_results(0.0, none=0.5, makd=0.7), MAKDExperimentConfig(min_gain=0.5))
    assert not strict[0].passed


def test_no_relative_gain_over_a_baseline_that_is_not_positive():
    from semdistill.experiments.makd.report import final_means, method_rows

    res = _results(0.0, none=-0.0102, makd=0.0484)  # a relative gain would read "-574.5%"
    check = {c.name: c for c in required_checks(res, MAKDExperimentConfig())}["makd_gain_vs_none"]
    assert not check.passed and check.measured["gain"] is None
    assert "%" not in check.detail.split("(required")[0]
    assert "+0.0586): no relative gain over a baseline that is not positive" in check.detail
    rows = {r["method"]: r for r in method_rows(final_means(res, 4))}
    assert rows["MAKD"]["gain vs none"] == "+0.0586 abs."
    positive = {r["method"]: r for r in method_rows(final_means(_results(0.0), 4))}
    assert positive["MAKD"]["gain vs none"] == "+60.0%"


def test_config_needs_an_embedder():
    with pytest.raises(ConfigError, match="metrics.embedders"):
        load_config({"system": "makd", "metrics": {"embedders": []}})
