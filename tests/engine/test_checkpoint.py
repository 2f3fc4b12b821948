"""Checkpoints are atomic and checksummed; damage is refused with a message naming the file."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from semdistill.engine import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint


def model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3))


def test_roundtrip_restores_weights_optimizer_and_rng(tmp_path):
    m = model()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    m(torch.randn(2, 4)).sum().backward()
    opt.step()
    torch.manual_seed(123)
    path = save_checkpoint(tmp_path, 7, {"net": m}, optimizer=opt, extra={"k": 1}, fingerprint="f")
    expected_draw = torch.rand(3)
    m2 = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3))
    opt2 = torch.optim.AdamW(m2.parameters(), lr=1e-3)
    info = load_checkpoint(path, {"net": m2}, optimizer=opt2, fingerprint="f")
    assert info.step == 7 and info.extra == {"k": 1}
    assert torch.equal(torch.rand(3), expected_draw)
    for a, b in zip(m.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    assert latest_checkpoint(tmp_path) == path


@pytest.mark.parametrize("victim", ["weights.safetensors", "state.pt"])
def test_truncated_or_corrupted_file_is_named(tmp_path, victim):
    path = save_checkpoint(tmp_path, 1, {"net": model()})
    f = path / victim
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=rf"{victim}: checksum mismatch"):
        load_checkpoint(path, {"net": model()})


def test_flipped_byte_is_detected(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"net": model()})
    f = path / "weights.safetensors"
    data = bytearray(f.read_bytes())
    data[-5] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path, {"net": model()})


def test_mismatched_fingerprint_and_architecture_are_refused(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"net": model()}, fingerprint="teacher-A")
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(path, {"net": model()}, fingerprint="teacher-B")
    with pytest.raises(CheckpointError, match="module 'net' does not match"):
        load_checkpoint(path, {"net": nn.Linear(4, 3)})
    with pytest.raises(CheckpointError, match="no weights for module 'other'"):
        load_checkpoint(path, {"other": model()})


def test_missing_manifest_and_foreign_format(tmp_path):
    path = save_checkpoint(tmp_path, 1, {"net": model()})
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format"] = "something-else/9"
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="format"):
        load_checkpoint(path, {"net": model()})
    (path / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="missing manifest"):
        load_checkpoint(path, {"net": model()})


def test_nan_weights_are_never_saved(tmp_path):
    good = save_checkpoint(tmp_path, 1, {"net": model()})
    bad = model()
    with torch.no_grad():
        bad[0].weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        save_checkpoint(tmp_path, 2, {"net": bad})
    assert latest_checkpoint(tmp_path) == good
    assert not list(tmp_path.glob(".step-*"))


def test_pruning_keeps_latest(tmp_path):
    for step in range(1, 6):
        save_checkpoint(tmp_path, step, {"net": model()}, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-00000004", "step-00000005"]
