"""Seeded augmentation: the batched crop+flip gather against the plain crop, flip, jitter."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from semdistill.data.views import UNLABELLED, SeededAugment, Subset, source_indices, view_seeds


def reference(aug: SeededAugment, images: torch.Tensor, seeds: torch.Tensor) -> torch.Tensor:
    """Sample by sample: reflect-pad, crop at (dy, dx), flip, then jitter around the mean."""
    p = aug.params(seeds)
    out = []
    for img, (dy, dx, flip, bright, contrast) in zip(images, p.tolist(), strict=True):
        h, w = img.shape[-2:]
        x = img
        if aug.pad > 0:
            x = F.pad(x[None], (aug.pad,) * 4, mode="reflect")[0]
            x = x[:, int(dy):int(dy) + h, int(dx):int(dx) + w]
        if flip:
            x = x.flip(-1)
        if aug.jitter > 0:
            # the mean reduces over a (H, W, C)-ordered crop, as the batched gather lays it out
            # (pad > 0), or over the image as it is (pad = 0)
            src = x.permute(1, 2, 0).contiguous().permute(2, 0, 1) if aug.pad > 0 else x
            mean = src.mean()
            x = ((x - mean) * torch.tensor(contrast, dtype=x.dtype) + mean) * torch.tensor(
                bright, dtype=x.dtype)
        out.append(x.clamp(0.0, 1.0))
    return torch.stack(out)


@settings(max_examples=40, deadline=None)
@given(pad=st.integers(0, 5), flip=st.booleans(), jitter=st.sampled_from([0.0, 0.1, 0.3]),
       b=st.integers(1, 9), h=st.integers(6, 20), w=st.integers(6, 20), seed=st.integers(0, 99))
def test_batched_augmentation_equals_the_per_sample_crop_flip_jitter(pad, flip, jitter, b, h, w,
                                                                     seed):
    aug = SeededAugment(pad, flip, jitter)
    images = torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))
    seeds = view_seeds(seed, torch.arange(b), seed % 3)
    out = aug(images, seeds)
    assert out.shape == images.shape and out.is_contiguous()
    torch.testing.assert_close(out, reference(aug, images, seeds), rtol=0, atol=2.5e-7)


def test_no_augmentation_is_the_identity_and_a_flip_mirrors():
    images = torch.rand(4, 3, 8, 10, generator=torch.Generator().manual_seed(0))
    seeds = view_seeds(1, torch.arange(4), 0)
    assert torch.equal(SeededAugment(0, False, 0.0)(images, seeds), images)
    flips = SeededAugment(0, True, 0.0).params(seeds)[:, 2].bool()
    out = SeededAugment(0, True, 0.0)(images, seeds)
    assert torch.equal(out[flips], images[flips].flip(-1))
    assert torch.equal(out[~flips], images[~flips])
    assert flips.any() and (~flips).any()


@pytest.mark.parametrize("pad", [0, 4])
def test_each_sample_depends_only_on_its_own_seed(pad):
    aug = SeededAugment(pad, True, 0.1)
    images = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    seeds = view_seeds(3, torch.arange(6), 1)
    full = aug(images, seeds)
    for i in range(6):
        assert torch.equal(aug(images[i:i + 1], seeds[i:i + 1])[0], full[i])


def test_subset_is_a_labelled_prefix_then_unlabelled_items(toy):
    sub = Subset(toy, 3, unlabelled=torch.tensor([10, 12]))
    assert len(sub) == 5 and sub.labelled == 3
    ids = torch.tensor([4, 0, 3])
    assert source_indices(sub, ids).tolist() == [12, 0, 10]
    images, labels = sub.render_indices(ids)
    base_images, base_labels = toy.render_indices(torch.tensor([12, 0, 10]))
    assert torch.equal(images, base_images)
    assert labels.tolist() == [UNLABELLED, base_labels[1].item(), UNLABELLED]
    assert source_indices(toy, ids).tolist() == ids.tolist()


@pytest.mark.parametrize("size,unlabelled", [(0, []), (3, [2]), (3, [10**6])])
def test_subset_refuses_overlap_and_out_of_range(toy, size, unlabelled):
    with pytest.raises(ValueError, match="subset size|unlabelled indices"):
        Subset(toy, size, unlabelled=unlabelled)
