"""The shared Check: one line per required result, figures and threshold kept with it."""

from __future__ import annotations

import json

from semdistill.experiments.checks import Check, check_lines, verdicts


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
