"""The adaptive-gain map: paired intervals per (channel, k, SNR), its table and its plot."""

from __future__ import annotations

import pytest

from semdistill.experiments.ltsc.adaptive_map import draw_gain_map, gain_map, gain_table
from semdistill.figures import save_figure
from semdistill.results import Results
from semdistill.utils.stats import t_interval


def _cell(gains: dict[float, list[float]], channel: str = "awgn") -> Results:
    res = Results("ltsc", "accuracy-vs-snr")
    for snr, per_seed in gains.items():
        for seed, g in enumerate(per_seed):
            res.add(method="prestored", seed=seed, channel=channel, snr_db=snr, accuracy=0.5 + g)
            res.add(method="prestored-nonadaptive", seed=seed, channel=channel, snr_db=snr,
                    accuracy=0.5)
            res.add(method="prestored", seed=seed, channel="other", snr_db=snr, accuracy=0.0)
    return res


def test_each_cell_is_the_paired_interval_of_its_seeds_with_a_verdict():
    res = gain_map([("awgn", 32, _cell({0.0: [0.03, 0.04, 0.05], 10.0: [-0.01, 0.02, 0.0]})),
                    ("awgn", 64, _cell({0.0: [-0.03, -0.04, -0.05]}))])
    cells = {(r["symbols"], r["snr_db"]): r for r in res.records}
    assert set(cells) == {(32, 0.0), (32, 10.0), (64, 0.0)}  # "other" channel not read
    low, mean, high = t_interval([0.03, 0.04, 0.05])
    assert cells[(32, 0.0)]["gain"] == pytest.approx(mean)
    assert (cells[(32, 0.0)]["low"], cells[(32, 0.0)]["high"]) == pytest.approx((low, high))
    assert [cells[k]["verdict"] for k in sorted(cells)] == ["PASS", "INCONCLUSIVE", "FAIL"]
    assert cells[(32, 0.0)]["per_seed"] == pytest.approx({"0": 0.03, "1": 0.04, "2": 0.05})
    table = gain_table(res)
    assert "| 32 | +4.0 [" in table and "**PASS**" in table and "**FAIL**" in table


def test_one_seed_is_a_smoke_cell_and_a_missing_student_is_an_error():
    assert gain_map([("awgn", 8, _cell({0.0: [0.1]}))]).records[0]["verdict"] == "SMOKE"
    lone = Results("ltsc", "accuracy-vs-snr")
    lone.add(method="prestored", seed=0, channel="awgn", snr_db=0.0, accuracy=0.5)
    with pytest.raises(ValueError, match="lacks the prestored or prestored-nonadaptive"):
        gain_map([("awgn", 8, lone)])


def test_the_map_draws_one_panel_per_channel(tmp_path):
    res = gain_map([("awgn", 32, _cell({0.0: [0.03, 0.04], 5.0: [0.0, 0.01]})),
                    ("rayleigh", 32, _cell({0.0: [0.01, 0.02]}, "rayleigh"))])
    fig = draw_gain_map(res)
    assert len(fig.axes) == 3  # two panels and the colour bar
    assert save_figure(fig, tmp_path / "map.png").stat().st_size > 1000
