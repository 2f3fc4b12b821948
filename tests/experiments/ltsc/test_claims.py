"""LTSC claims from results files: paired by seed, 95% t-interval verdicts, SMOKE for one seed."""

from __future__ import annotations

import pytest

from semdistill.experiments.checks import Check, judge
from semdistill.experiments.ltsc.claims import claims, fraction_means, rises, seed_spread
from semdistill.experiments.ltsc.config import LTSCConfig
from semdistill.results import Results
from semdistill.utils.stats import t_interval

SEEDS = range(5)
#: per-seed accuracies with a large shared seed effect and a small paired difference: the
#: unpaired means could not separate them, the paired differences can.
BASE = [0.70, 0.85, 0.78, 0.92, 0.81]


def _folder(tmp_path, diff_online=(-0.004, -0.002, -0.003, -0.001, -0.005), scratch_gap=0.02,
            seeds=SEEDS):
    acc = Results("ltsc", "accuracy-vs-snr")
    for s in seeds:
        for ch in ("awgn", "rayleigh"):
            for snr in (0.0, 10.0):
                a = BASE[s] - (0.1 if ch == "rayleigh" else 0)
                acc.add(method="prestored", channel=ch, snr_db=snr, seed=s, accuracy=a)
                acc.add(method="online", channel=ch, snr_db=snr, seed=s,
                        accuracy=a - diff_online[s])
                acc.add(method="prestored-nonadaptive", channel=ch, snr_db=snr, seed=s,
                        accuracy=a + (0.01 if s % 2 else -0.01))
    acc.save(tmp_path / "accuracy-vs-snr.json")
    fr = Results("ltsc", "accuracy-vs-fraction")
    times = Results("ltsc", "distill-time")
    for s in seeds:
        for f in (0.1, 1.0):
            fr.add(method="prestored", fraction=f, seed=s, accuracy=BASE[s] * f)
            fr.add(method="scratch", fraction=f, seed=s, accuracy=BASE[s] * f - scratch_gap)
        times.add(method="prestored", seed=s, fraction=1.0, steps=10, seconds=10.0 + s)
        times.add(method="online", seed=s, fraction=1.0, steps=10, seconds=60.0 + s)
    fr.save(tmp_path / "accuracy-vs-fraction.json")
    times.save(tmp_path / "distill-time.json")
    return tmp_path


def test_claims_over_five_seeds_are_paired_t_interval_verdicts(tmp_path):
    found = {c.name: c for c in claims(LTSCConfig(), _folder(tmp_path))}
    acc = found["prestored_acc_within_1pt_of_online_at_10dB"]
    diffs = [-0.004, -0.002, -0.003, -0.001, -0.005]  # prestored − online per seed
    assert acc.per_seed == pytest.approx(dict(zip(SEEDS, diffs, strict=True)))
    assert acc.interval == pytest.approx(t_interval(diffs))
    assert acc.verdict == "PASS" and acc.threshold == -0.01  # the whole interval ≥ −1 point
    assert "t-interval over 5 seeds, paired by seed" in acc.detail
    time = found["prestored_time_le_third_of_online"]
    assert time.per_seed == pytest.approx({s: (10 + s) / (60 + s) for s in SEEDS})
    assert time.verdict == "PASS"
    # alternating ±1 point: the interval straddles 0 on both channels
    assert found["adaptive_beats_nonadaptive_at_0dB_awgn"].verdict == "INCONCLUSIVE"
    assert found["adaptive_beats_nonadaptive_at_0dB_rayleigh"].verdict == "INCONCLUSIVE"
    assert found["distilled_beats_scratch_at_fraction_0.1"].verdict == "PASS"
    assert found["distilled_beats_scratch_at_fraction_1"].verdict == "PASS"
    lost = {c.name: c for c in claims(LTSCConfig(), _folder(tmp_path, scratch_gap=-0.02))}
    assert lost["distilled_beats_scratch_at_fraction_0.1"].verdict == "FAIL"
    assert lost["distilled_beats_scratch_at_fraction_0.1"].passed is False


def test_a_threshold_the_interval_contradicts_fails(tmp_path):
    strict = LTSCConfig.model_validate({"eval": {"max_time_ratio": 0.1}})
    found = {c.name: c for c in claims(strict, _folder(tmp_path))}
    assert found["prestored_time_le_third_of_online"].verdict == "FAIL"


def test_one_seed_is_a_smoke_line_placed_against_the_reference(tmp_path):
    (tmp_path / "ref").mkdir()
    (tmp_path / "one").mkdir()
    one = tmp_path / "one"
    ref = {c.name: c for c in claims(LTSCConfig(), _folder(tmp_path / "ref"))}
    found = {c.name: c for c in claims(LTSCConfig(), _folder(one, seeds=[0]), ref)}
    acc = found["prestored_acc_within_1pt_of_online_at_10dB"]
    assert acc.verdict == "SMOKE" and acc.passed is True and acc.per_seed == {0: pytest.approx(-0.004)}
    lo, _, hi = ref[acc.name].interval
    assert f"inside the reference 95% interval [{lo:+.4f}, {hi:+.4f}] over 5 seeds" in acc.detail
    assert "single seed s0, would pass" in acc.detail
    alone = {c.name: c for c in claims(LTSCConfig(), one)}
    assert "reference" not in alone[acc.name].detail


def test_judge_has_no_check_without_values_and_says_below_and_above():
    assert judge("x", {}, 0.0, "ge", "x") is None
    ref = {"x": Check("x", True, interval=(0.1, 0.2, 0.3), per_seed={0: 0.1, 1: 0.3})}
    assert "below the reference" in judge("x", {0: 0.0}, 0.0, "ge", "x", ref).detail
    assert "above the reference" in judge("x", {0: 0.5}, 0.0, "ge", "x", ref).detail


def test_diagnostics_spread_fraction_means_and_rise():
    acc = [{"method": "p", "channel": "awgn", "snr_db": 10.0, "seed": s, "accuracy": a}
           for s, a in enumerate((0.7, 0.9))]
    n, mean, sd = seed_spread(acc, 10.0)["p"]
    assert (n, mean, sd) == (2, pytest.approx(0.8), pytest.approx(0.1414, abs=1e-4))
    fr = [{"method": "p", "fraction": f, "accuracy": a} for f, a in
          ((0.25, 0.5), (0.1, 0.3), (1.0, 0.8), (0.1, 0.5))]
    assert fraction_means(fr) == {"p": {0.1: pytest.approx(0.4), 0.25: 0.5, 1.0: 0.8}}
    assert rises(fraction_means(fr)["p"]) and not rises({0.1: 0.5, 0.25: 0.4})
