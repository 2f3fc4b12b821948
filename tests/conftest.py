"""Suite-wide settings (deterministic, offline, light on the 2 CI cores) and shared fixtures."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from semdistill.generative.edge import EdgeArch, EdgeLDM  # noqa: E402
from semdistill.teachers import load_teacher  # noqa: E402

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


# ---- a tiny deterministic image dataset and a tiny timm teacher (LTSC tests) ----
class ToyImages:
    """Deterministic coloured squares: label = which quadrant is bright. 32 px, 4 classes."""

    num_classes = 4
    class_names = ["top left", "top right", "bottom left", "bottom right"]

    def __init__(self, size: int = 40, image_size: int = 16, seed: int = 0) -> None:
        self.size, self.image_size, self.seed = size, image_size, seed

    def __len__(self) -> int:
        return self.size

    def render_indices(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.image_size
        out, labels = [], []
        for i in torch.as_tensor(indices).tolist():
            g = torch.Generator().manual_seed(self.seed * 100_003 + i)
            img = 0.2 * torch.rand(3, s, s, generator=g)
            lab = i % 4
            r, c = divmod(lab, 2)
            img[:, r * s // 2:(r + 1) * s // 2, c * s // 2:(c + 1) * s // 2] += 0.7
            out.append(img.clamp(0, 1))
            labels.append(lab)
        return torch.stack(out), torch.tensor(labels)


@pytest.fixture
def toy() -> ToyImages:
    return ToyImages()


@pytest.fixture
def tiny_teacher():
    torch.manual_seed(0)
    return load_teacher("timm:test_resnet", num_classes=4, pretrained=False, input_size=32)


# ---- an ImageFolder tree as users have them (the real-data and timm-teacher tests) ----
def _write_image_tree(root, sizes=None, seed=0):
    """Random PNGs (and a few JPEGs) of mixed sizes (9-47 px a side) and colour modes (RGB, L,
    RGBA, P) under ``root/<class>/``, ``sizes[class]`` images per class (default ant 30, bee 20,
    cat 10); returns ``root``."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    modes = ("RGB", "L", "RGBA", "P")
    for c, n in (sizes or {"ant": 30, "bee": 20, "cat": 10}).items():
        (root / c).mkdir(parents=True)
        for i in range(n):
            h, w = (int(v) for v in rng.integers(9, 48, 2))
            img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
            img = img.convert(modes[i % 4])
            jpeg = i % 5 == 4 and img.mode in ("RGB", "L")
            img.save(root / c / (f"{i}.jpg" if jpeg else f"{i}.png"))
    return root


@pytest.fixture
def image_tree():
    """``image_tree(root, sizes=None, seed=0)`` writes an ImageFolder tree of random images."""
    return _write_image_tree
