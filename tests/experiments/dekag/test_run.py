"""End to end: ``semdistill run configs/dekag/tiny.yaml`` (tiny edge built here, MAKD inside)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("semdistill.data")

from semdistill.cli import main  # noqa: E402
from semdistill.data.world.samples import caption_words, render_world  # noqa: E402
from semdistill.experiments.checks import REQUIRED_RESULTS
from semdistill.experiments.dekag.data import require_datasets  # noqa: E402
from semdistill.experiments.registry import load_config  # noqa: E402
from semdistill.experiments.rundir import RunDir  # noqa: E402
from semdistill.generative.edge import (  # noqa: E402
    EdgeArch,
    EdgeLDM,
    load_edge,  # noqa: E402
)
from semdistill.metrics.image import latent_psnr  # noqa: E402
from semdistill.metrics.world_encoder import WorldEncoder, categorical_heads  # noqa: E402
from semdistill.results import Results  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "configs" / "dekag" / "tiny.yaml"
TINY = EdgeArch(image_size=16, vae_channels=[8, 8], unet_channels=[16, 16], norm_groups=4,
                text_hidden=16, text_layers=1, text_heads=2, attention_head_dim=4, max_length=16)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished tiny run (edge and world encoder built here); tests that change it copy it."""
    tmp = tmp_path_factory.mktemp("dekag")
    world = render_world("train", 48, 16, 0, ["flat", "textured"])
    torch.manual_seed(0)
    EdgeLDM.build(TINY, caption_words(world.captions) + ["a", "shape"], steps=2,
                  guidance=2.0).save_pretrained(tmp / "edge")
    WorldEncoder(categorical_heads(world.attrs), width=4, dim=8).save(tmp / "we")
    rc = main(["run", str(CONFIG), "--output-dir", str(tmp / "runs"), "--name", "t",
               "--set", f"edge.model={tmp / 'edge'}", "--set", "cloud.image_size=16",
               "--set", f"metrics.world_encoder={tmp / 'we'}"])
    assert rc == 0
    return tmp / "runs" / "t"


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def test_dekag_tiny_run_writes_grid_bytes_plots_and_report(tiny_run):
    run = tiny_run
    grid = Results.load(run / "results" / "dekag-grid.json")
    methods = {r["method"] for r in grid.records}
    assert methods == {"base", "base_matched", "shared_lora", "vgsa", "cala", "full_ft"}
    assert len(grid.records) == 6 * 2 * 2  # methods × rates × SNRs
    assert {r["seed"] for r in grid.records} == {0}
    assert all("consistency" in r and "psnr" in r and "latent_psnr" in r for r in grid.records)
    fr = grid.meta["trainable"]
    assert fr["full_ft"]["fraction"] == 1.0 and 0 < fr["cala"]["fraction"] < 1
    assert grid.meta["merge_check"] < 1e-4
    info = json.loads((run / "results" / "run-info.json").read_text())
    assert info["wall_seconds_before_report"] > 0 and info["device"] == "cpu"  # a reference sums it
    refs = Results.load(run / "results" / "dekag-bytes.json")
    assert any(r["reference"] == "edge image, JPEG q75" for r in refs.records)
    sweep = sorted((r["quality"], r["bytes"]) for r in refs.records
                   if r["reference"].startswith("edge image, JPEG"))
    assert [q for q, _ in sweep] == [5, 10, 20, 30, 50, 75, 90]
    assert [b for _, b in sweep] == sorted(b for _, b in sweep)  # JPEG grows with quality
    # every reference carries the codec's metrics, against the codec's references
    by = {r["reference"]: r for r in refs.records}
    png = by["edge image, PNG"]
    assert png["psnr"] == 100.0 and png["ssim"] == 1.0  # lossless: the reference itself
    jpeg = [by[f"edge image, JPEG q{q}"] for q in (5, 10, 20, 30, 50, 75, 90)]
    assert all(0 < r["ssim"] < 1 and 0 < r["psnr"] < 100 for r in jpeg)
    assert jpeg[-1]["psnr"] > jpeg[0]["psnr"] and jpeg[-1]["ssim"] > jpeg[0]["ssim"]
    # latent PSNR: the edge VAE re-encodes the image, against the sent latent (the codec's
    # reference), so even the lossless PNG is the VAE's own encode-decode error
    assert all(0 < r["latent_psnr"] < 100 for r in refs.records)
    rd = RunDir.open(run)
    _, cfg = load_config(rd.config_data())
    edge, z = load_edge(cfg.edge), require_datasets(rd)["test"]
    again = latent_psnr(edge.encode_images(edge.decode_latents(z)).cpu(), z.cpu()).mean()
    assert abs(png["latent_psnr"] - float(again)) < 1e-4
    pngs = {p.name for p in (run / "plots").glob("*.png")}
    assert {"cala-gain-heatmap.png", "psnr-vs-snr.png", "latent-psnr-vs-snr.png",
            "quality-vs-bytes.png"} <= pngs
    assert any(p.startswith("samples-") for p in pngs)
    assert (run / "adapters" / "cala.safetensors").is_file()
    assert (run / "makd" / "deliverable.safetensors").is_file()
    report = (run / "report.md").read_text()
    assert REQUIRED_RESULTS in report and "rate-matched reading" in report
    assert "cala_gain_over_base: CALA − base codec (no alignment) image PSNR" in report
    assert "cala_gain_over_base_matched: CALA − base codec, matched channel" in report
    assert "| base codec (no alignment) |" in report
    assert "| base codec, matched channel (no alignment) |" in report
    assert {r["seed"] for r in refs.records} == {0}
    assert "![quality-vs-bytes](plots/quality-vs-bytes.png)" in report
    assert "- SSIM: the same images' structural similarity" in report
    assert "channel: Rayleigh block fading (J = 2 blocks, exponential correlation ρ = 0.5" in report
    assert "| edge image, PNG |" in report and "| lossless |" in report and "| 100 |" not in report
    assert "{'" not in report  # no raw Python dicts
    assert report.index("## Readings this run used") < report.index("## Appendix")
    assert "**the no-alignment baseline** (dekag-no-alignment-baseline)" in report
    assert ("`baselines.base` = {channel: AWGN, rates: None, snr_db: 10, latents: unaligned}, "
            "`baselines.matched` = {channel: actual, rates: [4, 16], snr_db: {low: 0, high: 10}, "
            "latents: unaligned}") in report
    # the digital baseline (eval.digital in tiny.yaml): budgets read from the codec's rates
    dig = Results.load(run / "results" / "digital.json")
    assert dig.meta["native_budgets"] == [4, 16] and dig.meta["budgets"] == [4, 16, 256, 1024]
    env = dig.select(method="digital-envelope")
    assert len(env) == 4 * 2 and {r["status"] for r in env if r["budget"] <= 16} == {
        "no configuration fits"}
    assert all({"psnr", "ssim", "consistency", "failure_rate"} <= set(r)
               for r in dig.records if r.get("status") != "no configuration fits")
    assert "Digital baseline" in report and "| CALA psnr |" in report
    assert "digital-psnr-vs-budget-rayleigh_block.png" in pngs
    # the codec-ceiling benchmark runs on this run's config and cached latents
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "codec_ceiling.py"), str(run),
                          "--steps", "2"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    for row in ("| 2× average-pool blur |", "| alone at the best condition |",
                "| random conditions, log_mse |"):
        assert row in out.stdout


def test_eval_reloads_the_trained_codecs_and_never_trains(tiny_run, tmp_path, monkeypatch):
    from semdistill.engine.loop import Trainer

    def no_training(*args, **kwargs):
        raise AssertionError("eval must not train")

    monkeypatch.setattr(Trainer, "fit", no_training)
    run = _copy(tiny_run, tmp_path)
    checkpoints = sorted(p.relative_to(run) for p in (run / "checkpoints").rglob("*")
                         if p.is_dir())
    assert main(["eval", str(run), "--snr", "0,10", "--channel", "awgn"]) == 0
    grid = Results.load(run / "results" / "dekag-grid-awgn.json")
    assert len(grid.records) == 6 * 2 * 2 and {r["channel"] for r in grid.records} == {"awgn"}
    # the report tables the new grid under its channel, with its own plots
    report = (run / "report.md").read_text()
    assert "## Re-evaluation over AWGN" in report and "plots/psnr-vs-snr-awgn.png" in report
    assert "channel: Rayleigh block fading" in report  # the training grid stays described
    pngs = {p.name for p in (run / "plots").glob("*.png")}
    assert {"psnr-vs-snr-awgn.png", "psnr-vs-snr.png", "samples-awgn-rate1-snr0.png"} <= pngs
    for name in ("psnr-vs-snr-awgn.png", "psnr-vs-snr.png"):
        (run / "plots" / name).unlink()
    assert main(["report", str(run)]) == 0  # rebuilds every plot from the results
    assert {"psnr-vs-snr-awgn.png", "psnr-vs-snr.png"} <= {p.name for p in
                                                            (run / "plots").glob("*.png")}
    assert all(t["skipped"] and t["steps"] == 3 for t in grid.meta["train"].values())
    assert sorted(p.relative_to(run) for p in (run / "checkpoints").rglob("*")
                  if p.is_dir()) == checkpoints


def test_report_redraws_quality_vs_bytes_from_the_results_alone(tiny_run, tmp_path):
    run = _copy(tiny_run, tmp_path)
    for part in ("checkpoints", "data", "adapters", "makd"):
        shutil.rmtree(run / part)  # nothing but the results and the config
    (run / "plots" / "quality-vs-bytes.png").unlink()
    (run / "report.md").unlink()
    assert main(["report", str(run)]) == 0
    assert (run / "plots" / "quality-vs-bytes.png").stat().st_size > 0
    assert "plots/quality-vs-bytes.png" in (run / "report.md").read_text()


def test_eval_refuses_a_run_with_a_missing_stage_in_one_line(tiny_run, tmp_path, capsys):
    run = _copy(tiny_run, tmp_path)
    shutil.rmtree(run / "checkpoints" / "vgsa" / "final")
    checkpoints = sorted(p.relative_to(run) for p in (run / "checkpoints").rglob("*"))
    results = _tree(run / "results")
    capsys.readouterr()
    assert main(["eval", str(run)]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "vgsa" in err and "--resume" in err
    assert sorted(p.relative_to(run) for p in (run / "checkpoints").rglob("*")) == checkpoints
    assert _tree(run / "results") == results


def test_eval_refuses_a_run_without_its_data_cache_in_one_line(tiny_run, tmp_path, capsys):
    run = _copy(tiny_run, tmp_path)
    shutil.rmtree(run / "data")
    results = _tree(run / "results")
    capsys.readouterr()
    assert main(["eval", str(run)]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "datasets" in err and "--resume" in err
    assert not (run / "data").exists() and _tree(run / "results") == results


def test_export_writes_the_base_and_cala_codecs_that_onnx_runtime_runs_as_trained(
        tiny_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import json

    from semdistill.experiments.dekag.train import load_trained_all

    out = tmp_path / "onnx"
    assert main(["export", str(tiny_run), "--out", str(out)]) == 0
    m = json.loads((out / "manifest.json").read_text())
    names = [p["name"] for p in m["parts"]]
    assert names == ["base-encoder", "base-decoder", "cala-encoder", "cala-decoder"]
    inputs = {p["name"]: [t["name"] for t in p["inputs"]] for p in m["parts"]}
    assert inputs["base-encoder"] == ["latents", "rate_index"]
    assert inputs["cala-encoder"] == ["latents", "rate_index", "snr_db"]
    assert inputs["cala-decoder"] == ["symbols", "rate_index", "snr_db"]
    # the CALA graphs reproduce the trained CALA codec end to end on the run's test latents
    rd = RunDir.open(tiny_run)
    _, cfg = load_config(rd.config_data())
    data = require_datasets(rd)
    cala = load_trained_all(cfg, rd, data)[0]["cala"]
    z = data["test"][:3]
    r, snr = torch.tensor([0, 1, 1]), torch.tensor([0.0, 5.0, 18.0])
    enc = ort.InferenceSession(str(out / "cala-encoder.onnx"))
    dec = ort.InferenceSession(str(out / "cala-decoder.onnx"))
    (sym,) = enc.run(None, {"latents": z.numpy(), "rate_index": r.numpy(),
                            "snr_db": snr.numpy()})
    with torch.no_grad(), cala.condition(r, snr):
        s, mask = cala.model.encode(z, r)
        s_q = cala.model.quantize(s, mask)
        z_hat = cala.model.decode(s_q, r)  # a noiseless channel: the receiver gets s_q
    got = torch.from_numpy(sym)
    flipped = ((got - torch.view_as_real(s_q)).abs().amax(-1) > 1e-4).float().mean()
    assert flipped <= 0.01
    (lat,) = dec.run(None, {"symbols": torch.view_as_real(s_q).numpy(), "rate_index": r.numpy(),
                            "snr_db": snr.numpy()})
    torch.testing.assert_close(torch.from_numpy(lat), z_hat, rtol=0, atol=1e-4)
