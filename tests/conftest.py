"""Suite-wide settings (deterministic, offline, light on the 2 CI cores) and shared fixtures."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from semdistill.generative.edge import EdgeArch, EdgeLDM  # noqa: E402

# tiny models: one intra-op thread is faster than two contended ones on the shared CI cores
torch.set_num_threads(1)

# ---- tiny edge models (the generative and MAKD tests; built in memory, never downloaded) ----

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
