"""The shipped DeKA-g reference results (``make reproduce-dekag``): each folder rebuilds its claims
table from its own files (every record carries a seed), and the default configs name it."""

from __future__ import annotations

from pathlib import Path

import pytest

from semdistill.experiments import load_config_file
from semdistill.experiments.reference import (
    check_matches,
    load_reference,
    reference_checks,
    resolve,
)
from semdistill.results import Results

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("config, folder, key", [
    ("shapes.yaml", "dekag/cala", lambda c: c.eval.reference),
    ("makd-shapes.yaml", "dekag/makd", lambda c: c.reference)])
def test_the_shipped_reference_rebuilds_its_claims_table(config, folder, key):
    shipped = REPO_ROOT / "results" / "reference" / folder
    assert shipped.is_dir(), f"results/reference/{folder} is shipped with the repository"
    man = load_reference(shipped)
    checks = reference_checks(shipped)
    assert len(man["seeds"]) >= 3 and checks
    _, cfg = load_config_file(REPO_ROOT / "configs" / "dekag" / config)
    assert resolve(key(cfg)) == shipped
    check_matches(man, cfg, shipped)  # the config is the one it was made with
    seeds = set(man["seeds"])
    for name in man["files"]:
        assert {r["seed"] for r in Results.load(shipped / name).records} == seeds
    for c in checks:  # every comparison between methods is a verdict over the seeds
        if c.per_seed:
            assert set(c.per_seed) == seeds and c.verdict in ("PASS", "FAIL", "INCONCLUSIVE")
