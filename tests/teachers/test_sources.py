"""Teacher loading: timm, local folders (ours and saved CLIP), hub ids offline, linear probe."""

from __future__ import annotations

import json

import pytest
import torch

from semdistill.teachers import (
    TeacherNotAvailable,
    fit_linear_probe,
    load_teacher,
    save_teacher,
)


def test_timm_teacher_applies_its_preprocessing(tiny_teacher):
    x = torch.rand(3, 3, 16, 16)
    assert tiny_teacher.preprocess(x).shape == (3, 3, 32, 32)
    assert tiny_teacher(x).shape == (3, 4)
    assert not any(p.requires_grad for p in tiny_teacher.parameters())


def test_saved_timm_teacher_loads_back_identically(tiny_teacher, tmp_path):
    save_teacher(tiny_teacher, tmp_path / "t", extra={"test_accuracy": 0.5})
    loaded = load_teacher(f"local:{tmp_path / 't'}")
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(loaded(x), tiny_teacher(x), atol=1e-6)
    assert loaded.fingerprint() != ""
    assert json.loads((tmp_path / "t" / "teacher.json").read_text())["arch"] == "test_resnet"


def test_half_precision_save_halves_the_file(tiny_teacher, tmp_path):
    save_teacher(tiny_teacher, tmp_path / "f32")
    save_teacher(tiny_teacher, tmp_path / "f16", half=True)
    a = (tmp_path / "f32" / "model.safetensors").stat().st_size
    b = (tmp_path / "f16" / "model.safetensors").stat().st_size
    assert b < 0.6 * a
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(load_teacher(f"local:{tmp_path / 'f16'}")(x), tiny_teacher(x), atol=0.05)


@pytest.mark.parametrize("spec", ["nonsense", "foo:bar", "timm:not_a_model_xyz",
                                  "local:/no/such/folder"])
def test_bad_specs_raise_user_errors(spec):
    with pytest.raises(TeacherNotAvailable):
        load_teacher(spec, num_classes=3)


def test_hub_id_offline_says_how_to_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TeacherNotAvailable, match="local:PATH|HF_HUB_OFFLINE"):
        load_teacher("hf:openai/clip-vit-base-patch32", class_names=["a", "b"])


def _tiny_clip(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "a", "photo", "of", "top", "left", "right", "bottom", "."]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]")
    cfg = CLIPConfig(
        text_config={"vocab_size": len(words), "hidden_size": 16, "intermediate_size": 32,
                     "num_hidden_layers": 1, "num_attention_heads": 2,
                     "max_position_embeddings": 16, "pad_token_id": 0, "bos_token_id": 0,
                     "eos_token_id": 9},
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
        projection_dim=8,
    )
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def test_tiny_clip_zero_shot_and_linear_probe_from_a_saved_folder(tmp_path, toy):
    path = _tiny_clip(tmp_path / "clip")
    teacher = load_teacher(f"local:{path}", class_names=toy.class_names)
    assert teacher.preprocess.cfg.input_size == 32
    x, y = toy.render_indices(torch.arange(40))
    logits = teacher(x)
    assert logits.shape == (40, 4) and torch.isfinite(logits).all()
    before = teacher.fingerprint()
    zero_shot = float((logits.argmax(-1) == y).float().mean())
    acc = fit_linear_probe(teacher, x, y, steps=300, lr=0.1)
    assert acc > max(zero_shot, 0.25)  # better than the random-text head and than chance
    assert teacher.fingerprint() != before
    with pytest.raises(TeacherNotAvailable, match="class_names"):
        load_teacher(f"local:{path}")
