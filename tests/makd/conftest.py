"""Tiny edge models and helpers for the MAKD tests (built in memory, never downloaded)."""

from __future__ import annotations

import pytest
import torch

from semdistill.generative.edge import EdgeArch, EdgeLDM

# tiny models: one thread is faster than two contended ones on the shared CI cores
torch.set_num_threads(1)

WORDS = ["a", "red", "blue", "green", "triangle", "circle", "square", "small", "large"]
TINY = EdgeArch(image_size=16, vae_channels=[8, 8], unet_channels=[16, 16], norm_groups=4,
                text_hidden=16, text_layers=1, text_heads=2, attention_head_dim=4, max_length=12)


@pytest.fixture
def tiny_arch() -> EdgeArch:
    return TINY


@pytest.fixture
def tiny_edge() -> EdgeLDM:
    torch.manual_seed(0)
    return EdgeLDM.build(TINY, WORDS, steps=2, guidance=2.0)


@pytest.fixture(scope="module")
def saved_edge(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("edge")
    EdgeLDM.build(TINY, WORDS, steps=2, guidance=2.0).save_pretrained(path)
    return path
