"""The dekag report's required-result checks on hand-made grids, and the checkpoint fingerprint."""

import json
from pathlib import Path

from semdistill.experiments.checks import Check
from semdistill.experiments.dekag import DekagConfig, EvalSpec, codec_fingerprint
from semdistill.experiments.dekag.bytes import bytes_notes
from semdistill.experiments.dekag.claims import claims_of
from semdistill.experiments.registry import load_config_file
from semdistill.results import Results

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "dekag" / "shapes.yaml"

JPEG = {"reference": "edge image, JPEG q75", "bytes": 760.0, "consistency": 0.70}


def _grid(psnr: dict[str, float], consistency: dict[str, float]) -> Results:
    grid = Results("dekag", "grid")
    for method, p in psnr.items():
        for snr in (0.0, 20.0):
            grid.add(method=method, rate=0, symbols=128, snr_db=snr, bytes=100.0,
                     psnr=p + snr / 10, latent_psnr=p, consistency=consistency[method] - 0.1
                     + snr / 200)
    return grid


def _checks(grid: Results, ev: EvalSpec | None = None) -> dict[str, Check]:
    refs = Results("dekag", "bytes")
    refs.add(**JPEG)
    cfg = DekagConfig(eval=ev or EvalSpec())
    return {c.name: c for c in claims_of(cfg, grid, refs)}


def test_gain_check_names_the_full_fine_tuning_upper_bound():
    found = _checks(_grid({"base": 20.0, "cala": 24.0, "full_ft": 25.5},
                          {"base": 0.5, "cala": 0.6, "full_ft": 0.75}))
    gain = found["cala_gain_over_base"]
    assert not gain.passed and gain.threshold == 6.5 and gain.measured["mean"] == 4.0
    assert "image PSNR over the rate × SNR grid [dB] +4.00" in gain.detail
    assert "required ≥ +6.50" in gain.detail
    assert "full fine-tuning (the upper bound) gains +5.50 dB" in gain.detail
    assert gain.line().startswith("**SMOKE** cala_gain_over_base: CALA − base codec")
    assert "would fail" in gain.detail
    jpeg = found["cala_bytes_vs_edge_image_jpeg_q75"]
    # CALA peaks at 0.6 < 0.70: would fail, and the line says where full fine-tuning stands
    assert not jpeg.passed and abs(jpeg.measured["mean"] + 0.1) < 1e-12
    assert "full fine-tuning's best − JPEG's +0.0500" in jpeg.detail


def test_bytes_check_passes_when_cala_reaches_jpeg_with_fewer_bytes():
    found = _checks(_grid({"base": 20.0, "cala": 27.0}, {"base": 0.5, "cala": 0.72}))
    gain = found["cala_gain_over_base"]
    assert gain.passed and "+7.00" in gain.detail and "upper bound" not in gain.detail
    jpeg = found["cala_bytes_vs_edge_image_jpeg_q75"]
    assert jpeg.passed and jpeg.verdict == "SMOKE" and "would pass" in jpeg.detail
    assert "s0 100.0 (K_r=128, 20 dB) vs JPEG 760.0: fewer" in jpeg.detail
    assert jpeg.measured["bytes"] == {0: 100.0} and jpeg.measured["jpeg_bytes"] == {0: 760.0}


def test_bytes_check_fails_when_cala_sends_more_bytes_than_jpeg():
    grid = _grid({"base": 20.0, "cala": 27.0}, {"base": 0.5, "cala": 0.72})
    for r in grid.records:
        r["bytes"] = 900.0
    jpeg = _checks(grid)["cala_bytes_vs_edge_image_jpeg_q75"]
    assert not jpeg.passed and "NOT fewer" in jpeg.detail


def test_thresholds_come_from_the_eval_section():
    grid = _grid({"base": 20.0, "cala": 24.0}, {"base": 0.5, "cala": 0.6})
    assert not _checks(grid)["cala_gain_over_base"].passed
    lenient = _checks(grid, EvalSpec(min_gain_db=3.0))["cala_gain_over_base"]
    assert lenient.passed and lenient.threshold == 3.0 and "required ≥ +3.00" in lenient.detail
    grid.meta = {"trainable": {"cala": {"fraction": 0.08}}}
    frac = _checks(grid, EvalSpec(max_fraction=0.1))["cala_trainable_fraction"]
    assert frac.passed and frac.verdict == "PASS"
    assert frac.detail == ("CALA trains 8.00% of the codec's parameters (required ≤ 10%; a "
                           "property of the config)")
    assert not _checks(grid, EvalSpec(max_fraction=0.05))["cala_trainable_fraction"].passed


def test_versus_checks_hold_average_and_low_snr_separately():
    grid = _grid({"base": 20.0, "cala": 24.0, "shared_lora": 22.0}, {"base": 0.5, "cala": 0.6,
                                                                      "shared_lora": 0.6})
    for r in grid.records:  # shared LoRA 1 dB better at 0 dB, 2 dB worse at 20 dB
        if r["method"] == "shared_lora":
            r["psnr"] += 3.0 if r["snr_db"] == 0.0 else 0.0
    found = _checks(grid)
    assert found["cala_beats_shared_lora_average"].passed  # +0.5 dB on average
    assert not found["cala_beats_shared_lora_low_snr"].passed
    assert "CALA − shared LoRA image PSNR at SNR ≤ 0 dB [dB] -1.00" in (
        found["cala_beats_shared_lora_low_snr"].detail)


def test_fingerprint_of_an_mse_codec_matches_runs_made_before_the_distortion_option():
    _, mse = load_config_file(CONFIG, ["codec.distortion=mse"])
    _, log = load_config_file(CONFIG, ["codec.distortion=log_mse"])
    old = json.loads(codec_fingerprint(mse, "base"))
    assert "distortion" not in old["codec"]  # the dump of a run made before the option
    assert json.loads(codec_fingerprint(log, "base"))["codec"]["distortion"] == "log_mse"
    assert codec_fingerprint(mse, "base") != codec_fingerprint(log, "base")


def _sweep(refs: Results, points: dict[int, tuple[float, float]]) -> None:
    for q, (b, c) in points.items():
        refs.add(reference=f"edge image, JPEG q{q}", quality=q, bytes=b, scan_bytes=b - 600,
                 consistency=c)


def test_rate_matched_line_names_the_cheapest_jpeg_quality_that_reaches_cala():
    grid = _grid({"base": 20.0, "cala": 24.0}, {"base": 0.5, "cala": 0.6})  # CALA best 0.60
    refs = Results("dekag", "bytes")
    _sweep(refs, {10: (650.0, 0.50), 50: (700.0, 0.65), 75: (760.0, 0.70), 90: (870.0, 0.75)})
    found = {c.name: c for c in claims_of(DekagConfig(), grid, refs)}
    assert not found["cala_bytes_vs_edge_image_jpeg_q75"].passed  # unchanged by the sweep
    matched = next(x for x in bytes_notes(grid, refs) if x.startswith("rate-matched"))
    assert "0.6000 costs 100.0 B/image" in matched
    assert "first reaches it at q50 (0.6500 at 700.0 B/image, 7.0× CALA's bytes" in matched
    assert "without tables and headers, 100.0 B/image" in matched
    assert "(q10) is 650.0 B/image" in matched
    assert "PASS" not in matched and "FAIL" not in matched


def test_rate_matched_line_when_no_jpeg_quality_reaches_cala():
    grid = _grid({"base": 20.0, "cala": 24.0}, {"base": 0.5, "cala": 0.9})
    refs = Results("dekag", "bytes")
    _sweep(refs, {10: (650.0, 0.50), 90: (870.0, 0.75)})
    matched = next(x for x in bytes_notes(grid, refs) if x.startswith("rate-matched"))
    assert "stays below it up to q90 (0.7500 at 870.0 B/image)" in matched


def test_without_consistency_there_is_no_bytes_check_but_a_note():
    grid = Results("dekag", "grid")
    grid.add(method="cala", rate=0, symbols=16, snr_db=0.0, bytes=50.0, psnr=20.0,
             latent_psnr=20.0)
    assert not [c for c in claims_of(DekagConfig(), grid, Results("dekag", "bytes"))
                if c.name.startswith("cala_bytes")]
    assert bytes_notes(grid, Results("dekag", "bytes")) == [
        "bytes vs JPEG: no consistency metric configured"]
