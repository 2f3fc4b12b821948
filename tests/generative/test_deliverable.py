"""A damaged or foreign deliverable file is one AlignmentError naming it, never applied."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from semdistill.generative.deliverable import MAKDDeliverable
from semdistill.generative.errors import AlignmentError


def _saved(tmp_path):
    d = MAKDDeliverable(token="<m>", class_word="triangle", embedding=torch.ones(4),
                        lora={"a.lora_A.weight": torch.zeros(2, 3)}, rank=2, alpha=2.0)
    return d.save(tmp_path / "d.safetensors")


def test_a_truncated_deliverable_is_named(tmp_path):
    f = _saved(tmp_path)
    f.write_bytes(f.read_bytes()[:20])
    with pytest.raises(AlignmentError, match="d.safetensors: damaged MAKD deliverable"):
        MAKDDeliverable.load(f)


def test_a_deliverable_missing_its_metadata_is_named(tmp_path):
    f = tmp_path / "d.safetensors"
    save_file({"metaword": torch.ones(4)}, str(f), metadata={"format": "semdistill.makd/1"})
    with pytest.raises(AlignmentError, match="damaged MAKD deliverable \\(KeyError"):
        MAKDDeliverable.load(f)


def test_a_foreign_file_and_the_roundtrip(tmp_path):
    f = tmp_path / "other.safetensors"
    save_file({"x": torch.ones(1)}, str(f))
    with pytest.raises(AlignmentError, match="is not a MAKD deliverable"):
        MAKDDeliverable.load(f)
    back = MAKDDeliverable.load(_saved(tmp_path))
    assert back.token == "<m>" and back.rank == 2 and torch.equal(back.embedding, torch.ones(4))
