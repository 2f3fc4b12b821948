"""KnowledgeStore: roundtrip, regenerated views, dense soft labels, integrity, sharding, size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from semdistill.data import UNLABELLED, SeededAugment, Subset, view_seeds
from semdistill.teachers import (
    KnowledgeStore,
    StoreCorrupt,
    StoreMismatch,
    dense_soft_labels,
    load_teacher,
)

DS_ID = {"name": "toy", "split": "train"}


def _build(teacher, toy, path, **kw):
    args = {"dataset_id": DS_ID, "views": 2, "k": 2, "seed": 5, "chunk_size": 16,
            "batch_size": 8} | kw
    return KnowledgeStore.build(teacher, toy, path, **args)


def test_roundtrip_regenerates_the_teachers_views(tiny_teacher, toy, tmp_path):
    store = _build(tiny_teacher, toy, tmp_path / "s")
    ids = torch.tensor([0, 7, 17, 39])
    batch = store.read(toy, ids, torch.tensor([0, 1, 1, 0]))
    images, _ = toy.render_indices(ids)
    expect = SeededAugment()(images, view_seeds(5, ids, torch.tensor([0, 1, 1, 0])))
    assert torch.equal(batch["image"], expect)
    probs = tiny_teacher.probs(expect)
    top_p, top_i = probs.topk(2, dim=-1)
    _, idx, prob = store.lookup(ids, torch.tensor([0, 1, 1, 0]))
    assert torch.equal(idx, top_i)
    assert torch.allclose(prob, top_p, atol=2e-3)  # fp16
    soft = batch["soft"]
    assert torch.allclose(soft.sum(-1), torch.ones(4), atol=1e-5)
    rest = 1 - top_p.sum(-1, keepdim=True)
    others = soft.clone().scatter_(1, top_i, 0.0)
    assert torch.allclose(others.sum(-1, keepdim=True), rest, atol=2e-3)


def test_a_subset_reads_its_base_rows_and_hides_the_transfer_labels(tiny_teacher, toy, tmp_path):
    store = _build(tiny_teacher, toy, tmp_path / "s")
    sub = Subset(toy, 5, unlabelled=[20, 33])  # items 5, 6 are base items 20, 33, unlabelled
    views = torch.tensor([1, 0, 1])
    batch = store.read(sub, torch.tensor([2, 5, 6]), views)
    base = store.read(toy, torch.tensor([2, 20, 33]), views)
    assert torch.equal(batch["image"], base["image"]) and torch.equal(batch["soft"], base["soft"])
    assert batch["label"].tolist() == [base["label"][0].item(), UNLABELLED, UNLABELLED]


def test_views_differ_and_are_deterministic():
    a = view_seeds(1, torch.arange(100), 0)
    assert len(set(a.tolist())) == 100
    assert torch.equal(a, view_seeds(1, torch.arange(100), 0))
    assert not torch.equal(a, view_seeds(1, torch.arange(100), 1))
    assert a.dtype == torch.int32 and (a >= 0).all()


def test_dense_soft_labels_share_the_remaining_mass():
    out = dense_soft_labels(torch.tensor([[2, 0]]), torch.tensor([[0.5, 0.3]]), 6)
    assert torch.allclose(out, torch.tensor([[0.3, 0.05, 0.5, 0.05, 0.05, 0.05]]))


def test_bytes_per_sample_reported(tiny_teacher, toy, tmp_path):
    store = _build(tiny_teacher, toy, tmp_path / "s")
    assert store.manifest["payload_bytes_per_sample"] == 2 * (4 + 4 * 2)
    assert store.bytes_per_sample == pytest.approx(
        sum(c["bytes"] for c in store.manifest["chunks"]) / len(toy))
    assert store.bytes_per_sample > store.manifest["payload_bytes_per_sample"]


def test_corrupt_chunk_is_detected_and_named(tiny_teacher, toy, tmp_path):
    _build(tiny_teacher, toy, tmp_path / "s")
    chunk = tmp_path / "s" / "chunk-00001.safetensors"
    data = bytearray(chunk.read_bytes())
    data[-3] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match="chunk-00001"):
        KnowledgeStore.open(tmp_path / "s")
    chunk.unlink()
    with pytest.raises(StoreCorrupt, match="missing"):
        KnowledgeStore.open(tmp_path / "s")


def test_mismatched_store_is_refused(tiny_teacher, toy, tmp_path):
    store = _build(tiny_teacher, toy, tmp_path / "s")
    with pytest.raises(StoreMismatch, match="K"):
        KnowledgeStore.open(tmp_path / "s", k=3)
    with pytest.raises(StoreMismatch, match="dataset"):
        KnowledgeStore.open(tmp_path / "s", dataset_id={"name": "other", "split": "train"})
    torch.manual_seed(1)
    other = load_teacher("timm:test_resnet", num_classes=4, pretrained=False, input_size=32)
    with pytest.raises(StoreMismatch, match="teacher"):
        _build(other, toy, tmp_path / "s")  # same folder, different teacher: never reused
    with pytest.raises(StoreMismatch, match="teacher fingerprint"):
        KnowledgeStore.open(tmp_path / "s", teacher_fingerprint=other.fingerprint())
    import json

    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    m["format"] = "semdistill.kstore/0"
    (tmp_path / "s" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(StoreMismatch, match="format"):
        KnowledgeStore.open(tmp_path / "s")
    assert store.header.k == 2


def test_two_ranks_write_byte_identical_chunks(tiny_teacher, toy, tmp_path):
    single = _build(tiny_teacher, toy, tmp_path / "one")
    header = single.header
    for rank in range(2):
        KnowledgeStore.build_chunks(tiny_teacher, toy, tmp_path / "two", header, rank=rank,
                                    world_size=2, batch_size=8)
    KnowledgeStore.finalize(tmp_path / "two", header)
    for c in range(header.num_chunks):
        name = f"chunk-{c:05d}.safetensors"
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert torch.equal(KnowledgeStore.open(tmp_path / "two").topk_idx, single.topk_idx)


@pytest.mark.distributed
def test_two_process_build_equals_one_process_build(tiny_teacher, toy, tmp_path):
    """A real 2-process gloo job builds its shards, joins them, and gets the 1-process store."""
    worker = Path(__file__).with_name("store_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(worker.parents[1])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(worker), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    single = _build(tiny_teacher, toy, tmp_path / "one", chunk_size=8)
    assert {r["fingerprint"] for r in ranks} == {single.header.fingerprint()}
    two = json.loads((tmp_path / "store" / "manifest.json").read_text())
    assert two["chunks"] == single.manifest["chunks"]  # names, ranges, sizes and sha256
    assert len(two["chunks"]) == 5
