"""Every config file in configs/ runs as shipped, shrunk to a step or two (or, where it needs
data or weights that are not on this machine, fails in one line saying how to fix it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from semdistill.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*/*.yaml"))

#: the digital baseline kept on, one modulation, two images, two BP iterations
DIGITAL = ["images=2", "iterations=2", "budgets=[1, 4]", "modulations=[16qam]"]
#: overrides that keep each system's stages but make them seconds long
SMOKE = {
    "ltsc": ["train.steps=2", "train.batch_size=16", "data.train_size=64", "data.test_size=32",
             "store.chunk_size=32", "store.batch_size=32", "store.transfer_size=32",
             "runs.fractions=[0.5]",
             "eval.snr_db=[0, 10]", "eval.batch_size=32", "eval.repeats=1",
             "eval.latency_seconds=0.01", *[f"eval.digital.{o}" for o in DIGITAL]],
    "dekag": ["base_train.steps=2", "adapt_train.steps=2", "base_train.batch_size=4",
              "adapt_train.batch_size=4", "data.base_prompts=4", "data.train_prompts=4",
              "data.test_prompts=2", "alignment.steps=2", "alignment.teacher_images=2",
              "edge.steps=2", "eval.snr_db=[0.0]", "eval.batch_size=4", "eval.grid_images=2",
              *[f"eval.digital.{o}" for o in DIGITAL]],
    "makd": ["budgets=[2]", "teacher_images=2", "eval_prompts=2", "edge.steps=2",
             "grid_images=2", "subjects=[{shape: star, color: red}]"],
}
#: per config file, on top of its system's SMOKE (reproduce.yaml's 5 seeds shrunk to 2)
EXTRA = {"reproduce.yaml": ["runs.seeds=2"]}
#: configs that need what an offline machine lacks, and the words their one-line error must say
OFFLINE = {"cifar100-clip.yaml": ("cifar100",)}


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_config_runs_a_step_or_two(config, tmp_path, capsys, monkeypatch):
    import yaml

    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    system = yaml.safe_load(config.read_text())["system"]
    args = ["run", str(config), "--output-dir", str(tmp_path / "runs"), "--name", "smoke"]
    for o in (*SMOKE[system], *EXTRA.get(config.name, [])):
        args += ["--set", o]
    rc = main(args)
    err = capsys.readouterr().err
    if config.name in OFFLINE:
        assert rc == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
        assert all(w in err.lower() for w in OFFLINE[config.name]), err
        return
    assert rc == 0, err[-2000:]
    assert (tmp_path / "runs" / "smoke" / "report.md").is_file()


def test_the_reproduce_config_is_the_default_with_five_seeds():
    """configs/ltsc/reproduce.yaml is a copy of shapes.yaml (no include mechanism): they may
    differ only in runs.seeds and name."""
    import yaml

    default, reproduce = (yaml.safe_load((ROOT / "configs" / "ltsc" / f).read_text())
                          for f in ("shapes.yaml", "reproduce.yaml"))
    assert reproduce["runs"].pop("seeds") == 5 and default["runs"].pop("seeds") == 1
    assert reproduce.pop("name") == "ltsc-reproduce" and default.pop("name") is None
    assert reproduce == default
