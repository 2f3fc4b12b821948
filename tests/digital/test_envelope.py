"""The selection rule, the envelope's "no configuration fits" records, the failure path and the
config's one-line errors."""

from __future__ import annotations

import importlib

import pytest
import torch

from semdistill.channels.config import ChannelConfig
from semdistill.config import ConfigError
from semdistill.digital import NO_FIT, DigitalConfig, envelope, fit_quality, sweep
from semdistill.digital.fec import LDPCCode
from semdistill.errors import MissingDependency
from semdistill.experiments.registry import load_config


def test_fit_quality_takes_the_highest_quality_that_fits():
    sizes = {5: 90, 20: 120, 50: 200, 90: 500}
    assert fit_quality(sizes, 199) == 20
    assert fit_quality(sizes, 200) == 50
    assert fit_quality(sizes, 10_000) == 90
    assert fit_quality(sizes, 89) is None


CFG = DigitalConfig(enabled=True, codecs=["webp"], qualities=[5, 60], code_rates=["1/2"],
                    modulations=["16qam"], iterations=5, images=3)


def _images() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, 3, 16, 16, generator=g).clamp(0.2, 0.8)


def _score(received: torch.Tensor) -> dict[str, float]:
    return {"mean_pixel": float(received.mean()), "n": float(received.shape[0])}


def test_sweep_and_envelope_cover_every_point():
    images = _images()
    fallback = torch.zeros(3, 16, 16)
    budgets, snrs = [4, 2000], [-10.0, 40.0]
    recs = sweep(images, CFG, ChannelConfig(name="awgn"), snrs, budgets, _score, fallback, 0)
    assert {r["budget"] for r in recs} == {2000}                 # nothing fits in 4 symbols
    env = envelope(recs, snrs, budgets, "mean_pixel")
    assert [(e["budget"], e["snr_db"], e["status"]) for e in env] == [
        (4, -10.0, NO_FIT), (4, 40.0, NO_FIT), (2000, -10.0, "ok"), (2000, 40.0, "ok")]
    low, high = (next(r for r in recs if r["snr_db"] == s) for s in snrs)
    # the failure path: at -10 dB every block fails, every image is the fallback (zeros)
    assert low["failure_rate"] == 1.0 and low["block_error_rate"] == 1.0
    assert low["mean_pixel"] == 0.0
    # at 40 dB everything arrives at the highest quality that fits
    assert high["failure_rate"] == 0.0 and high["quality"] == 60 and high["fit_rate"] == 1.0
    assert high["symbols"] <= 2000 and abs(high["mean_pixel"] - float(images.mean())) < 0.02


def test_config_errors_are_one_line_naming_the_valid_values():
    base = {"system": "ltsc", "eval": {"digital": {"enabled": True}}}
    for bad, words in [({"codecs": ["bpg"]}, ["bpg", "jpeg", "webp"]),
                       ({"code_rates": ["7/8"]}, ["7/8", "1/2", "5/6"]),
                       ({"modulations": ["256qam"]}, ["qpsk", "64qam"]),
                       ({"block_length": 580}, ["580", "64qam"]),
                       ({"budgets": [0]}, ["budgets"])]:
        data = {**base, "eval": {"digital": {"enabled": True, **bad}}}
        if "block_length" in bad:
            data["eval"]["digital"]["modulations"] = ["qpsk", "64qam"]
        with pytest.raises(ConfigError) as err:
            load_config(data, source="x.yaml")
        msg = str(err.value)
        assert "\n" not in msg and all(w in msg for w in words), msg


def test_without_sionna_one_line_says_how_to_install(monkeypatch):
    real = importlib.import_module

    def no_sionna(name, *a, **k):
        if name.startswith("sionna"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", no_sionna)
    with pytest.raises(MissingDependency, match=r"pip install 'semdistill\[sionna\]'"):
        LDPCCode(576, "1/2", 2)


def test_a_hand_edited_digital_results_file_is_one_line(tmp_path):
    from semdistill.experiments.digital import RESULTS, digital_section
    from semdistill.experiments.report import MarkdownReport
    from semdistill.experiments.rundir import RunDir
    from semdistill.results import Results, ResultsError

    (tmp_path / "results").mkdir()
    Results("ltsc", "digital", records=[{"method": "digital"}]).save(tmp_path / "results" / RESULTS)
    with pytest.raises(ResultsError, match="not a digital-baseline results file") as err:
        digital_section(MarkdownReport("x"), RunDir(tmp_path), ["accuracy"], [])
    assert "\n" not in str(err.value)
