"""The adapter-method registry (models/adapters.py) and the codec trainer (distill/codec.py)."""

import torch

from semdistill.config import SNRRange, TrainConfig
from semdistill.distill.codec import random_conditions, train_codec
from semdistill.metrics.complexity import count_parameters
from semdistill.models.adapters import METHOD_BUILDERS, AdapterSpec, trainable_count
from semdistill.models.cala import CALAConfig
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig

CODEC = LatentJSCCConfig(hidden=4, width=8, k_max=16, rates=[4, 16])


def _base() -> LatentJSCC:
    torch.manual_seed(0)
    base = LatentJSCC((4, 4, 4), CODEC)
    base.requires_grad_(False)
    return base


def test_every_method_adapts_a_copy_and_counts_its_trainable_parameters():
    base = _base()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    spec = AdapterSpec(cala=CALAConfig(num_experts=2, rank=1, alpha=2.0, gate_hidden=4),
                       vgsa_groups=2)
    n = count_parameters(base)
    counts = {m: trainable_count(METHOD_BUILDERS.get(m)(base, spec), n) for m in spec.methods}
    assert counts["full_ft"] == {"trainable": n, "base_params": n, "fraction": 1.0}
    assert counts["shared_lora"]["trainable"] == counts["vgsa"]["trainable"]  # E·r = G·r here
    assert 0 < counts["shared_lora"]["trainable"] < counts["cala"]["trainable"] < n  # + gate
    assert trainable_count(base, n) == {"trainable": 0, "base_params": n, "fraction": 0.0}
    assert all(torch.equal(v, before[k]) for k, v in base.state_dict().items())


def test_random_conditions_stay_in_range():
    r, s = random_conditions(256, 3, SNRRange(low=-5.0, high=20.0), torch.device("cpu"))
    assert r.shape == s.shape == (256,) and set(r.tolist()) == {0, 1, 2}
    assert float(s.min()) >= -5.0 and float(s.max()) <= 20.0


def test_train_codec_checkpoints_logs_and_skips_a_finished_stage(tmp_path):
    torch.manual_seed(0)
    codec = LatentJSCC((4, 4, 4), CODEC)
    latents = torch.randn(8, 4, 4, 4)
    train = TrainConfig(steps=2, batch_size=4, log_every=1, checkpoint_every=1)
    logged = []

    def condition(b, dev):
        return random_conditions(b, codec.num_rates, SNRRange(), dev)

    info = train_codec(codec, latents, train, tmp_path / "c", "c", 0, CODEC, condition, "fp",
                       log=lambda step, tag, **m: logged.append((step, tag)))
    assert not info["skipped"] and info["steps"] == 2 and "final_loss" in info
    assert logged == [(1, "c"), (2, "c")] and (tmp_path / "c" / "final").is_dir()
    assert not codec.training
    weights = {k: v.clone() for k, v in codec.state_dict().items()}
    torch.manual_seed(1)
    again = LatentJSCC((4, 4, 4), CODEC)
    info = train_codec(again, latents, train, tmp_path / "c", "c", 0, CODEC, condition, "fp")
    assert info["skipped"] and info["steps"] == 2
    assert all(torch.equal(v, weights[k]) for k, v in again.state_dict().items())
