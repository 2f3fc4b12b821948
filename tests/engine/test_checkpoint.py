"""Checkpoints are atomic and checksummed; damage is refused with a message naming the file."""

from __future__ import annotations

import json
import logging
import os

import pytest
import torch
from torch import nn

from semdistill.engine import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint
from semdistill.engine.checkpoint import rng_state
from semdistill.utils.io import sha256_file


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


@pytest.mark.parametrize("victim", ["weights.safetensors", "state.json", "state.safetensors"])
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


class _Payload:
    """Unpickling this writes a file: what a crafted ``state.pt`` would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _as_format_1(path, state):
    """Rewrite a checkpoint folder the way format 1 stored it (``state.pt``, a pickle) with a
    manifest whose checksums match: the checksum is no defence, the loader must be."""
    for f in ("state.json", "state.safetensors"):
        (path / f).unlink()
    torch.save(state, path / "state.pt")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format"] = "semdistill.checkpoint/1"
    manifest["files"] = {f: sha256_file(path / f) for f in ("weights.safetensors", "state.pt")}
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_nothing_is_unpickled_a_crafted_state_pt_is_refused_and_never_runs(tmp_path):
    path = save_checkpoint(tmp_path / "ck", 1, {"net": model()}, fingerprint="f")
    marker = tmp_path / "pwned"
    _as_format_1(path, {"step": 1, "optimizer": None, "scheduler": None, "rng": rng_state(),
                        "extra": {"x": _Payload(marker)}})
    with pytest.raises(CheckpointError, match="state.pt: refused"):
        load_checkpoint(path, {"net": model()}, fingerprint="f")
    assert not marker.exists()
    assert (path / "state.pt").is_file()  # refused, not deleted: nothing is lost


def test_a_genuine_format_1_checkpoint_migrates_in_place_with_one_notice(tmp_path, caplog):
    m = model()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    m(torch.randn(2, 4)).sum().backward()
    opt.step()
    torch.manual_seed(5)
    path = save_checkpoint(tmp_path, 3, {"net": m}, optimizer=opt, extra={"tag": "a"},
                           fingerprint="f")
    expected = torch.rand(2)
    _as_format_1(path, {"step": 3, "optimizer": opt.state_dict(), "scheduler": None,
                        "rng": rng_state() | {"torch": torch.manual_seed(5).get_state()},
                        "extra": {"tag": "a"}})
    m2 = model()
    opt2 = torch.optim.AdamW(m2.parameters(), lr=1e-3)
    with caplog.at_level(logging.WARNING, logger="semdistill.engine.checkpoint"):
        info = load_checkpoint(path, {"net": m2}, optimizer=opt2, fingerprint="f")
    assert [r.getMessage() for r in caplog.records if "migrated" in r.getMessage()] == [
        f"migrated checkpoint {path} to semdistill.checkpoint/2 (pickle-free)"]
    assert info.step == 3 and info.extra == {"tag": "a"} and torch.equal(torch.rand(2), expected)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"],
                       opt.state_dict()["state"][0]["exp_avg"])
    assert sorted(p.name for p in path.iterdir()) == [
        "manifest.json", "state.json", "state.safetensors", "weights.safetensors"]
    load_checkpoint(path, {"net": model()}, fingerprint="f")  # a second load: format 2 already


@pytest.mark.parametrize("skeleton", [
    [1, 2, 3], {"step": 1}, {"step": 1, "rng": {"__tensor__": "t99"}, "extra": {}},
    {"step": 1, "rng": {}, "extra": {"__items__": [[[1], 2]]}},
])
def test_a_damaged_state_json_with_a_matching_checksum_is_one_error(tmp_path, skeleton):
    path = save_checkpoint(tmp_path, 1, {"net": model()})
    (path / "state.json").write_text(json.dumps(skeleton))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["state.json"] = sha256_file(path / "state.json")
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="state"):
        load_checkpoint(path, {"net": model()})


@pytest.mark.parametrize("manifest", ["[1, 2]", "{\"format\": \"semdistill.checkpoint/2\"}",
                                      "not json"])
def test_a_garbage_manifest_is_one_error(tmp_path, manifest):
    path = save_checkpoint(tmp_path, 1, {"net": model()})
    (path / "manifest.json").write_text(manifest)
    with pytest.raises(CheckpointError, match="manifest.json"):
        load_checkpoint(path, {"net": model()})


def test_a_full_disk_is_one_error_and_earlier_checkpoints_stay(tmp_path, monkeypatch):
    import semdistill.engine.checkpoint as ck

    good = save_checkpoint(tmp_path, 1, {"net": model()})

    def full(*a, **k):
        raise RuntimeError("basic_ios::clear: iostream error")

    monkeypatch.setattr(ck, "save_tensors", full)
    with pytest.raises(CheckpointError, match="disk full.*intact: .*step-00000001") as err:
        save_checkpoint(tmp_path, 2, {"net": model()})
    assert "\n" not in str(err.value)
    assert latest_checkpoint(tmp_path) == good and not list(tmp_path.glob(".step-*"))
