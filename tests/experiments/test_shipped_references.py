"""Every shipped reference folder (``results/reference/…``) rebuilds its claims table from its
own files alone, is named by its default config and matches it; every comparison between
methods in it is a verdict over its seeds (docs/ltsc.md, docs/dekag-*.md "Claims and seeds")."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from semdistill.experiments import load_config_file
from semdistill.experiments.reference import (
    check_matches,
    load_reference,
    reference_checks,
    reference_for,
    reference_spec,
    resolve,
)
from semdistill.results import Results

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("config, folder, min_seeds", [
    ("ltsc/shapes.yaml", "ltsc", 5), ("ltsc/flat.yaml", "ltsc-flat", 5),
    ("dekag/shapes.yaml", "dekag/cala", 3), ("dekag/makd-shapes.yaml", "dekag/makd", 3)])
def test_the_shipped_reference_rebuilds_its_claims_table(config, folder, min_seeds):
    shipped = REPO_ROOT / "results" / "reference" / folder
    assert shipped.is_dir(), f"results/reference/{folder} is shipped with the repository"
    man = load_reference(shipped)
    checks = reference_checks(shipped)
    seeds = set(man["seeds"])
    assert len(seeds) >= min_seeds and checks
    _, cfg = load_config_file(REPO_ROOT / "configs" / config)
    assert resolve(reference_spec(cfg.system).reference_path(cfg)) == shipped
    check_matches(man, cfg, shipped)  # the config is the one it was made with
    for name in man["files"]:
        assert {r["seed"] for r in Results.load(shipped / name).records if "seed" in r} <= seeds
    for c in checks:
        if len(c.per_seed) >= 2:
            assert set(c.per_seed) == seeds and c.verdict in ("PASS", "FAIL", "INCONCLUSIVE")


def _demo_runs() -> list[tuple[str, list[str]]]:
    """``(config, --set overrides)`` of every ``semdistill run`` in the Makefile's demo recipe."""
    text = (REPO_ROOT / "Makefile").read_text().replace("\\\n", " ")
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "the Makefile has a demo target"
    runs = []
    for line in recipe.group(1).splitlines():
        words = shlex.split(line)
        if "run" in words:
            sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
            runs.append((words[words.index("run") + 1], sets))
    return runs


def test_every_make_demo_run_is_placed_against_its_shipped_reference():
    """What ``make demo`` leaves out (``--set``) must be keys the reference does not compare,
    or its report would say "made for another config" instead of placing its seed."""
    runs = _demo_runs()
    assert {c for c, _ in runs} == {"configs/ltsc/shapes.yaml", "configs/dekag/shapes.yaml"}
    for config, sets in runs:
        _, cfg = load_config_file(REPO_ROOT / config, sets)
        checks, note = reference_for(cfg)
        assert checks, f"{config} {sets}: {note}"
