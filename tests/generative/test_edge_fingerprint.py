"""A MAKD deliverable records the base edge it was made for and is refused on any other edge."""

from __future__ import annotations

import logging

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from semdistill.generative.deliverable import MAKDDeliverable
from semdistill.generative.edge import EdgeLDM, base_tensors
from semdistill.generative.errors import AlignmentError
from semdistill.generative.makd import MAKDConfig, align
from semdistill.utils.io import fingerprint_tensors


def _teacher(n: int = 4) -> torch.Tensor:
    x = torch.zeros(n, 3, 16, 16)
    x[:, 0, 4:12, 4:12] = 1.0
    return x


def _made_on(edge: EdgeLDM, tmp_path) -> MAKDDeliverable:
    cfg = MAKDConfig(rank=2, alpha=2.0, batch_size=4, lora_lr=1e-2, metaword_fraction=0.5)
    return align(edge, _teacher(), ["a red triangle"] * 4, "triangle", cfg, "makd", 2,
                 tmp_path / "work")


def _state(edge: EdgeLDM) -> dict[str, torch.Tensor]:
    return {f"{p}.{k}": v.clone() for p in ("unet", "text_encoder", "vae")
            for k, v in getattr(edge, p).state_dict().items()}


def _other_edge(folder) -> EdgeLDM:
    """The edge of ``folder`` with other UNet weights (same shapes, vocabulary and text encoder:
    a deliverable for the original fits it without any shape error), built in memory."""
    edge = EdgeLDM.from_pretrained(folder)
    edge.source = None
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in edge.unet.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    return edge


def test_the_fingerprint_leaves_out_lora_layers_and_the_metaword_row(saved_edge, tmp_path):
    edge = EdgeLDM.from_pretrained(saved_edge)
    base = edge.fingerprint()
    assert base == EdgeLDM.from_pretrained(saved_edge).fingerprint()  # same files, same digest
    assert base != _other_edge(saved_edge).fingerprint()
    d = _made_on(edge, tmp_path)
    assert "makd" in edge.unet.peft_config and "<meta>" in edge.tokenizer.get_vocab()
    assert fingerprint_tensors(base_tensors(edge)) == base  # recomputed on the aligned edge
    assert d.edge_fingerprint == base and d.edge_origin == str(saved_edge)
    assert edge.fingerprint() is edge.fingerprint()


def test_a_deliverable_made_for_edge_a_is_refused_on_edge_b_and_nothing_changes(saved_edge,
                                                                                tmp_path):
    path = _made_on(EdgeLDM.from_pretrained(saved_edge), tmp_path).save(tmp_path / "d.safetensors")
    b = _other_edge(saved_edge)
    before, vocab = _state(b), len(b.tokenizer)
    with pytest.raises(AlignmentError) as err:
        b.load_alignment(path)
    msg = str(err.value)
    a_fp = MAKDDeliverable.load(path).edge_fingerprint
    assert "\n" not in msg and msg.startswith(f"{path}: made for the edge {a_fp[:12]}")
    assert f"({saved_edge})" in msg and f"not for this edge {b.fingerprint()[:12]} (built in " \
        "memory)" in msg
    after = _state(b)
    assert len(b.tokenizer) == vocab and b.metaword is None
    assert not getattr(b.unet, "peft_config", {})
    assert after.keys() == before.keys() and all(torch.equal(after[k], before[k]) for k in before)


def test_a_matching_deliverable_applies(saved_edge, tmp_path):
    path = _made_on(EdgeLDM.from_pretrained(saved_edge), tmp_path).save(tmp_path / "d.safetensors")
    fresh = EdgeLDM.from_pretrained(saved_edge)
    d = fresh.load_alignment(path)
    assert fresh.metaword == "<meta>" and "makd" in fresh.unet.peft_config and d.file == path


def _strip(path, *keys):
    """Rewrite ``path`` as a file from before fingerprints (``keys`` left out of its metadata)."""
    with safe_open(str(path), framework="pt") as f:
        meta = {k: v for k, v in (f.metadata() or {}).items() if k not in keys}
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    save_file(tensors, str(path), metadata=meta)
    return path


def test_an_old_deliverable_without_fingerprint_applies_with_a_warning(saved_edge, tmp_path,
                                                                       caplog):
    path = _made_on(EdgeLDM.from_pretrained(saved_edge), tmp_path).save(tmp_path / "old.safetensors")
    _strip(path, "edge_fingerprint", "edge_origin")
    edge = _other_edge(saved_edge)  # unknowable: it is applied, as before fingerprints existed
    with caplog.at_level(logging.WARNING, logger="semdistill.generative.deliverable"):
        edge.load_alignment(path)
    assert edge.metaword == "<meta>"
    [rec] = [r for r in caplog.records if r.name == "semdistill.generative.deliverable"]
    assert rec.levelno == logging.WARNING and "records no edge fingerprint" in rec.getMessage()
    assert str(path) in rec.getMessage()


@pytest.mark.parametrize("value", ["abc", "G" * 64, "0" * 63 + "\n"])
def test_a_forged_fingerprint_is_a_damaged_deliverable(tmp_path, value):
    path = tmp_path / "d.safetensors"
    d = MAKDDeliverable(token="<m>", class_word="triangle", embedding=torch.ones(16),
                        edge_fingerprint="0" * 64)
    d.save(path)
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
    save_file({"metaword": torch.ones(16)}, str(path), metadata={**meta, "edge_fingerprint": value})
    with pytest.raises(AlignmentError, match="damaged MAKD deliverable .*not a SHA-256") as err:
        MAKDDeliverable.load(path)
    assert "\n" not in str(err.value)
