"""The shared Check: one line per required result, figures and threshold kept with it."""

from __future__ import annotations

import json

from semdistill.experiments.checks import Check, check_lines, per_seed, verdicts


def test_a_check_prints_its_verdict_name_and_detail():
    ok = Check("gain_ge_6.5dB", True, {"gain_db": 7.1}, 6.5, "gain +7.10 dB (required ≥ 6.5)")
    bad = Check("fraction_le_5pct", False, {"fraction": 0.07}, 0.05, "7.00% trained")
    assert ok.line() == "**PASS** gain_ge_6.5dB: gain +7.10 dB (required ≥ 6.5)"
    assert bad.line().startswith("**FAIL** fraction_le_5pct")
    assert verdicts([ok, bad]) == {"gain_ge_6.5dB": "PASS", "fraction_le_5pct": "FAIL"}


def test_a_check_serializes_its_figures_and_threshold():
    c = Check("a_beats_b", True, {"a": 0.9, "b": 0.8}, None, "0.9 vs 0.8")
    d = json.loads(json.dumps(c.to_dict()))
    assert d == {"check": "a_beats_b", "verdict": "PASS", "pass": True,
                 "measured": {"a": 0.9, "b": 0.8}, "threshold": None, "interval": None,
                 "per_seed": {}, "detail": "0.9 vs 0.8"}


def test_an_interval_check_prints_inconclusive_and_smoke():
    c = Check("a_ge_b", None, outcome="INCONCLUSIVE", interval=(-0.1, 0.0, 0.1),
              per_seed={0: -0.05, 1: 0.05})
    assert c.line().startswith("**INCONCLUSIVE** a_ge_b") and c.to_dict()["pass"] is None
    assert c.to_dict()["interval"] == [-0.1, 0.0, 0.1] and c.to_dict()["per_seed"] == {
        "0": -0.05, "1": 0.05}
    assert verdicts([Check("one_seed", True, outcome="SMOKE")]) == {"one_seed": "SMOKE"}


def test_no_checks_is_said_in_the_report():
    assert check_lines([]) == ["(not enough methods were run to check)"]
    assert check_lines([], empty="(no MAKD rows)") == ["(no MAKD rows)"]


def test_per_seed_is_the_mean_of_the_matching_records_per_seed():
    recs = [{"seed": 1, "method": "a", "psnr": 3.0, "snr_db": 0.0},
            {"seed": 1, "method": "a", "psnr": 5.0, "snr_db": 20.0},
            {"seed": 0, "method": "a", "psnr": 2.0, "snr_db": 0.0},
            {"method": "a", "psnr": 4.0, "snr_db": 0.0},  # before seeds: the main seed's
            {"seed": 0, "method": "b", "psnr": 9.0, "snr_db": 0.0},
            {"seed": 2, "method": "a", "snr_db": 0.0}]  # no psnr: left out
    assert per_seed(recs, 0, "psnr", method="a") == {0: 3.0, 1: 4.0}
    assert list(per_seed(recs, 0, "psnr", method="a")) == [0, 1]  # seeds in order
    low = per_seed(recs, 0, "psnr", lambda r: r["snr_db"] <= 0, method="a")
    assert low == {0: 3.0, 1: 3.0}
    assert per_seed(recs, 7, "psnr", method="a") == {0: 2.0, 1: 4.0, 7: 4.0}
