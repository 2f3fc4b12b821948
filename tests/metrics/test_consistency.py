"""Consistency metrics: DreamBooth pairwise-mean cosine with tiny local DINO/CLIP models."""

from __future__ import annotations

import math

import pytest
import torch

from semdistill.hub import ModelNotAvailable
from semdistill.metrics.consistency import ConsistencyScorer, pairwise_cosine_mean
from semdistill.metrics.world_encoder import (
    RobustnessAugment,
    WorldEncoder,
    attribute_accuracy,
    robustness_perturb,
)


def test_pairwise_cosine_mean_matches_definition():
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    r = torch.tensor([[1.0, 1.0], [3.0, 0.0], [0.0, -1.0]])
    # pairs: (g0: 1/√2, 1, 0), (g1: 1/√2, 0, −1)
    assert pairwise_cosine_mean(g, r) == pytest.approx((2 / math.sqrt(2) + 1 - 1) / 6)
    assert pairwise_cosine_mean(g, g * 5) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def tiny_backbones(tmp_path_factory):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, ViTConfig, ViTModel

    root = tmp_path_factory.mktemp("backbones")
    torch.manual_seed(0)
    ViTModel(ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1,
                       num_attention_heads=2, intermediate_size=64),
             add_pooling_layer=False).save_pretrained(root / "dino")
    CLIPVisionModelWithProjection(CLIPVisionConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, projection_dim=16)).save_pretrained(root / "clip")
    return root


def test_scorer_with_tiny_dino_and_clip(tiny_backbones):
    scorer = ConsistencyScorer.build(["dino", "clip"], {"dino": str(tiny_backbones / "dino"),
                                                        "clip": str(tiny_backbones / "clip")})
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(3, 3, 24, 24, generator=g), torch.rand(4, 3, 24, 24, generator=g)
    emb = scorer.embed(a)
    assert emb["dino"].shape == (3, 32) and emb["clip"].shape == (3, 16)
    s = scorer.score(a, b)
    assert s["consistency"] == pytest.approx((s["dino"] + s["clip"]) / 2)
    same = scorer.score(a[:1], a[:1])
    assert same["dino"] == pytest.approx(1.0, abs=1e-5) and same["clip"] == pytest.approx(1.0,
                                                                                          abs=1e-5)


def test_dino_hub_id_offline_fails_clearly(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable, match="facebook/dino-vits16"):
        ConsistencyScorer.build(["dino"])


def test_world_encoder_save_load_and_embedder(tmp_path):
    heads = {"shape": ["circle", "square", "triangle"], "color": ["blue", "red"]}
    torch.manual_seed(0)
    enc = WorldEncoder(heads, width=4, dim=8).eval()
    x = torch.rand(5, 3, 16, 16)
    enc.save(tmp_path / "we")
    back = WorldEncoder.load(tmp_path / "we")
    torch.testing.assert_close(back.embed(x), enc.embed(x))
    pred = back.predict(x)
    assert set(pred) == {"shape", "color"} and len(pred["shape"]) == 5
    scorer = ConsistencyScorer.build(["world-encoder"], {"world-encoder": str(tmp_path / "we")})
    assert set(scorer.score(x, x)) == {"world-encoder", "consistency"}


def test_centered_embedding_subtracts_the_fitted_world_mean(tmp_path):
    torch.manual_seed(0)
    enc = WorldEncoder({"shape": ["a", "b"]}, width=4, dim=8).eval()
    world = torch.rand(64, 3, 16, 16)
    x = torch.rand(3, 3, 16, 16)
    torch.testing.assert_close(enc.consistency_embedding(x), enc.embed(x))  # not fitted: raw
    mean = enc.fit_feature_mean(world, batch_size=20)
    torch.testing.assert_close(mean, enc.embed(world).mean(0))
    assert enc.consistency_embedding(world).mean(0).abs().max() < 1e-4
    enc.save(tmp_path / "we")
    torch.testing.assert_close(WorldEncoder.load(tmp_path / "we").feature_mean, mean)
    scorer = ConsistencyScorer.build(["world-encoder"], {"world-encoder": str(tmp_path / "we")})
    torch.testing.assert_close(scorer.embed(x)["world-encoder"], enc.consistency_embedding(x))


def test_attribute_accuracy_counts_matches_per_attribute():
    pred = {"shape": ["circle", "square"], "color": ["red", "red"]}
    attrs = [{"shape": "circle", "color": "red"}, {"shape": "circle", "color": "red"}]
    assert attribute_accuracy(pred, attrs) == {"shape": 0.5, "color": 1.0}


def test_robustness_perturb_laws():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 12, 12)
    # never chosen → identity; chosen with zero strength → identity up to rounding
    assert torch.equal(robustness_perturb(x, RobustnessAugment(prob=0), g), x)
    still = robustness_perturb(x, RobustnessAugment(prob=1, noise_std=0, blur_sigma=0), g)
    torch.testing.assert_close(still, x)
    # a blur keeps a flat image flat (normalized kernels, replicate padding)
    flat = torch.full((4, 3, 12, 12), 0.4)
    torch.testing.assert_close(robustness_perturb(flat, RobustnessAugment(prob=1, noise_std=0),
                                                  g), flat)
    # a blur of an impulse spreads it but keeps its mass; per-sample σ differ
    imp = torch.zeros(8, 3, 12, 12)
    imp[:, :, 6, 6] = 1.0
    out = robustness_perturb(imp, RobustnessAugment(prob=1, noise_std=0, blur_sigma=1.0), g)
    torch.testing.assert_close(out.sum((-1, -2)), torch.ones(8, 3))
    assert len(set(out[:, 0, 6, 6].tolist())) == 8
    # noise stays in range and is reproducible from the generator
    a = robustness_perturb(x, RobustnessAugment(prob=1, noise_std=0.5),
                           torch.Generator().manual_seed(3))
    b = robustness_perturb(x, RobustnessAugment(prob=1, noise_std=0.5),
                           torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)
