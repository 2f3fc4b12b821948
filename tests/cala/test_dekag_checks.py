"""The dekag report's required-result lines on hand-made grids, and the checkpoint fingerprint."""

import json
from pathlib import Path

from semdistill.experiments.dekag import _fingerprint, checks
from semdistill.experiments.registry import load_config_file
from semdistill.results import Results

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "dekag" / "shapes.yaml"

JPEG = {"reference": "edge image, JPEG q75", "bytes": 760.0, "consistency": 0.70}


def _grid(psnr: dict[str, float], consistency: dict[str, float]) -> Results:
    grid = Results("dekag", "grid")
    for method, p in psnr.items():
        for snr in (0.0, 20.0):
            grid.add(method=method, rate=0, symbols=128, snr_db=snr, bytes=100.0,
                     psnr=p + snr / 10, latent_psnr=p, consistency=consistency[method] - 0.1
                     + snr / 200)
    return grid


def _checks(grid: Results) -> list[str]:
    refs = Results("dekag", "bytes")
    refs.add(**JPEG)
    return checks(grid, refs, {"low_snr_db": 0.0, "min_gain_db": 6.5})


def test_gain_line_names_the_full_fine_tuning_upper_bound():
    lines = _checks(_grid({"base": 20.0, "cala": 24.0, "full_ft": 25.5},
                          {"base": 0.5, "cala": 0.6, "full_ft": 0.75}))
    gain = next(x for x in lines if x.startswith("CALA image PSNR"))
    assert "gain +4.00 dB" in gain and "FAIL" in gain
    assert "full fine-tuning (the upper bound) gains +5.50 dB" in gain
    jpeg = next(x for x in lines if x.startswith("bytes vs edge image"))
    # CALA peaks at 0.6 < 0.70: FAIL, and the line says that full fine-tuning gets there
    assert "best CALA 0.6000" in jpeg and "FAIL" in jpeg
    assert "full fine-tuning reaches 0.7500 at 100.0 B/image" in jpeg


def test_bytes_line_passes_when_cala_reaches_jpeg_with_fewer_bytes():
    lines = _checks(_grid({"base": 20.0, "cala": 27.0}, {"base": 0.5, "cala": 0.72}))
    assert any("gain +7.00 dB" in x and "PASS" in x and "upper bound" not in x for x in lines)
    jpeg = next(x for x in lines if x.startswith("bytes vs edge image"))
    assert "CALA sends 100.0 B/image" in jpeg and jpeg.endswith("PASS")


def test_fingerprint_of_an_mse_codec_matches_runs_made_before_the_distortion_option():
    _, mse = load_config_file(CONFIG, ["codec.distortion=mse"])
    _, log = load_config_file(CONFIG, ["codec.distortion=log_mse"])
    old = json.loads(_fingerprint(mse, "base"))
    assert "distortion" not in old["codec"]  # the dump of a run made before the option
    assert json.loads(_fingerprint(log, "base"))["codec"]["distortion"] == "log_mse"
    assert _fingerprint(mse, "base") != _fingerprint(log, "base")


def _sweep(refs: Results, points: dict[int, tuple[float, float]]) -> None:
    for q, (b, c) in points.items():
        refs.add(reference=f"edge image, JPEG q{q}", quality=q, bytes=b, scan_bytes=b - 600,
                 consistency=c)


def test_rate_matched_line_names_the_cheapest_jpeg_quality_that_reaches_cala():
    grid = _grid({"base": 20.0, "cala": 24.0}, {"base": 0.5, "cala": 0.6})  # CALA best 0.60
    refs = Results("dekag", "bytes")
    _sweep(refs, {10: (650.0, 0.50), 50: (700.0, 0.65), 75: (760.0, 0.70), 90: (870.0, 0.75)})
    lines = checks(grid, refs, {"low_snr_db": 0.0})
    strict = next(x for x in lines if x.startswith("bytes vs edge image, JPEG q75"))
    assert strict.endswith("FAIL")  # the q75 check is unchanged by the sweep
    matched = next(x for x in lines if x.startswith("rate-matched"))
    assert "0.6000 costs 100.0 B/image" in matched
    assert "first reaches it at q50 (0.6500 at 700.0 B/image, 7.0× CALA's bytes" in matched
    assert "without tables and headers, 100.0 B/image" in matched
    assert "(q10) is 650.0 B/image" in matched
    assert "PASS" not in matched and "FAIL" not in matched


def test_rate_matched_line_when_no_jpeg_quality_reaches_cala():
    grid = _grid({"base": 20.0, "cala": 24.0}, {"base": 0.5, "cala": 0.9})
    refs = Results("dekag", "bytes")
    _sweep(refs, {10: (650.0, 0.50), 90: (870.0, 0.75)})
    matched = next(x for x in checks(grid, refs, {}) if x.startswith("rate-matched"))
    assert "stays below it up to q90 (0.7500 at 870.0 B/image)" in matched
