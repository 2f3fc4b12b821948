"""The shapes world: determinism, disjoint splits, captions that name the labels, holdout."""

from __future__ import annotations

import hashlib

import pytest
import torch

from semdistill.data import (
    SHAPES,
    ShapesWorld,
    Subject,
    attrs_from_captions,
    parse_caption,
    render,
)
from semdistill.data.world.captions import caption


def digest(img: torch.Tensor) -> str:
    return hashlib.sha256((img.clamp(0, 1) * 255).round().to(torch.uint8).numpy().tobytes()).hexdigest()


def test_same_seed_and_index_give_identical_bytes_across_instances():
    a = ShapesWorld(size=300, seed=3, styles=("flat", "textured"))
    b = ShapesWorld(size=300, seed=3, styles=("flat", "textured"))
    for i in (0, 5, 257, 299):
        assert digest(a[i]["image"]) == digest(b[i]["image"])
        assert a[i]["caption"] == b[i]["caption"]
    # the batch API and single items agree, whatever the batch composition
    imgs, labels = a.render_indices(torch.tensor([299, 5]))
    assert torch.equal(imgs[1], a[5]["image"]) and labels.tolist() == [a[299]["label"], a[5]["label"]]
    assert digest(ShapesWorld(size=300, seed=4)[5]["image"]) != digest(a[5]["image"])


def test_pinned_hashes_keep_the_renderer_stable():
    """If these change, every cached store and shipped model trained on the world changes too."""
    world = ShapesWorld(split="train", size=8, seed=0)
    got = [digest(world[i]["image"])[:16] for i in (0, 7)]
    assert got == PINNED, f"renderer output changed: {got}"


PINNED = ["5f539680000450dd", "153384bb74c9ed16"]


def test_splits_are_disjoint():
    seen = {}
    for split in ("train", "val", "test"):
        w = ShapesWorld(split=split, size=400, seed=0)
        images = w.render_indices(torch.arange(400))[0]
        hashes = {digest(img) for img in images}
        assert len(hashes) == 400
        for other, hs in seen.items():
            assert not hashes & hs, f"{split} shares images with {other}"
        seen[split] = hashes
    with pytest.raises(ValueError, match="unknown split"):
        ShapesWorld(split="dev")


@pytest.mark.parametrize("task", ["shape", "shape_color", "color", "size", "background", "style"])
def test_caption_names_the_labels(task):
    w = ShapesWorld(size=120, seed=1, task=task, styles=("flat", "outlined", "textured"))
    for i in range(0, 120, 7):
        item = w[i]
        parsed = parse_caption(item["caption"])
        attrs = item["attrs"]
        for key in ("shape", "color", "size", "background", "style"):
            assert parsed[key] == attrs[key], (item["caption"], key)
        name = w.class_names[item["label"]]
        expected = f"{attrs['color']} {attrs['shape']}" if task == "shape_color" else attrs[task]
        assert name == expected
    assert w.num_classes == {"shape_color": 64, "shape": 8, "color": 8, "size": 3,
                             "background": 6, "style": 3}[task]


def test_holdout_and_include_only():
    held = Subject(shape="star", color="red")
    w = ShapesWorld(size=2000, seed=0, exclude=(held,))
    assert not any(held.matches(w.item_attrs(i)) for i in range(len(w)))
    only = ShapesWorld(size=20, seed=0, include_only=(held,), styles=("textured",))
    assert all(held.matches(only[i]["attrs"]) and only[i]["attrs"]["style"] == "textured"
               for i in range(20))
    # selection keeps the order of the underlying stream: items kept are the same items
    full = ShapesWorld(size=400, seed=0)
    kept = [full.item_attrs(i) for i in range(400) if not held.matches(full.item_attrs(i))]
    assert w.item_attrs(10) == kept[10]
    with pytest.raises(ValueError, match="unknown shape"):
        Subject(shape="dragon")


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_rendering_at_every_size_is_antialiased(size):
    w = ShapesWorld(size=4, image_size=size, seed=2, noise_std=0.0, texture=False)
    img = w[0]["image"]
    assert img.shape == (3, size, size) and img.dtype == torch.float32
    assert img.min() >= 0.0 and img.max() <= 1.0
    # flat object on flat background: edge pixels take values strictly between the two colors
    values = img[0].flatten().unique()
    assert len(values) > 2, "no intermediate (anti-aliased) values at the object's edge"


def test_render_from_prompts_follows_the_prompt():
    prompts = ["a small red star on a navy background", "a large blue heart, in outlined style"]
    attrs = attrs_from_captions(prompts, seed=5)
    assert attrs[0]["shape"] == "star" and attrs[0]["color"] == "red" and attrs[0]["size"] == "small"
    assert attrs[1]["style"] == "outlined" and attrs[1]["shape"] == "heart"
    assert attrs == attrs_from_captions(prompts, seed=5)
    imgs = render(attrs, 32)
    assert imgs.shape == (2, 3, 32, 32)
    single = render(attrs[0], 32, style="textured")
    assert single.shape == (3, 32, 32) and not torch.equal(single, imgs[0])
    assert parse_caption(caption({**attrs[1], "template": 2}))["shape"] == "heart"
    assert set(SHAPES) >= {a["shape"] for a in attrs}
