"""Atomic writes: the file appears whole or not at all, with the mode the umask asks for."""

from __future__ import annotations

import os
import stat

import pytest
import torch
from torch import nn

from semdistill.engine.checkpoint import save_checkpoint
from semdistill.utils.io import atomic_write_bytes, atomic_write_json, make_temp_dir, umask


@pytest.fixture(params=[0o022, 0o077, 0o002])
def mask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_umask_reads_the_mask_and_leaves_it_as_it_was(mask):
    assert umask() == mask
    assert umask() == mask


def test_atomic_writes_follow_the_umask_like_open_does(tmp_path, mask):
    plain = tmp_path / "plain"
    plain.write_text("x")  # what open() gives: 0666 less the umask
    assert mode(atomic_write_bytes(tmp_path / "a.bin", b"x")) == mode(plain) == 0o666 & ~mask
    assert mode(atomic_write_json(tmp_path / "sub" / "b.json", {"k": 1})) == 0o666 & ~mask
    assert not [p for p in tmp_path.rglob(".*.tmp")], "no temporary file is left"


def test_temporary_folders_follow_the_umask_like_mkdir_does(tmp_path, mask):
    (tmp_path / "plain").mkdir()
    assert mode(make_temp_dir(tmp_path, ".x.")) == mode(tmp_path / "plain") == 0o777 & ~mask


def test_checkpoint_folders_and_files_follow_the_umask(tmp_path, mask):
    path = save_checkpoint(tmp_path / "ckpt", 3, {"net": nn.Linear(2, 1)},
                           optimizer=torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1))
    assert mode(path) == 0o777 & ~mask
    files = [p for p in path.parent.rglob("*") if p.is_file()]
    assert files and {mode(p) for p in files} == {0o666 & ~mask}, \
        {p.name: oct(mode(p)) for p in files}
