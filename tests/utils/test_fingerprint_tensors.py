"""``fingerprint_tensors``: a SHA-256 of names, dtypes, shapes and bytes (and an optional extra)."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from semdistill.utils.io import SHA256_HEX, fingerprint_tensors


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"w": torch.randn(3, 4, generator=g), "b": torch.zeros(4), "n": torch.tensor(7),
            "mask": torch.tensor([True, False]), "half": torch.ones(2, dtype=torch.bfloat16)}


def test_it_is_the_sha256_of_each_header_and_its_bytes_in_name_order():
    t = {"b": torch.tensor([1.0, 2.0]), "a": torch.tensor([3], dtype=torch.int16)}
    h = hashlib.sha256(b"null\n")
    for name in ("a", "b"):
        h.update(json.dumps([name, str(t[name].dtype), list(t[name].shape)]).encode() + b"\n")
        h.update(t[name].numpy().tobytes())
    assert fingerprint_tensors(t) == h.hexdigest()
    assert SHA256_HEX.fullmatch(fingerprint_tensors(t))


def test_equal_contents_give_equal_fingerprints_in_any_order_and_copy():
    t = _tensors()
    shuffled = {k: t[k].clone() for k in reversed(list(t))}
    assert fingerprint_tensors(t) == fingerprint_tensors(shuffled)
    strided = {**t, "w": t["w"].t().contiguous().t()}  # same values, other memory layout
    assert fingerprint_tensors(strided) == fingerprint_tensors(t)


@pytest.mark.parametrize("change", [
    lambda t: t["w"].view(-1)[5].add_(1e-6),                       # one value
    lambda t: t.update(w=t["w"].reshape(4, 3)),                   # a shape, same bytes
    lambda t: t.update(n=t["n"].to(torch.int32)),                 # a dtype
    lambda t: t.update(bias=t.pop("b")),                          # a name
    lambda t: t.pop("mask"),                                      # a tensor fewer
])
def test_any_change_of_value_shape_dtype_name_or_set_changes_it(change):
    t = _tensors()
    before = fingerprint_tensors(t)
    change(t)
    assert fingerprint_tensors(t) != before


def test_the_extra_is_part_of_it():
    t = _tensors()
    assert fingerprint_tensors(t, {"k": 1}) != fingerprint_tensors(t, {"k": 2})
    assert fingerprint_tensors(t, {"a": 1, "b": 2}) == fingerprint_tensors(t, {"b": 2, "a": 1})
    assert fingerprint_tensors(t, None) == fingerprint_tensors(t)
