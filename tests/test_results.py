"""The one results schema, its plots and the Markdown report."""

from __future__ import annotations

import pytest

from semdistill.figures import plot_metric
from semdistill.results import Results, load_all


def test_results_roundtrip_series_and_plot(tmp_path):
    res = Results("ltsc", "acc-vs-snr", meta={"machine": "cpu"})
    for method, offset in (("a", 0.0), ("b", 0.1)):
        for snr in (10.0, -5.0, 0.0):
            res.add(method=method, channel="awgn", snr_db=snr, accuracy=0.5 + offset + snr / 100)
    path = res.save(tmp_path / "r.json")
    back = Results.load(path)
    assert back.records == res.records and back.meta == {"machine": "cpu"}
    series = back.series("snr_db", "accuracy")
    assert series[("a",)][0] == [-5.0, 0.0, 10.0]
    assert series[("b",)][1] == pytest.approx([0.55, 0.6, 0.7])
    png = plot_metric(load_all([tmp_path]), "snr_db", "accuracy", tmp_path / "p.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_foreign_json_is_rejected(tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a semdistill results file"):
        Results.load(tmp_path / "x.json")
    assert load_all([tmp_path]) == []
