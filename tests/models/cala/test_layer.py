"""Gated LoRA layers and the CALA model: exactness against slow references, merge, accounting."""

import pytest
import torch
from torch import nn

from semdistill.models.cala import (
    CALAConfig,
    CALAModel,
    ConditionGate,
    GatedLoRAConv2d,
    GatedLoRALinear,
    build_shared_lora,
)


def _randomize_b(layer):
    with torch.no_grad():
        layer.lora_B.normal_(0, 0.5)


def _reference(layer, x, g):
    """Slow per-sample, per-expert loop: base(x_b) + s Σ_e g_be B_e A_e x_b."""
    e, r = layer.num_experts, layer.rank
    outs = []
    for b in range(x.shape[0]):
        xb = x[b : b + 1]
        y = layer.base(xb)
        for k in range(e):
            a = layer.lora_A[k * r : (k + 1) * r]
            bb = layer.lora_B[:, k * r : (k + 1) * r]
            if isinstance(layer, GatedLoRALinear):
                d = xb @ a.T @ bb.T
            else:
                c = layer.base
                h = nn.functional.conv2d(xb, a, None, c.stride, c.padding, c.dilation)
                d = nn.functional.conv2d(h, bb[:, :, None, None])
            y = y + layer.scaling * g[b, k] * d
        outs.append(y)
    return torch.cat(outs)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_gated_layer_equals_base_at_init(kind):
    torch.manual_seed(0)
    base = nn.Linear(12, 7) if kind == "linear" else nn.Conv2d(3, 5, 3, stride=2, padding=1)
    layer = (GatedLoRALinear if kind == "linear" else GatedLoRAConv2d)(base, 3, 2, 4.0)
    x = torch.randn(5, 12) if kind == "linear" else torch.randn(5, 3, 8, 8)
    layer.set_gate(torch.softmax(torch.randn(5, 3), -1))
    torch.testing.assert_close(layer(x), base(x), rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_gated_layer_equals_explicit_per_sample_sum(kind):
    torch.manual_seed(1)
    base = nn.Linear(12, 7) if kind == "linear" else nn.Conv2d(3, 5, 3, stride=2, padding=1)
    layer = (GatedLoRALinear if kind == "linear" else GatedLoRAConv2d)(base, 4, 3, 6.0)
    _randomize_b(layer)
    x = torch.randn(6, 12) if kind == "linear" else torch.randn(6, 3, 9, 7)
    g = torch.softmax(torch.randn(6, 4), -1)
    layer.set_gate(g)
    out = layer(x)
    assert not torch.allclose(out, base(x), atol=1e-3)  # the experts do act
    torch.testing.assert_close(out, _reference(layer, x, g), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_merge_equals_gated_output_and_unmerge_restores(kind):
    torch.manual_seed(2)
    base = nn.Linear(10, 6) if kind == "linear" else nn.Conv2d(4, 6, 3, padding=1)
    layer = (GatedLoRALinear if kind == "linear" else GatedLoRAConv2d)(base, 3, 2, 2.0)
    _randomize_b(layer)
    w0 = base.weight.detach().clone()
    x = torch.randn(5, 10) if kind == "linear" else torch.randn(5, 4, 6, 6)
    g = torch.softmax(torch.randn(3), -1)
    layer.set_gate(g.expand(5, 3))
    gated = layer(x)
    layer.merge(g)
    assert layer.merged
    torch.testing.assert_close(layer(x), gated, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(base(x), gated, rtol=1e-5, atol=1e-5)  # folded into the base
    layer.unmerge()
    assert torch.equal(base.weight, w0)


def test_layer_without_gate_fails_loudly():
    layer = GatedLoRALinear(nn.Linear(4, 4), 2, 1)
    with pytest.raises(RuntimeError, match="without a gate"):
        layer(torch.randn(2, 4))


class _Toy(nn.Module):
    """A codec-shaped toy: forward(x, rate_index, snr_db)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 8, 3, padding=1)
        self.lin = nn.Linear(8 * 4 * 4, 16)
        self.out = nn.Linear(16, 5)

    def forward(self, x, rate_index, snr_db):
        return self.out(torch.relu(self.lin(torch.relu(self.conv(x)).flatten(1))))


def test_gate_rows_sum_to_one_and_temperature_softens():
    torch.manual_seed(3)
    gate = ConditionGate(num_rates=3, num_experts=5, hidden=16, temperature=1.0)
    with torch.no_grad():
        gate.mlp[2].weight.mul_(20)
    r, s = torch.tensor([0, 1, 2, 1]), torch.tensor([-5.0, 0.0, 10.0, 20.0])
    with torch.no_grad():
        g1 = gate(r, s)
    assert g1.shape == (4, 5)
    torch.testing.assert_close(g1.sum(-1), torch.ones(4))
    assert bool((g1 > 0).all())  # soft: every expert has weight
    gate.temperature = 50.0
    with torch.no_grad():
        g50 = gate(r, s)
    ent = lambda g: -(g * g.log()).sum(-1)  # noqa: E731
    assert bool((ent(g50) > ent(g1)).all())  # a higher τ gives a flatter mixture
    assert float((g50 - 0.2).abs().max()) < float((g1 - 0.2).abs().max())


def test_only_adapters_and_gate_train_and_fraction_is_right():
    toy = _Toy()
    cfg = CALAConfig(num_experts=3, rank=2, alpha=2.0, gate_hidden=8)
    model = CALAModel(toy, cfg, num_rates=2)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all(".lora_" in n or n.startswith("gate.") for n in names)
    base = sum(p.numel() for p in toy.parameters())
    # LoRA: E·r·(fan_in + out) per layer; conv fan_in = C_in·k·k
    lora = 3 * 2 * ((2 * 9 + 8) + (128 + 16) + (16 + 5))
    gate = (3 * 8 + 8) + (8 * 3 + 3)
    pc = model.parameter_count()
    assert (pc.trainable, pc.base, pc.total) == (lora + gate, base, base + lora + gate)
    assert pc.fraction == pytest.approx((lora + gate) / base)
    assert all(p.requires_grad for p in toy.parameters())  # the original is left untouched


def test_cala_model_merge_matches_gated_and_files_roundtrip(tmp_path):
    torch.manual_seed(4)
    cfg = CALAConfig(num_experts=3, rank=2, gate_hidden=8)
    model = CALAModel(_Toy(), cfg, num_rates=2)
    for layer in model.adapters.values():
        _randomize_b(layer)
    x = torch.randn(4, 2, 4, 4)
    r, s = torch.full((4,), 1), torch.full((4,), 7.0)
    gated = model(x, r, s)
    model.merge(1, 7.0)
    torch.testing.assert_close(model(x, r, s), gated, rtol=1e-5, atol=1e-5)
    model.unmerge()
    path = model.save_adapters(tmp_path / "cala.safetensors")
    other = CALAModel(_Toy(), cfg, num_rates=2)
    other.model.load_state_dict({k: v for k, v in model.model.state_dict().items()
                                 if ".lora_" not in k}, strict=False)
    assert not torch.allclose(other(x, r, s), gated)
    other.load_adapters(path)
    torch.testing.assert_close(other(x, r, s), gated)
    assert CALAModel.read_adapter_metadata(path)["config"]["num_experts"] == 3


def test_gates_differ_per_sample_in_one_batch():
    torch.manual_seed(5)
    model = CALAModel(_Toy(), CALAConfig(num_experts=2, rank=1, gate_hidden=8), num_rates=2)
    for layer in model.adapters.values():
        _randomize_b(layer)
    x = torch.randn(1, 2, 4, 4).expand(2, 2, 4, 4)
    out = model(x, torch.tensor([0, 1]), torch.tensor([-5.0, 20.0]))
    assert not torch.allclose(out[0], out[1])
    one = model(x[:1], torch.tensor([1]), torch.tensor([20.0]))
    torch.testing.assert_close(out[1:], one, rtol=1e-5, atol=1e-5)


def test_shared_lora_is_one_expert_with_a_constant_gate():
    model = build_shared_lora(_Toy(), rank=4, alpha=4.0, num_rates=2)
    g = model.gate_weights(torch.tensor([0, 1]), torch.tensor([-5.0, 20.0]))
    assert torch.equal(g, torch.ones(2, 1))
    assert all(n.startswith("model.") for n, p in model.named_parameters() if p.requires_grad)


def test_a_damaged_adapter_file_is_one_error_naming_it(tmp_path):
    from semdistill.models.cala.model import AdapterFileError

    model = CALAModel(_Toy(), CALAConfig(num_experts=2, rank=1, gate_hidden=8), num_rates=2)
    path = model.save_adapters(tmp_path / "cala.safetensors")
    path.write_bytes(path.read_bytes()[:30])
    for read in (model.load_adapters, CALAModel.read_adapter_metadata):
        with pytest.raises(AdapterFileError, match="cala.safetensors: not a readable adapter"):
            read(path)
