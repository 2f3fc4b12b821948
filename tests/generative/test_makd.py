"""Metaword, LoRA deliverable and the MAKD ε-loss on a tiny edge model."""

from __future__ import annotations

from typing import get_args

import pytest
import torch

from semdistill.generative.deliverable import MAKDDeliverable
from semdistill.generative.diffusion import eps_loss
from semdistill.generative.makd import MAKDConfig, align, split_budget
from semdistill.generative.metaword import (
    PLACEMENTS,
    MetawordTextEncoder,
    add_metaword,
    insert_metaword,
)


def test_metaword_training_changes_only_its_row(tiny_edge):
    te, tok = tiny_edge.text_encoder, tiny_edge.tokenizer
    before = te.get_input_embeddings().weight.detach().clone()
    tid = add_metaword(tok, te, "<meta>", "triangle")
    w = te.get_input_embeddings().weight
    assert w.shape[0] == before.shape[0] + 1
    torch.testing.assert_close(w[tid], before[tok.convert_tokens_to_ids("triangle</w>")])
    mw = MetawordTextEncoder(te, tid)
    opt = torch.optim.AdamW([mw.vector], lr=0.1, weight_decay=0.5)
    ids = tiny_edge.tokenize(["a red <meta> triangle"])
    for _ in range(3):
        mw(ids).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
    mw.commit()
    after = te.get_input_embeddings().weight.detach()
    changed = (after[: before.shape[0]] != before).any(-1)
    assert not changed.any() and not torch.equal(after[tid], before[tok.convert_tokens_to_ids(
        "triangle</w>")])
    assert [p for p in te.parameters() if p.requires_grad] == []


def test_insert_metaword_placements():
    p = "a red triangle, small"
    assert insert_metaword(p, "<m>", "triangle", "before_class") == "a red <m> triangle, small"
    assert insert_metaword("something else", "<m>", "triangle", "before_class") == "<m> something else"
    assert insert_metaword(p, "<m>", "triangle") == "a red triangle, small <m>"
    with pytest.raises(ValueError, match="placement"):
        insert_metaword(p, "<m>", "triangle", "middle")
    assert set(get_args(MAKDConfig.model_fields["metaword_placement"].annotation)) == set(PLACEMENTS)


def test_end_placement_leaves_every_other_token_state_unchanged(tiny_edge):
    """CLIP's text encoder is causal: an appended metaword cannot change earlier states."""
    te, tok = tiny_edge.text_encoder, tiny_edge.tokenizer
    tid = add_metaword(tok, te, "<meta>", "triangle")
    mw = MetawordTextEncoder(te, tid)
    with torch.no_grad():
        mw.vector.add_(torch.randn_like(mw.vector))
    prompt = "a red triangle"
    n = len(tok(prompt).input_ids) - 1  # BOS + words (the EOS follows)
    plain = tiny_edge.encode_prompts([prompt])
    for placement, same in (("end", True), ("before_class", False)):
        ids = tiny_edge.tokenize([insert_metaword(prompt, "<meta>", "triangle", placement)])
        with torch.no_grad():
            states = mw(ids)
        assert torch.allclose(states[0, :n], plain[0, :n], atol=1e-5) is same


def test_split_budget_is_equal_across_methods():
    assert split_budget("makd", 100, 0.25) == (25, 75)
    assert split_budget("lora", 100, 0.25) == (0, 100)
    assert split_budget("metaword", 100, 0.25) == (100, 0)
    assert split_budget("none", 100, 0.25) == (0, 0)


def _teacher(n: int = 8) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(n, 3, 16, 16)
    x[:, 0, 4:12, 4:12] = 1.0  # a red square-ish blob: a fixed, learnable target
    return (x + 0.05 * torch.rand(x.shape, generator=g)).clamp(0, 1)


def _loss(edge, prompts, z, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, 1000, (len(z),), generator=g)
    eps = torch.randn(z.shape, generator=g)
    with torch.no_grad():
        return float(eps_loss(edge.unet, edge.encode_prompts(prompts), z, edge.scheduler, t, eps))


def test_makd_reduces_eps_loss_and_deliverable_roundtrips(tiny_edge, tmp_path):
    imgs = _teacher()
    prompts = ["a red triangle"] * len(imgs)
    z = tiny_edge.encode_images(imgs).repeat(4, 1, 1, 1)
    before = _loss(tiny_edge, prompts * 4, z)
    cfg = MAKDConfig(rank=2, alpha=2.0, batch_size=8, metaword_fraction=0.25, lora_lr=1e-2)
    d = align(tiny_edge, imgs, prompts, "triangle", cfg, "makd", 24, tmp_path / "w")
    after = _loss(tiny_edge, ["a red triangle <meta>"] * len(z), z)
    assert after < before
    unet_params = sum(p.numel() for n, p in tiny_edge.unet.named_parameters() if "lora_" not in n)
    lora_params = sum(p.numel() for n, p in tiny_edge.unet.named_parameters() if "lora_" in n)
    assert d.num_params == lora_params + 16
    assert d.num_bytes == 4 * d.num_params
    path = d.save(tmp_path / "d.safetensors")
    e = MAKDDeliverable.load(path)
    assert e.token == "<meta>" and e.rank == 2 and set(e.lora) == set(d.lora)
    assert e.placement == d.placement == "end"
    assert all(torch.equal(e.lora[k], d.lora[k]) for k in d.lora)
    assert torch.equal(e.embedding, d.embedding)
    assert d.num_params < unet_params
    files = d.export_diffusers(tmp_path / "diffusers")
    assert files["lora"].is_file() and files["metaword"].is_file()


def test_deliverable_applied_to_fresh_edge_reproduces_aligned_samples(saved_edge, tmp_path):
    from semdistill.generative.edge import EdgeLDM

    edge = EdgeLDM.from_pretrained(saved_edge)
    cfg = MAKDConfig(rank=2, alpha=2.0, batch_size=4, lora_lr=1e-2)
    d = align(edge, _teacher(4), ["a red triangle"] * 4, "triangle", cfg, "makd", 6,
                tmp_path / "w")
    want = edge.generate(["a red <meta> triangle"], [5])
    fresh = EdgeLDM.from_pretrained(saved_edge)
    fresh.load_alignment(d.save(tmp_path / "d.safetensors"))
    torch.testing.assert_close(fresh.generate(["a red <meta> triangle"], [5]), want)


def test_metaword_anchor_keeps_the_metaword_near_its_class_word(saved_edge, tmp_path):
    from semdistill.generative.edge import EdgeLDM

    imgs = _teacher()
    drift = {}
    for anchor in (0.0, 50.0):
        edge = EdgeLDM.from_pretrained(saved_edge)
        v0 = edge.text_encoder.get_input_embeddings().weight[
            edge.tokenizer.convert_tokens_to_ids("triangle</w>")].detach().clone()
        cfg = MAKDConfig(batch_size=8, metaword_lr=0.1, metaword_anchor=anchor)
        d = align(edge, imgs, ["a red triangle"] * len(imgs), "triangle", cfg, "metaword", 12,
                    tmp_path / f"w{anchor}")
        drift[anchor] = float((d.embedding - v0).norm() / v0.norm())
    assert 0 < drift[50.0] < 0.5 * drift[0.0]


def test_prior_preservation_adds_its_weighted_term_and_loosens_the_teacher_fit(saved_edge, tmp_path):
    from semdistill.generative.edge import EdgeLDM

    imgs, prompts = _teacher(), ["a red triangle"] * 8
    teacher = EdgeLDM.from_pretrained(saved_edge).encode_images(imgs).repeat(8, 1, 1, 1)
    fit, logs = {}, {}
    for weight in (0.0, 5.0):
        edge = EdgeLDM.from_pretrained(saved_edge)
        cfg = MAKDConfig(rank=2, alpha=2.0, batch_size=8, lora_lr=5e-2, prior_weight=weight)
        logs[weight] = seen = []
        align(edge, imgs, prompts, "triangle", cfg, "lora", 60, tmp_path / f"w{weight}",
                log=lambda step, tag, seen=seen, **kw: seen.append(kw))
        fit[weight] = _loss(edge, prompts * 8, teacher)
    last = logs[5.0][-1]
    assert last["loss"] == pytest.approx(last["eps"] + 5.0 * last["prior"], rel=1e-5)
    assert "prior" not in logs[0.0][-1]
    # pulled towards the edge's own samples, the LoRA fits the teacher's latents less closely
    assert fit[0.0] < fit[5.0]
    # with the metaword the prior keeps its own (plain) prompts
    seen = []
    cfg = MAKDConfig(rank=2, alpha=2.0, batch_size=8, lora_lr=5e-2, prior_weight=5.0)
    align(EdgeLDM.from_pretrained(saved_edge), imgs, prompts, "triangle", cfg, "makd", 8,
            tmp_path / "makd", log=lambda step, tag, **kw: seen.append((tag, kw)))
    last = [kw for tag, kw in seen if tag.endswith("/lora")][-1]
    assert last["loss"] == pytest.approx(last["eps"] + 5.0 * last["prior"], rel=1e-5)
