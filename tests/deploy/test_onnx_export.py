"""ONNX export of every kind of part, checked in ONNX Runtime against PyTorch (dynamic batch)."""

from __future__ import annotations

import importlib.util
import time

import pytest
import torch

from semdistill.deploy import onnx_export
from semdistill.deploy.onnx_export import (
    ATOL,
    ExportError,
    export_part,
    feeds,
    require_runtime,
    session,
    verify,
)
from semdistill.deploy.parts import codec_parts, task_parts
from semdistill.metrics.complexity import latency_ms

from .test_parts import tiny_cala, tiny_codec, tiny_student

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

PARTS = {
    "student-transmitter": lambda: task_parts(tiny_student(), 32, 4)[0],
    "student-receiver": lambda: task_parts(tiny_student(), 32, 4)[1],
    "base-encoder": lambda: codec_parts(tiny_codec(), "base")[0],
    "base-decoder": lambda: codec_parts(tiny_codec(), "base")[1],
    "cala-encoder": lambda: codec_parts(tiny_cala(), "cala")[0],
    "cala-decoder": lambda: codec_parts(tiny_cala(), "cala")[1],
}


@pytest.mark.parametrize("name", list(PARTS))
def test_onnx_runtime_matches_pytorch_at_batch_1_and_more(name, tmp_path):
    part = PARTS[name]()
    path = export_part(part, tmp_path / f"{name}.onnx")
    sess = session(path)
    # the batch axis is dynamic and named; every other size is fixed
    for spec, arg in zip(part.inputs, sess.get_inputs(), strict=True):
        assert arg.name == spec.name and arg.shape[0] == "batch"
        assert arg.shape[1:] == list(spec.shape[1:])
    assert [o.name for o in sess.get_outputs()] == [t.name for t in part.outputs]
    for batch in (1, 7):
        inputs = part.example(batch, seed=batch)
        with torch.no_grad():
            ref = part.module(*inputs)
        ref = ref if isinstance(ref, tuple) else (ref,)
        got = sess.run(None, feeds(part, inputs))
        for spec, r, g in zip(part.outputs, ref, got, strict=True):
            err = (torch.from_numpy(g) - r).abs()
            if spec.discrete:  # constellation points: ties at a boundary may round apart
                assert float((err.amax(-1) > ATOL).float().mean()) <= onnx_export.MAX_FLIPPED
            else:
                assert float(err.max()) <= ATOL, (spec.name, float(err.max()))
    check = verify(part, sess)
    assert check["max_abs_error"] <= ATOL


class _OffByOne:
    """A stand-in session whose outputs are PyTorch's plus a small error."""

    def __init__(self, part, error: float) -> None:
        self.part, self.error = part, error

    def run(self, names, feed):
        inputs = tuple(torch.from_numpy(feed[t.name]) for t in self.part.inputs)
        with torch.no_grad():
            out = self.part.module(*inputs)
        out = out if isinstance(out, tuple) else (out,)
        return [(o + self.error).numpy() for o in out]


def test_the_check_refuses_a_graph_that_drifts_from_pytorch():
    part = task_parts(tiny_student(), 32, 4)[1]
    assert verify(part, _OffByOne(part, ATOL / 10))["max_abs_error"] <= ATOL
    with pytest.raises(ExportError, match="differs from PyTorch"):
        verify(part, _OffByOne(part, 10 * ATOL))


def test_the_check_refuses_constellation_points_that_move():
    part = codec_parts(tiny_codec(), "base")[0]
    with pytest.raises(ExportError, match="on another point"):
        verify(part, _OffByOne(part, 0.5))


def test_without_the_deploy_extra_export_says_how_to_get_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(ExportError) as info:
        require_runtime()
    msg = str(info.value)
    assert "semdistill[deploy]" in msg and "onnxruntime" in msg and "\n" not in msg
    assert not onnx_export.runtime_available()


def test_latency_ms_times_a_known_sleep_and_restores_the_thread_count():
    before = torch.get_num_threads()
    ms = latency_ms(lambda: time.sleep(0.002), threads=1, min_run_time=0.05)
    assert 2.0 <= ms < 20.0  # sleep never returns early; the host may oversleep
    assert torch.get_num_threads() == before


def test_an_exported_graph_follows_the_umask(tmp_path):
    import os

    part = PARTS[sorted(PARTS)[0]]()
    old = os.umask(0o022)
    try:
        path = export_part(part, tmp_path / "part.onnx")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
