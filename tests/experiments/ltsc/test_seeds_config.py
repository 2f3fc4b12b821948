"""runs.seeds in the config: which students a run trains, and the one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from semdistill.config import ConfigError
from semdistill.experiments import load_config_file
from semdistill.experiments.ltsc.config import seeds_of, variants

TINY = Path(__file__).resolve().parents[3] / "configs" / "ltsc" / "tiny.yaml"


def _cfg(*overrides: str):
    return load_config_file(TINY, list(overrides))[1]


def test_every_variant_is_trained_for_every_seed_named_by_seed():
    cfg = _cfg("seed=4", "runs.seeds=3")
    assert seeds_of(cfg) == [4, 5, 6]
    vs = variants(cfg)
    base = [v["name"] for v in vs if v["seed"] == 4]
    assert base == ["prestored", "online", "scratch", "prestored-nonadaptive",
                    "prestored-f0.5", "scratch-f0.5"] and vs[0]["name"] == "prestored"
    assert [v["name"] for v in vs if v["seed"] == 6] == [f"{b}-s6" for b in base]
    assert {v["base"] for v in vs} == set(base) and len(vs) == 3 * len(base)


def test_an_older_configs_extra_seeds_keep_their_meaning():
    """Before runs.seeds: only the main-fraction distilled students, the main seed skipped."""
    cfg = _cfg("runs.extra_seeds=[0, 3, 3]")
    assert seeds_of(cfg) == [0, 3]
    assert [v["name"] for v in variants(cfg) if v["seed"] == 3] == [
        "prestored-s3", "online-s3", "prestored-nonadaptive-s3"]


@pytest.mark.parametrize("overrides, words", [
    (["runs.seeds=0"], "runs.seeds: Input should be greater than or equal to 1"),
    (["runs.seeds=2.5"], "runs.seeds"),
    (["runs.fractions=[1.5]"], "runs.fractions must be in (0, 1]"),
    (["runs.fractions=[0]"], "runs.fractions must be in (0, 1]"),
    (["runs.seeds=2", "runs.extra_seeds=[1]"], "cannot both be set: use runs.seeds"),
    (["eval.reference=3"], "eval.reference"),
])
def test_a_bad_seeds_or_fraction_value_is_one_line(overrides, words):
    with pytest.raises(ConfigError) as err:
        _cfg(*overrides)
    assert words in str(err.value) and len(str(err.value).splitlines()) == 1
