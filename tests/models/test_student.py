"""Channel-adaptive module and student: shapes, weight range, disabled baseline, bandwidth."""

from __future__ import annotations

import pytest
import torch

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import ConfigError
from semdistill.models.adaptive import ChannelAdaptiveModule
from semdistill.models.student import StudentConfig, TaskStudent


def test_adaptive_weights_are_per_channel_in_unit_interval_and_depend_on_snr():
    torch.manual_seed(0)
    m = ChannelAdaptiveModule(6, hidden=8)
    x0 = torch.randn(4, 6, 3, 3)
    x, w = m(x0, torch.tensor([-5.0, 0.0, 10.0, 20.0]))
    assert x.shape == x0.shape and w.shape == (4, 6)
    assert ((w > 0) & (w < 1)).all()
    assert torch.allclose(x, x0 * w[:, :, None, None])
    same = torch.stack([x0[0]] * 2)
    _, w2 = m(same, torch.tensor([-5.0, 20.0]))
    assert not torch.allclose(w2[0], w2[1])


def test_rescaled_weights_move_energy_between_channels_without_lowering_it():
    torch.manual_seed(1)
    plain, scaled = ChannelAdaptiveModule(6, hidden=8), ChannelAdaptiveModule(6, hidden=8,
                                                                               rescale=True)
    scaled.load_state_dict(plain.state_dict())
    x0 = torch.ones(5, 6, 3, 3)  # equal energy in every channel
    snr = torch.linspace(-5, 20, 5)
    (xp, wp), (xs, ws) = plain(x0, snr), scaled(x0, snr)
    assert torch.equal(wp, ws)  # the same weights are reported
    assert torch.allclose(xs.square().mean(dim=(1, 2, 3)), torch.ones(5), atol=1e-5)
    assert (xp.square().mean(dim=(1, 2, 3)) < 1).all()  # plain sigmoid weights lower it
    ratio = xs[:, :, 0, 0] / xp[:, :, 0, 0]  # one positive factor per sample
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), rtol=1e-5)
    assert (ratio > 1).all()


def test_disabled_module_is_identity_and_threshold_drops_channels():
    x0 = torch.randn(2, 5, 2, 2)
    off = ChannelAdaptiveModule(5, enabled=False)
    x, w = off(x0, torch.zeros(2))
    assert torch.equal(x, x0) and torch.equal(w, torch.ones(2, 5))
    drop = ChannelAdaptiveModule(5, drop_threshold=0.5)
    with torch.no_grad():
        drop.mlp[-1].bias.copy_(torch.tensor([5.0, -5.0, 5.0, -5.0, 5.0]))
        drop.mlp[-1].weight.zero_()
    x, w = drop(x0, torch.zeros(2))
    assert (x[:, [1, 3]] == 0).all() and torch.allclose(drop.active_fraction(w), torch.full((2,), 0.6))


def test_bandwidth_ratio_sets_channels_and_symbols():
    cfg = StudentConfig(bandwidth_ratio=1 / 24)
    s = TaskStudent(cfg, num_classes=5, image_size=32)
    assert s.channels == 16 and s.num_symbols == 128
    assert s.bandwidth_ratio == pytest.approx(1 / 24)
    with pytest.raises(ValueError, match="whole C"):
        StudentConfig(bandwidth_ratio=0.013).feature_channels(32)


def test_deeper_stages_keep_the_symbol_count():
    shallow, deep = (TaskStudent(StudentConfig(blocks=b), num_classes=5, image_size=32)
                     for b in (1, 2))
    assert deep.num_symbols == shallow.num_symbols == 64
    convs = [m for m in deep.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.stride[0] for c in convs] == [2, 1, 2, 1, 2, 1, 1]  # + the 1x1 projection
    assert deep.encoder(torch.rand(2, 3, 32, 32)).shape == (2, deep.channels, 4, 4)


def test_student_respects_the_power_constraint_and_runs_over_rayleigh():
    torch.manual_seed(0)
    for power in ("equal", "max"):
        s = TaskStudent(StudentConfig(power=power), num_classes=3, image_size=32)
        out = s(torch.rand(4, 3, 32, 32), torch.full((4,), 3.0),
                Link.from_config(ChannelConfig(name="rayleigh"), normalize=False))
        energy = out.x.abs().square().mean(1)
        assert out.logits.shape == (4, 3)
        assert (energy <= 1 + 1e-5).all()
        if power == "equal":
            assert torch.allclose(energy, torch.ones(4), atol=1e-5)


def test_bad_bandwidth_ratio_is_a_config_error():
    from semdistill.experiments.registry import load_config

    with pytest.raises(ConfigError, match="whole C"):
        load_config({"system": "ltsc", "student": {"bandwidth_ratio": 0.013}})


def test_student_accuracy_reports_the_mean_transmitted_energy():
    from semdistill.data import ShapesWorld
    from semdistill.metrics.classification import student_accuracy

    ds = ShapesWorld(split="test", size=12, image_size=32, seed=0, task="shape")
    link = Link.from_config(ChannelConfig(name="awgn"), normalize=False)
    torch.manual_seed(0)
    equal = TaskStudent(StudentConfig(power="equal"), ds.num_classes, image_size=32)
    m = student_accuracy(equal, link, ds, 5.0, batch_size=5, repeats=2)
    assert m["energy"] == pytest.approx(1.0, abs=1e-5)
    # under "max" a freshly built encoder sends less than Es = 1; the figure is its mean
    low = TaskStudent(StudentConfig(power="max"), ds.num_classes, image_size=32).eval()
    x, _ = ds.render_indices(torch.arange(12))
    with torch.no_grad():
        sent, _ = low.transmit(x, torch.full((12,), 5.0))
    expect = float(sent.abs().square().mean(1).mean())
    assert expect < 0.99
    assert student_accuracy(low, link, ds, 5.0, batch_size=5)["energy"] == pytest.approx(
        expect, rel=1e-5)
