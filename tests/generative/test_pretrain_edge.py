"""`pretrain_edge` end to end on a tiny world, and continuing a trained model (`init_from`)."""

from __future__ import annotations

import pytest
import torch

from semdistill.config import ConfigError, TrainConfig
from semdistill.data.world.samples import render_world
from semdistill.generative.edge import EdgeArch, EdgeLDM
from semdistill.generative.pretrain_edge import EdgePretrainConfig, pretrain_edge
from semdistill.metrics.world_encoder import WorldEncoder, categorical_heads


@pytest.fixture
def cfg(tiny_arch: EdgeArch):
    """Factory of tiny `EdgePretrainConfig`s (2 steps per stage); keywords override."""
    step = TrainConfig(steps=2, batch_size=8, log_every=1, checkpoint_every=100)
    return lambda **kw: EdgePretrainConfig(**{"arch": tiny_arch, "train_size": 32, "vae": step,
                                              "unet": step, "sample_steps": 2,
                                              "eval_samples": 8, **kw})


def _state(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_pretrain_then_continue_keeps_the_vae_and_trains_the_denoiser(tmp_path, cfg):
    heads = categorical_heads(render_world("train", 64, 16, 0, ["flat"]).attrs)
    judge = WorldEncoder(heads, width=4, dim=8).eval()
    summary = pretrain_edge(cfg(), tmp_path / "m1", tmp_path / "w1", encoder=judge)
    for key in ("seen_accuracy", "reconstruction_accuracy"):  # samples, and their VAE ceiling
        assert set(summary[key]) == set(heads) and all(0 <= v <= 1 for v in summary[key].values())
    first = EdgeLDM.from_pretrained(tmp_path / "m1")
    assert summary["unet_params"] == sum(p.numel() for p in first.unet.parameters())
    assert first.scaling_factor == pytest.approx(summary["scaling_factor"])
    assert first.generate(["a small red circle on a white background"], [0]).shape == (1, 3, 16, 16)

    pretrain_edge(cfg(init_from=str(tmp_path / "m1")), tmp_path / "m2", tmp_path / "w2")
    second = EdgeLDM.from_pretrained(tmp_path / "m2")
    vae1, vae2 = _state(first.vae), _state(second.vae)
    assert all(torch.equal(vae1[k], vae2[k]) for k in vae1)
    assert second.scaling_factor == first.scaling_factor
    unet1, unet2 = _state(first.unet), _state(second.unet)
    assert any(not torch.equal(unet1[k], unet2[k]) for k in unet1)
    assert not (tmp_path / "w2" / "vae").exists()


def test_continuing_a_model_of_another_world_is_refused(tmp_path, saved_edge, cfg):
    with pytest.raises(ConfigError, match="another world"):
        pretrain_edge(cfg(init_from=str(saved_edge)), tmp_path / "m", tmp_path / "w")


def test_the_vae_learns_a_wider_world_than_the_denoiser(tmp_path, cfg, monkeypatch):
    """The default scenario: the VAE sees every style and subject, the denoiser only flat images
    without the excluded shapes; the vocabulary still writes every excluded shape as one token."""
    import semdistill.generative.pretrain_edge as pe

    seen: dict[str, list] = {}

    def spy(name):
        real = getattr(pe, name)

        def wrapped(edge, data, *a, **kw):
            seen[name] = data.attrs
            return real(edge, data, *a, **kw)
        return wrapped

    monkeypatch.setattr(pe, "train_vae", spy("train_vae"))
    monkeypatch.setattr(pe, "train_denoiser", spy("train_denoiser"))
    c = cfg(train_size=256)
    assert c.exclude == [{"shape": "star"}, {"shape": "heart"}] and c.vae_exclude == []
    pretrain_edge(c, tmp_path / "m", tmp_path / "w")
    vae_shapes = {a["shape"] for a in seen["train_vae"]}
    assert {"star", "heart"} <= vae_shapes and {a["style"] for a in seen["train_vae"]} == {
        "flat", "outlined", "textured"}
    assert not {"star", "heart"} & {a["shape"] for a in seen["train_denoiser"]}
    assert {a["style"] for a in seen["train_denoiser"]} == {"flat"}
    tok = EdgeLDM.from_pretrained(tmp_path / "m").tokenizer
    assert all(len(tok.tokenize(w)) == 1 for w in ("star", "heart", "textured"))
