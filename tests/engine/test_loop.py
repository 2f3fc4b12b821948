"""The shared training loop: determinism, resume, skip-if-final, NaN stop, data order."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from semdistill.config import TrainConfig
from semdistill.engine import Trainer, TrainingDiverged, batch_indices, latest_checkpoint

X = torch.randn(96, 6, generator=torch.Generator().manual_seed(0))
Y = X @ torch.randn(6, 2, generator=torch.Generator().manual_seed(1))


class Boom(RuntimeError):
    pass


def make(ckpt, steps=20, lr=1e-2, **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    cfg = TrainConfig(steps=steps, batch_size=16, lr=lr, checkpoint_every=5, log_every=5, **kw)
    return model, Trainer({"net": model}, cfg, ckpt, seed=3, tag="toy")


def batch_fn(step):
    idx = batch_indices(step, len(X), 16, seed=3)
    return X[idx], Y[idx]


def step_fn(kill_at=None, counter=None):
    def f(mods, batch):
        if counter is not None:
            counter.append(1)
            if kill_at is not None and len(counter) > kill_at:
                raise Boom
        x, y = batch
        noise = 0.01 * torch.randn_like(y)  # exercises per-step RNG determinism
        return {"loss": ((mods["net"](x) - y - noise) ** 2).mean()}

    return f


def params(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()])


def test_resume_after_interruption_is_bitwise_identical(tmp_path):
    ref, t = make(tmp_path / "a")
    t.fit(batch_fn, step_fn())
    model, t = make(tmp_path / "b")
    with pytest.raises(Boom):
        t.fit(batch_fn, step_fn(kill_at=13, counter=[]))
    assert latest_checkpoint(tmp_path / "b").name == "step-00000010"
    model, t = make(tmp_path / "b")
    summary = t.fit(batch_fn, step_fn())
    assert summary.resumed_from == 10
    assert torch.equal(params(model), params(ref))


def test_finished_stage_is_skipped_and_weights_restored(tmp_path):
    ref, t = make(tmp_path)
    t.fit(batch_fn, step_fn())
    model, t = make(tmp_path)
    calls: list[int] = []
    summary = t.fit(batch_fn, step_fn(counter=calls))
    assert summary.skipped and not calls
    assert torch.equal(params(model), params(ref))


def test_changed_schedule_refuses_to_resume(tmp_path):
    from semdistill.engine import CheckpointError

    _, t = make(tmp_path)
    with pytest.raises(Boom):
        t.fit(batch_fn, step_fn(kill_at=7, counter=[]))
    _, t = make(tmp_path, lr=5e-2)
    with pytest.raises(CheckpointError, match="different config"):
        t.fit(batch_fn, step_fn())


def test_nan_loss_stops_and_names_step_and_checkpoint(tmp_path):
    _, t = make(tmp_path, lr=1e-2)

    def bad(mods, batch):
        x, y = batch
        loss = ((mods["net"](x) - y) ** 2).mean()
        if t.optimizer.state and len(bad.calls) >= 6:
            loss = loss * float("nan")
        bad.calls.append(1)
        return {"loss": loss}

    bad.calls = []
    with pytest.raises(TrainingDiverged, match=r"step 6 .*step-00000005"):
        t.fit(batch_fn, bad)
    assert latest_checkpoint(tmp_path).name == "step-00000005"


def test_same_seed_same_result_and_loss_decreases(tmp_path):
    a, t = make(tmp_path / "a", steps=30)
    sa = t.fit(batch_fn, step_fn())
    b, t = make(tmp_path / "b", steps=30)
    t.fit(batch_fn, step_fn())
    assert torch.equal(params(a), params(b))
    x, y = X, Y
    with torch.no_grad():
        init, _ = make(tmp_path / "c")
        assert ((a(x) - y) ** 2).mean() < ((init(x) - y) ** 2).mean()
    assert sa.last["loss"] > 0


def test_batch_indices_cover_each_epoch_once_and_shard_disjointly():
    n, bs = 50, 10
    epoch = torch.cat([batch_indices(s, n, bs, seed=1) for s in range(5)])
    assert sorted(epoch.tolist()) == list(range(n))
    full = batch_indices(7, n, bs, seed=1)
    shards = [batch_indices(7, n, bs, seed=1, rank=r, world_size=2) for r in range(2)]
    assert sorted(torch.cat(shards).tolist()) == sorted(full.tolist())
    assert not set(shards[0].tolist()) & set(shards[1].tolist())


def test_gradient_accumulation_matches_large_batch(tmp_path):
    """Two micro-batches of 8 accumulate to the same update as one batch of 16 (SGD-like check)."""
    torch.manual_seed(0)
    big = nn.Linear(6, 2)
    small = nn.Linear(6, 2)
    small.load_state_dict(big.state_dict())
    cfg_big = TrainConfig(steps=1, batch_size=16, lr=1e-2, schedule="constant", grad_clip=None)
    cfg_acc = cfg_big.model_copy(update={"gradient_accumulation_steps": 2})
    xb, yb = X[:16], Y[:16]

    def sf(mods, batch):
        x, y = batch
        return {"loss": ((mods["m"](x) - y) ** 2).mean()}

    Trainer({"m": big}, cfg_big, tmp_path / "big").fit(lambda s: (xb, yb), sf)
    Trainer({"m": small}, cfg_acc, tmp_path / "acc").fit(
        lambda s: (xb[8 * s : 8 * s + 8], yb[8 * s : 8 * s + 8]), sf
    )
    assert torch.allclose(params(big), params(small), atol=1e-6)


def test_a_skipped_final_stage_still_reports_its_last_logged_losses(tmp_path):
    _, t = make(tmp_path / "c")
    done = t.fit(batch_fn, step_fn())
    _, t = make(tmp_path / "c")
    again = t.fit(batch_fn, step_fn())
    assert again.skipped and again.last == done.last and "loss" in again.last


def test_a_checkpoint_write_killed_half_way_leaves_nothing_behind_after_the_next_save(tmp_path):
    from semdistill.engine import save_checkpoint

    model, _ = make(tmp_path / "unused")
    root = tmp_path / "ck"
    save_checkpoint(root, 5, {"net": model})
    torn = root / ".step-00000010.abc123"  # what a SIGKILL during the write leaves
    torn.mkdir()
    (torn / "weights.safetensors").write_bytes(b"partial")
    save_checkpoint(root, 10, {"net": model})
    assert not torn.exists() and latest_checkpoint(root).name == "step-00000010"


def test_nan_weights_name_the_last_good_checkpoint(tmp_path):
    from semdistill.engine import CheckpointError, save_checkpoint

    model, _ = make(tmp_path / "unused")
    good = save_checkpoint(tmp_path / "ck", 5, {"net": model})
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    with pytest.raises(CheckpointError, match=f"last good checkpoint: {good}"):
        save_checkpoint(tmp_path / "ck", 10, {"net": model})


def test_progress_bars_stay_out_of_logs(monkeypatch, tmp_path, capsys):
    from semdistill.engine.loop import show_progress

    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert show_progress() is False  # pytest's captured stderr is no terminal
    monkeypatch.setattr("sys.stderr", Tty())
    assert show_progress() is True
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert show_progress() is False
    monkeypatch.undo()
    _, t = make(tmp_path / "quiet")
    t.fit(batch_fn, step_fn())
    assert "it/s" not in capsys.readouterr().err


def test_sgd_is_nesterov_sgd_and_its_update_is_torchs(tmp_path):
    """``optimizer: sgd`` takes one step exactly as torch's Nesterov SGD does (no warm-up,
    constant schedule, no clipping), and a checkpoint made with AdamW does not resume under it."""
    from semdistill.engine import CheckpointError

    cfg = dict(schedule="constant", grad_clip=None, weight_decay=1e-3)
    a, t = make(tmp_path / "a", steps=1, lr=0.05, optimizer="sgd", momentum=0.8, **cfg)
    assert isinstance(t.optimizer.optimizer, torch.optim.SGD)
    assert t.optimizer.param_groups[0]["nesterov"] and t.optimizer.param_groups[0]["momentum"] == 0.8
    ref, _ = make(tmp_path / "b", steps=1)
    opt = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)
    x, y = batch_fn(0)
    t.fit(batch_fn, lambda mods, b: {"loss": ((mods["net"](b[0]) - b[1]) ** 2).mean()})
    opt.zero_grad()
    ((ref(x) - y) ** 2).mean().backward()
    opt.step()
    assert torch.allclose(params(a), params(ref), atol=1e-6)
    _, t = make(tmp_path / "c", steps=10)
    with pytest.raises(Boom):
        t.fit(batch_fn, step_fn(kill_at=7, counter=[]))
    _, t = make(tmp_path / "c", steps=10, optimizer="sgd")
    with pytest.raises(CheckpointError, match="different config"):
        t.fit(batch_fn, step_fn())


def test_optimizer_keys_at_their_old_values_leave_every_dump_unchanged():
    """Shipped assets and older checkpoints hash dumps of nested TrainConfigs: the keys that
    joined later are absent from every dump at their old value, present otherwise."""
    old = TrainConfig(steps=5)
    assert "optimizer" not in old.model_dump() and "momentum" not in old.model_dump_json()
    assert TrainConfig(steps=5, optimizer="sgd").model_dump()["optimizer"] == "sgd"
    assert TrainConfig.model_validate(old.model_dump()) == old
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="adam")


def test_the_optimizer_names_are_the_registry_keys():
    from typing import get_args

    from semdistill.engine.loop import OPTIMIZERS

    assert set(get_args(TrainConfig.model_fields["optimizer"].annotation)) == set(OPTIMIZERS)
