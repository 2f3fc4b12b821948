"""Generators: a tiny diffusers pipeline saved and loaded back; offline hub ids fail clearly."""

from __future__ import annotations

import pytest
import torch

from semdistill.errors import UserError
from semdistill.generative.edge import EdgeLDM
from semdistill.generative.generators import (
    DiffusersGenerator,
    Generator,
    GeneratorConfig,
    build_generator,
)
from semdistill.generative.tokenizer import build_clip_tokenizer
from semdistill.hub import ModelNotAvailable


def test_tokenizer_keeps_vocabulary_words_whole():
    tok = build_clip_tokenizer(["red", "green", "triangle", "greenish"])
    assert tok.tokenize("a green triangle red greenish")[1:] == [
        "green</w>", "triangle</w>", "red</w>", "greenish</w>"]


def test_diffusers_generator_loads_saved_tiny_pipeline(saved_edge):
    gen = DiffusersGenerator(str(saved_edge), sampler="ddim", steps=2, guidance=2.0,
                             image_size=16)
    assert isinstance(gen, Generator)
    a = gen.generate(["a red triangle", "a blue square"], [1, 2])
    b = gen.generate(["a red triangle"], [1])
    assert a.shape == (2, 3, 16, 16) and a.min() >= 0 and a.max() <= 1
    torch.testing.assert_close(a[:1], b, atol=1e-5, rtol=0)  # per-seed, batch independent


def test_edge_roundtrip_is_bitwise(saved_edge, tmp_path):
    edge = EdgeLDM.from_pretrained(saved_edge)
    x = edge.generate(["a red triangle"], [3])
    edge.save_pretrained(tmp_path / "again")
    y = EdgeLDM.from_pretrained(tmp_path / "again").generate(["a red triangle"], [3])
    assert torch.equal(x, y)
    assert edge.latent_shape == (4, 8, 8)
    z = edge.encode_images(x)
    assert z.shape == (1, 4, 8, 8) and edge.decode_latents(z).shape == x.shape


def test_edge_generator_from_config(saved_edge):
    gen = build_generator(GeneratorConfig(kind="edge", model=str(saved_edge), steps=2))
    assert gen.generate(["a red triangle"], [0]).shape == (1, 3, 16, 16)


def test_hub_id_offline_is_a_clear_user_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailable, match="HF_HUB_OFFLINE") as err:
        DiffusersGenerator("stabilityai/stable-diffusion-2-1-base")
    assert isinstance(err.value, UserError)
    with pytest.raises(ModelNotAvailable, match="local path"):
        EdgeLDM.from_pretrained("someone/not-a-local-folder")


def test_missing_local_folder_is_a_clear_user_error(tmp_path):
    with pytest.raises(ModelNotAvailable, match="model_index.json"):
        EdgeLDM.from_pretrained(tmp_path)


def test_shipped_edge_loads_and_a_missing_one_says_how_to_rebuild(monkeypatch, tmp_path):
    import semdistill.generative.edge as edge_mod

    edge = edge_mod.load_default_edge()
    assert edge.latent_shape == (4, 8, 8) and edge.image_size == 32
    monkeypatch.setattr(edge_mod, "default_edge_path", lambda: tmp_path / "nothing")
    with pytest.raises(ModelNotAvailable, match="pretrain-edge"):
        edge_mod.load_default_edge()
