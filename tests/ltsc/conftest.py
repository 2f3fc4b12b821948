"""Shared fixtures: a tiny deterministic image dataset and a tiny timm teacher."""

from __future__ import annotations

import pytest
import torch

from semdistill.teachers import load_teacher


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
    return load_teacher("timm:test_resnet", num_classes=4, input_size=32)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and never oversubscribe the shared CI cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
