"""CALA adapter files record the base codec they were trained on; any other base is refused."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from semdistill.config import stable_dump
from semdistill.models.cala import CALAConfig, CALAModel, build_shared_lora
from semdistill.models.cala.model import AdapterFileError
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig
from semdistill.utils.io import fingerprint_tensors

SHAPE = (4, 8, 8)
CFG = LatentJSCCConfig(hidden=4, width=8, k_max=16, rates=[4, 8, 16])
CALA = CALAConfig(num_experts=2, rank=1, gate_hidden=8)


def _codec(seed: int, cfg: LatentJSCCConfig = CFG) -> LatentJSCC:
    torch.manual_seed(seed)
    return LatentJSCC(SHAPE, cfg).requires_grad_(False)


def _trained(codec: LatentJSCC) -> CALAModel:
    """CALA on ``codec`` with nonzero experts (as after training)."""
    torch.manual_seed(7)
    model = CALAModel(codec, CALA, codec.num_rates)
    with torch.no_grad():
        for layer in model.adapters.values():
            layer.lora_B.normal_()
    return model


def _run(model: CALAModel) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, *SHAPE, generator=g)
    return model(z, torch.tensor([0, 1, 2]), torch.tensor([0.0, 10.0, 20.0]),
                 generator=torch.Generator().manual_seed(1)).z_hat


def test_the_base_identity_is_the_codec_as_before_injection():
    codec = _codec(0)
    model = _trained(codec)
    base = model.base_state_dict()
    own = codec.state_dict()
    assert base.keys() == own.keys() and all(torch.equal(base[k], own[k]) for k in own)
    fp, origin = model.base_identity()
    assert fp == fingerprint_tensors(own, {"class": "LatentJSCC", "config": stable_dump(CFG)})
    assert origin == f"LatentJSCC 4×8×8, K_max 16, rates 4/8/16, 16qam, {model.base_parameters:,} " \
        "parameters"
    assert build_shared_lora(codec, 2, 2.0, codec.num_rates).base_identity()[0] == fp


def test_adapters_of_codec_a_are_refused_on_codec_b_and_nothing_changes(tmp_path):
    a, b = _codec(0), _codec(1)  # same config and shapes, other weights
    path = _trained(a).save_adapters(tmp_path / "cala.safetensors")
    other = CALAModel(b, CALA, b.num_rates)
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(AdapterFileError) as err:
        other.load_adapters(path)
    msg = str(err.value)
    fa, fb = CALAModel(a, CALA, 3).base_identity()[0], other.base_identity()[0]
    assert "\n" not in msg and msg.startswith(f"{path}: adapters trained on the codec {fa[:12]} "
                                              "(LatentJSCC 4×8×8, K_max 16")
    assert f"not on this model's base codec {fb[:12]} (LatentJSCC" in msg
    after = other.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)


def test_the_same_weights_with_another_config_are_another_codec(tmp_path):
    channel = CFG.channel.model_copy(update={"omega": 0.1})
    a, b = _codec(0), _codec(0, CFG.model_copy(update={"channel": channel}))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))
    path = _trained(a).save_adapters(tmp_path / "cala.safetensors")
    with pytest.raises(AdapterFileError, match="adapters trained on the codec"):
        CALAModel(b, CALA, b.num_rates).load_adapters(path)


def test_matching_adapters_load_and_reproduce_the_outputs(tmp_path):
    a = _codec(0)
    model = _trained(a)
    path = model.save_adapters(tmp_path / "cala.safetensors")
    torch.manual_seed(3)
    fresh = CALAModel(copy.deepcopy(a), CALA, a.num_rates)  # other gate and experts, same base
    assert not torch.allclose(_run(fresh), _run(model))
    fresh.load_adapters(path)
    torch.testing.assert_close(_run(fresh), _run(model))


def test_an_old_adapter_file_without_fingerprint_loads_with_a_warning(tmp_path, caplog):
    a = _codec(0)
    model = _trained(a)
    path = model.save_adapters(tmp_path / "old.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = {k: v for k, v in f.metadata().items() if k not in ("codec_fingerprint", "codec")}
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    save_file(tensors, str(path), metadata=meta)
    other = CALAModel(_codec(1), CALA, a.num_rates)  # unknowable: loaded as before
    with caplog.at_level(logging.WARNING, logger="semdistill.models.cala.model"):
        other.load_adapters(path)
    [rec] = [r for r in caplog.records if r.name == "semdistill.models.cala.model"]
    assert rec.levelno == logging.WARNING and "records no codec fingerprint" in rec.getMessage()
    assert all(torch.equal(other.adapter_state_dict()[k], v)
               for k, v in model.adapter_state_dict().items())


@pytest.mark.parametrize("value", ["0" * 12, "z" * 64, "0" * 63 + "\n"])
def test_a_forged_fingerprint_is_an_unreadable_file(tmp_path, value):
    model = _trained(_codec(0))
    path = model.save_adapters(tmp_path / "cala.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = {**f.metadata(), "codec_fingerprint": value}
    save_file(model.adapter_state_dict(), str(path), metadata=meta)
    with pytest.raises(AdapterFileError, match="not a readable adapter file .*not a SHA-256") as e:
        model.load_adapters(path)
    assert "\n" not in str(e.value)


def test_adapters_are_not_loaded_into_a_merged_model(tmp_path):
    model = _trained(_codec(0))
    path = model.save_adapters(tmp_path / "cala.safetensors")
    model.merge(1, 10.0)
    with pytest.raises(RuntimeError, match="unmerge"):
        model.load_adapters(path)
