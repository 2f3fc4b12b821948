"""End to end: ``semdistill run configs/dekag/makd-tiny.yaml`` writes report, results, PNGs;
the report's checks hold the measured figures to the config's thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

pytest.importorskip("semdistill.data")

from semdistill.cli import main  # noqa: E402
from semdistill.config import ConfigError  # noqa: E402
from semdistill.data.world.samples import render_world  # noqa: E402
from semdistill.experiments.checks import REQUIRED_RESULTS
from semdistill.experiments.makd import MAKDExperimentConfig, claims  # noqa: E402
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
    assert ("| steps | no alignment | metaword only | LoRA only | MAKD |\n"
            in report)  # budgets 2 and 4, display names only, no single-seed "best"
    assert "## Readings this run used" in report and "`makd.metaword_placement` = " in report
    res = Results.load(run / "results" / "consistency.json")
    methods = {r["method"] for r in res.records}
    assert methods == {"none", "metaword", "lora", "makd"}
    assert {r["step"] for r in res.records if r["method"] == "makd"} == {2, 4}
    pngs = sorted(p.name for p in (run / "plots").glob("*.png"))
    assert "consistency-vs-steps.png" in pngs and any(p.startswith("grid-") for p in pngs)
    assert list((run / "deliverables").glob("*-makd.safetensors"))
    head = Results.load(run / "results" / "headroom.json")
    assert {r["reference"] for r in head.records} == {"cloud", "cloud_through_edge_vae"}
    assert {r["seed"] for r in res.records} == {0} and "headroom" in report
    assert "Steps each method needs" in report
    info = json.loads((run / "results" / "run-info.json").read_text())
    assert info["wall_seconds_before_report"] > 0 and info["device"] == "cpu"  # a reference sums it
    for grid in res.meta["grids"]:  # the cloud against itself: ‖mean of unit embeddings‖²
        assert -1 <= grid["ceilings"]["cloud_through_edge_vae"] <= 1
        assert 0 <= grid["ceilings"]["cloud"] <= 1


def _results(frac: float, none: float = 0.5, makd: float = 0.8, seeds=(0,), folder=None,
             lora: float | None = None, ceiling: float | None = None) -> Path:
    """A results folder of ``seeds`` with one subject; seed k adds 0.01·k to every figure."""
    res = Results("makd", "consistency", meta={"deliverable_fraction": frac,
                                               "deliverable_bytes": 1234})
    head = Results("makd", "headroom")
    for k in seeds:
        for method, value in (("none", none), ("makd", makd), ("lora", lora)):
            if value is not None:
                res.add(seed=k, method=method, subject="red star", step=4,
                        consistency=value + 0.01 * k)
        if ceiling is not None:
            head.add(seed=k, subject="red star", reference="cloud_through_edge_vae",
                     consistency=ceiling + 0.01 * k)
    folder.mkdir(parents=True, exist_ok=True)
    res.save(folder / "consistency.json")
    head.save(folder / "headroom.json")
    return folder


def _checks(cfg, folder):
    return {c.name: c for c in claims(cfg, folder)}


def test_deliverable_fraction_check_reads_the_config_threshold(tmp_path):
    cfg = MAKDExperimentConfig(max_deliverable_fraction=0.02, budgets=[4])
    over = _checks(cfg, _results(0.03, folder=tmp_path / "a"))["deliverable_fraction"]
    assert not over.passed and over.threshold == 0.02 and over.line().startswith("**FAIL**")
    assert over.measured == {"deliverable_fraction": 0.03, "deliverable_bytes": 1234}
    assert "required < 2%" in over.detail
    under = _checks(cfg, _results(0.015, folder=tmp_path / "b"))["deliverable_fraction"]
    assert under.passed and under.line().startswith("**PASS**")
    assert not _checks(MAKDExperimentConfig(budgets=[4]), tmp_path / "b"
                       )["deliverable_fraction"].passed  # default 1%


def test_one_seed_is_a_smoke_line_that_reads_min_gain(tmp_path):
    folder = _results(0.0, none=0.5, makd=0.7, folder=tmp_path)
    gain = _checks(MAKDExperimentConfig(min_gain=0.3, budgets=[4]), folder)["makd_gain_vs_none"]
    assert gain.verdict == "SMOKE" and gain.passed and gain.threshold == 0.3
    assert abs(gain.measured["mean"] - 0.4) < 1e-12
    strict = _checks(MAKDExperimentConfig(min_gain=0.5, budgets=[4]), folder)
    assert not strict["makd_gain_vs_none"].passed


def test_claims_over_seeds_are_paired_intervals(tmp_path):
    folder = _results(0.0, none=0.4, makd=0.7, lora=0.69, ceiling=0.8, seeds=(0, 1, 2),
                      folder=tmp_path)
    checks = _checks(MAKDExperimentConfig(budgets=[4]), folder)
    gain = checks["makd_gain_vs_none"]  # per seed (0.7+d)/(0.4+d) - 1, all above 0.44
    assert gain.verdict == "PASS" and set(gain.per_seed) == {0, 1, 2}
    assert abs(gain.per_seed[1] - (0.71 / 0.41 - 1)) < 1e-12
    assert checks["headroom"].verdict == "PASS"  # 0.8/0.4 − 1 = 100% ≥ 60%
    above = checks["makd_above_lora"]  # +0.01 in every seed: an interval of width 0
    assert above.verdict == "PASS" and abs(above.interval[1] - 0.01) < 1e-12
    assert "makd_above_metaword" not in checks  # not run: no check
    closed = checks["makd_gain_vs_none_absolute"]  # +0.3 of a 0.4 headroom in every seed
    assert closed.verdict == "PASS" and "closes 75% of the headroom" in closed.detail
    assert checks["headroom_absolute"].verdict == "PASS"
    low = _checks(MAKDExperimentConfig(budgets=[4], min_headroom=1.5), folder)["headroom"]
    assert low.verdict == "FAIL"


def test_no_relative_gain_over_a_baseline_that_is_not_positive(tmp_path):
    from semdistill.experiments.makd.report import final_means, method_rows

    folder = _results(0.0, none=-0.0102, makd=0.0484, folder=tmp_path)  # would read "-574.5%"
    check = _checks(MAKDExperimentConfig(budgets=[4]), folder)["makd_gain_vs_none"]
    assert not check.passed and check.measured["gain"] is None
    assert "%" not in check.detail.split("(required")[0]
    assert "+0.0586): no relative gain over a baseline that is not positive" in check.detail
    absolute = _checks(MAKDExperimentConfig(budgets=[4]), folder)["makd_gain_vs_none_absolute"]
    assert absolute.verdict == "SMOKE" and abs(absolute.measured["mean"] - 0.0586) < 1e-12
    res = Results.load(folder / "consistency.json")
    rows = {r["method"]: r for r in method_rows(final_means(res, 4))}
    assert rows["MAKD"]["gain vs none"] == "+0.0586 abs."
    pos = Results.load(_results(0.0, folder=tmp_path / "p") / "consistency.json")
    positive = {r["method"]: r for r in method_rows(final_means(pos, 4))}
    assert positive["MAKD"]["gain vs none"] == "+60.0%"


def test_steps_to_reach_counts_the_first_budget_per_seed():
    from semdistill.experiments.makd.claims import steps_to_reach

    means = {(0, "makd", 50): 0.5, (0, "makd", 100): 0.9, (0, "lora", 50): 0.3,
             (0, "lora", 100): 0.4, (1, "makd", 50): 0.95, (1, "makd", 100): 0.7}
    assert steps_to_reach(means, {0: 0.8, 1: 0.8}) == {"makd": {0: 100, 1: 50},
                                                        "lora": {0: None}}


def test_claim_budget_must_be_a_budget():
    with pytest.raises(ConfigError, match="claim_budget 300 is not one of budgets"):
        load_config({"system": "makd", "budgets": [100, 200], "claim_budget": 300})


def test_config_needs_an_embedder():
    with pytest.raises(ConfigError, match="metrics.embedders"):
        load_config({"system": "makd", "metrics": {"embedders": []}})
