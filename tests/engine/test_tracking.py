"""Tracking: accelerate's trackers mirror metrics rows; choices and missing packages are one line."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from semdistill.config import TrainConfig
from semdistill.engine import Trainer, tracking
from semdistill.engine.tracking import Tracker, flat_config, resolve_tracker
from semdistill.errors import UserError


def scalars(folder):
    """Every scalar of the TensorBoard event files in ``folder``: {tag: [(step, value)]}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_auto_is_tensorboard_when_installed_else_none(monkeypatch):
    monkeypatch.setattr(tracking, "installed", lambda kind: True)
    assert resolve_tracker("auto") == "tensorboard"
    monkeypatch.setattr(tracking, "installed", lambda kind: False)
    assert resolve_tracker("auto") == "none"
    assert resolve_tracker("none") == "none"


@pytest.mark.parametrize("kind", ["wandb", "tensorboard"])
def test_a_tracker_that_is_not_installed_is_one_line_naming_the_install(monkeypatch, kind):
    monkeypatch.setattr(tracking, "installed", lambda k: False)
    with pytest.raises(UserError) as err:
        resolve_tracker(kind)
    msg = str(err.value)
    assert "\n" not in msg and f"pip install {kind}" in msg and "semdistill[track]" in msg


def test_an_unknown_tracker_names_the_choices():
    with pytest.raises(UserError, match="valid: auto, tensorboard, wandb, none"):
        resolve_tracker("mlflow")


def test_flat_config_keeps_what_a_hyperparameter_table_takes():
    flat = flat_config({"train": {"lr": 1e-3, "steps": 3, "cpu": False}, "name": None,
                        "eval": {"snr_db": [0, 10]}})
    assert flat == {"train.lr": 1e-3, "train.steps": 3, "train.cpu": False, "name": "None",
                    "eval.snr_db": "[0, 10]"}


def test_tensorboard_scalars_are_the_logged_values_at_their_steps(tmp_path):
    t = Tracker("tensorboard", tmp_path, "run")
    t.log("stage/a", 5, {"loss": 0.25, "lr": 1e-3})
    t.log("stage/b", 1, {"loss": 2.0})  # another stage: its own step axis, starting again
    t.log("stage/a", 10, {"loss": 0.125, "lr": 5e-4})
    t.close()
    got = scalars(tmp_path / "tensorboard")
    assert got["stage/a/loss"] == [(5, 0.25), (10, 0.125)]
    assert got["stage/b/loss"] == [(1, 2.0)]
    assert [s for s, _ in got["stage/a/lr"]] == [5, 10]
    assert got["stage/a/lr"][1][1] == pytest.approx(5e-4)


class _Dot(nn.Module):
    """loss = <w, c>: the gradient is ``c`` whatever ``w`` is, so its norm is ``|c|``."""

    def __init__(self, c: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros_like(c))
        self.register_buffer("c", c)

    def forward(self) -> torch.Tensor:
        return (self.w * self.c).sum()


@pytest.mark.parametrize("clip", [0.1, None])
def test_the_loop_logs_the_gradient_norm_before_clipping_lr_and_throughput(tmp_path, clip):
    c = torch.tensor([3.0, 4.0, 12.0])  # |c| = 13
    rows = []
    cfg = TrainConfig(steps=4, batch_size=8, lr=1e-2, log_every=2, checkpoint_every=100,
                      grad_clip=clip, schedule="constant")
    trainer = Trainer({"m": _Dot(c)}, cfg, tmp_path, tag="dot",
                      log=lambda step, tag, **row: rows.append((step, tag, row)))
    trainer.fit(lambda step: {}, lambda mods, batch: {"loss": mods["m"]()})
    assert [(s, t) for s, t, _ in rows] == [(2, "dot"), (4, "dot")]
    for _, _, row in rows:
        assert set(row) == {"loss", "lr", "grad_norm", "samples_per_s"}
        assert row["grad_norm"] == pytest.approx(13.0, rel=1e-6)
        assert row["lr"] == pytest.approx(1e-2)
        assert math.isfinite(row["samples_per_s"]) and row["samples_per_s"] > 0


def test_a_wandb_run_id_is_kept_per_run_directory_and_checked(tmp_path):
    a, b = tmp_path / "runs" / "demo", tmp_path / "other" / "demo"  # the same name twice
    first = tracking.wandb_id(a)
    assert tracking.wandb_id(a) == first  # a resume continues the W&B run
    assert tracking.wandb_id(b) != first
    (a / "wandb" / "semdistill-run-id").write_text("../../x\n")
    with pytest.raises(UserError, match="not a W&B run id") as err:
        tracking.wandb_id(a)
    assert "\n" not in str(err.value)
