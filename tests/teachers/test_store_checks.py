"""A store pointed outside itself, reordered, or holding invalid knowledge is refused on open."""

from __future__ import annotations

import json
import os

import pytest
from safetensors.torch import load_file, save_file

from semdistill.teachers import KnowledgeStore, StoreCorrupt
from semdistill.utils.io import sha256_file

DS_ID = {"name": "toy", "split": "train"}


@pytest.fixture
def store_dir(tiny_teacher, toy, tmp_path):
    KnowledgeStore.build(tiny_teacher, toy, tmp_path / "s", dataset_id=DS_ID, views=2, k=2,
                         seed=5, chunk_size=16, batch_size=8)
    return tmp_path / "s"


def _manifest(d):
    return json.loads((d / "manifest.json").read_text())


def _write_manifest(d, m):
    (d / "manifest.json").write_text(json.dumps(m))


def _rewrite_chunk(d, c, change):
    """Alter chunk ``c``'s tensors, keep its metadata and fix the manifest's checksum, so only
    the content checks can catch it."""
    from safetensors import safe_open

    f = d / f"chunk-{c:05d}.safetensors"
    with safe_open(str(f), framework="pt") as fh:
        meta = fh.metadata()
    tensors = load_file(str(f))
    change(tensors)
    save_file(tensors, str(f), metadata=meta)
    m = _manifest(d)
    m["chunks"][c]["sha256"] = sha256_file(f)
    _write_manifest(d, m)


@pytest.mark.parametrize("name", ["../../outside/evil.safetensors", "/tmp/evil.safetensors",
                                  "sub/chunk-00000.safetensors", ""])
def test_a_chunk_outside_the_store_folder_is_refused_even_with_its_checksum(store_dir, name,
                                                                             tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = outside / "evil.safetensors"
    evil.write_bytes((store_dir / "chunk-00000.safetensors").read_bytes())
    m = _manifest(store_dir)
    m["chunks"][0]["file"] = name
    m["chunks"][0]["sha256"] = sha256_file(evil)
    _write_manifest(store_dir, m)
    with pytest.raises(StoreCorrupt, match="manifest.json"):
        KnowledgeStore.open(store_dir)


def test_a_symlink_out_of_the_folder_is_refused(store_dir, tmp_path):
    target = tmp_path / "elsewhere.safetensors"
    f = store_dir / "chunk-00001.safetensors"
    target.write_bytes(f.read_bytes())
    f.unlink()
    os.symlink(target, f)
    with pytest.raises(StoreCorrupt, match="symlink out of the store folder"):
        KnowledgeStore.open(store_dir)


def test_a_reversed_chunk_list_is_refused(store_dir):
    m = _manifest(store_dir)
    m["chunks"].reverse()
    _write_manifest(store_dir, m)
    with pytest.raises(StoreCorrupt, match="out of order"):
        KnowledgeStore.open(store_dir)


def test_a_chunk_renamed_to_another_place_is_caught_by_its_own_metadata(store_dir):
    a, b = store_dir / "chunk-00000.safetensors", store_dir / "chunk-00001.safetensors"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    m = _manifest(store_dir)
    m["chunks"][0]["sha256"], m["chunks"][1]["sha256"] = sha256_file(a), sha256_file(b)
    _write_manifest(store_dir, m)
    with pytest.raises(StoreCorrupt, match="metadata says store .* chunk 1"):
        KnowledgeStore.open(store_dir)


@pytest.mark.parametrize("change, match", [
    (lambda t: t["topk_idx"].__setitem__((0, 0, 0), 99), "class indices outside"),
    (lambda t: t["topk_idx"].__setitem__((0, 0, 0), -1), "class indices outside"),
    (lambda t: t["topk_prob"].__setitem__((0, 0, 0), float("nan")), "finite"),
    (lambda t: t["topk_prob"].__setitem__((0, 1, slice(None)), 0.9), "sum to more than 1"),
    (lambda t: t.pop("seeds"), "tensor 'seeds' missing"),
    (lambda t: t.__setitem__("topk_idx", t["topk_idx"][:, :, :1].contiguous()), "expected"),
    (lambda t: t.__setitem__("seeds", t["seeds"].long()), "int32"),
])
def test_invalid_knowledge_is_refused_on_open_not_mid_training(store_dir, change, match):
    _rewrite_chunk(store_dir, 0, change)
    with pytest.raises(StoreCorrupt, match=match):
        KnowledgeStore.open(store_dir)


@pytest.mark.parametrize("manifest", [
    "[1, 2, 3]", '{"format": "semdistill.kstore/1"}', "{not json",
])
def test_a_garbage_manifest_is_one_store_error(store_dir, manifest):
    (store_dir / "manifest.json").write_text(manifest)
    with pytest.raises(StoreCorrupt, match="manifest"):
        KnowledgeStore.open(store_dir)


@pytest.mark.parametrize("edit", [
    lambda m: m["chunks"][0].pop("sha256"),
    lambda m: m.__setitem__("chunks", {"a": 1}),
    lambda m: m["chunks"].pop(),
    lambda m: m["chunks"].__setitem__(0, "chunk-00000.safetensors"),
])
def test_a_malformed_chunk_list_is_one_store_error(store_dir, edit):
    m = _manifest(store_dir)
    edit(m)
    _write_manifest(store_dir, m)
    with pytest.raises(StoreCorrupt, match="manifest.json"):
        KnowledgeStore.open(store_dir)


def test_the_untouched_store_still_opens(store_dir, toy):
    store = KnowledgeStore.open(store_dir)
    assert len(store) == len(toy) and store.topk_idx.max() < toy.num_classes
