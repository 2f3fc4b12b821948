"""The command line: version, help on every subcommand, one-line errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from semdistill import __version__
from semdistill.cli import app, main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"semdistill {__version__}"


def test_every_subcommand_has_help(capsys):
    assert main(["--help"]) == 0
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    assert {"run", "eval", "report", "plot"} <= set(names)
    for name in names:
        assert main([name, "--help"]) == 0, name
    assert "Usage" in capsys.readouterr().out


def test_config_errors_are_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("system: nope\n")
    assert main(["run", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "unknown system 'nope'" in err and "\n" not in err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("config, override, message", [
    ("configs/ltsc/shapes.yaml", "snr.low=30", "SNR range reversed"),
    ("configs/ltsc/shapes.yaml", "store.k=20", "store.k=20 is larger than the 8 classes"),
    ("configs/dekag/shapes.yaml", "codec.rates=[32,512]", "rates must lie in [1, k_max=256]"),
    ("configs/dekag/shapes.yaml", "adapters.cala.rank=0", "adapters.cala.rank"),
    ("configs/ltsc/shapes.yaml", "trian.steps=3", "unknown key 'trian'"),
    ("configs/ltsc/shapes.yaml", "eval.snr_db=[0,100]", "eval.snr_db.1"),
    ("configs/dekag/makd-shapes.yaml", "budgets=[0]", "budgets.0"),
])
def test_out_of_range_values_stop_before_any_work(tmp_path, capsys, config, override, message):
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "runs"
    assert main(["run", str(root / config), "--set", override, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
    assert not out.exists()  # no run directory: nothing started


def test_eval_refuses_an_snr_outside_the_supported_range(tmp_path, capsys):
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "config.yaml").write_text((root / "configs/ltsc/tiny.yaml").read_text())
    assert main(["eval", str(tmp_path), "--snr", "0,100"]) == 2
    err = capsys.readouterr().err.strip()
    assert "100 dB is outside the supported range" in err and "\n" not in err
    assert not (tmp_path / "results").exists()


def test_unknown_option_is_a_usage_error_not_a_traceback(capsys):
    assert main(["data", "preview", "--styles", "flat"]) == 2
    err = capsys.readouterr().err
    assert "No such option" in err and "Traceback" not in err



def test_the_saved_config_names_the_directory_given_by_name(tmp_path, monkeypatch):
    import yaml

    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    config = Path(__file__).resolve().parents[1] / "configs" / "ltsc" / "tiny.yaml"
    assert main(["run", str(config), "--output-dir", str(tmp_path / "runs"), "--name", "mine",
                 "--set", "runs.online=false", "--set", "runs.scratch=false",
                 "--set", "runs.non_adaptive=false", "--set", "runs.fractions=[]"]) == 0
    saved = yaml.safe_load((tmp_path / "runs" / "mine" / "config.yaml").read_text())
    assert saved["name"] == "mine"  # the YAML says name: tiny


def test_resume_of_a_run_whose_config_yaml_was_swapped_does_no_work(tmp_path, capsys):
    from semdistill.experiments.registry import load_config_file
    from semdistill.experiments.rundir import RunDir

    _, cfg = load_config_file(Path(__file__).resolve().parents[1] / "configs" / "ltsc" /
                              "tiny.yaml")
    rd = RunDir.create(tmp_path, cfg, name="r")
    dekag = Path(__file__).resolve().parents[1] / "configs" / "dekag" / "tiny.yaml"
    (rd.path / "config.yaml").write_text(dekag.read_text())
    assert main(["run", "--resume", str(rd.path)]) == 2
    err = capsys.readouterr().err
    assert "is a 'ltsc' run" in err and len(err.strip().splitlines()) == 1
    assert not list(rd.checkpoints.iterdir()) and not (rd.path / "report.md").exists()


def test_calling_main_again_does_not_register_the_commands_twice():
    main(["--help"])
    before = len(app.registered_commands)
    main(["--help"])
    main(["run", "--help"])
    assert len(app.registered_commands) == before


# ---- --device, --tracker: refused in one line before a run directory exists ------------------
TINY = Path(__file__).resolve().parents[1] / "configs" / "ltsc" / "tiny.yaml"


@pytest.mark.parametrize("device, message", [
    ("gpu", "expected auto, cpu, cuda or cuda:N"),
    ("cuda:x", "expected auto, cpu, cuda or cuda:N"),
    pytest.param("cuda", "no CUDA device is available",
                 marks=pytest.mark.skipif("__import__('torch').cuda.is_available()")),
    ("cuda:99", "cuda:99"),
])
def test_a_device_this_machine_lacks_is_one_line(tmp_path, capsys, device, message):
    out = tmp_path / "runs"
    assert main(["run", str(TINY), "--device", device, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --device") and message in err and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize("tracker, message", [("wandb", "pip install wandb"),
                                              ("mlflow", "valid: auto, tensorboard, wandb")])
def test_an_unusable_tracker_is_one_line_before_any_work(tmp_path, capsys, monkeypatch, tracker,
                                                         message):
    from semdistill.engine import tracking

    monkeypatch.setattr(tracking, "installed", lambda kind: False)  # as without the extra
    out = tmp_path / "runs"
    assert main(["run", str(TINY), "--tracker", tracker, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --tracker") and message in err and "\n" not in err
    assert not out.exists()


def test_eval_and_run_show_the_new_options_in_their_help(capsys):
    for command in ("run", "eval"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert all(opt in text for opt in ("--quiet", "--device", "--tracker")), command



@pytest.mark.parametrize("preset", [None, "x"])
def test_off_a_terminal_the_dependencies_progress_bars_are_off_too(preset):
    """diffusers/transformers draw their weight-loading bars with tqdm, which reads TQDM_DISABLE
    when first imported: the console entry sets it off a terminal, unless the user set it."""
    import subprocess

    code = ("import sys; from semdistill import cli; sys.argv = ['semdistill', '--version'];\n"
            "try:\n    cli.entry()\nexcept SystemExit:\n    pass\n"
            "import os; from tqdm.auto import tqdm; "
            "print(tqdm(total=1).disable, os.environ['TQDM_DISABLE'])")
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    if preset is not None:
        env["TQDM_DISABLE"] = preset
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out[-2:] == (["True", "1"] if preset is None else [out[-2], preset])
