"""ONNX export of a :class:`~semdistill.deploy.parts.Part`, checked against PyTorch and timed.

The dynamo exporter (``torch.onnx.export(..., dynamo=True)``) traces each part with
``torch.export`` (batch axis dynamic) and lowers its complex arithmetic to real pairs; the
TorchScript exporter cannot (it fails on ``aten::view_as_complex``). ONNX Runtime then runs the
graph on seeded random inputs at batch 1 and batch :data:`VERIFY_BATCH`, against the PyTorch
part: continuous outputs must agree within :data:`ATOL` (absolute, float32), constellation
points (``Tensor.discrete``) may differ on at most :data:`MAX_FLIPPED` of the symbols (a symbol
on a decision boundary can round either way when the last float bit differs).

Needs the ``deploy`` extra (``pip install 'semdistill[deploy]'``: onnx, onnxscript,
onnxruntime); without it :func:`require_runtime` raises one line saying so.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from semdistill.deploy.parts import Part
from semdistill.errors import UserError
from semdistill.metrics.complexity import latency_ms
from semdistill.utils.io import sha256_file, umask

#: the default ONNX opset (the dynamo exporter's own default in torch 2.9+).
DEFAULT_OPSET = 18
#: largest |ONNX Runtime − PyTorch| allowed on a continuous output (float32).
ATOL = 1e-4
#: largest fraction of the *sent* constellation symbols allowed to land on another point (float
#: noise at a decision boundary); one such symbol per check is always allowed.
MAX_FLIPPED = 0.01
#: the batch > 1 of the check (batch 1 is always checked too).
VERIFY_BATCH = 3
#: the batch the graph is traced at (not 0 or 1, which torch.export would specialize).
TRACE_BATCH = 2
_PACKAGES = ("onnx", "onnxscript", "onnxruntime")


class ExportError(UserError, RuntimeError):
    """A part could not be exported, or its graph does not match PyTorch."""


def runtime_available() -> bool:
    """True when the ``deploy`` extra (onnx, onnxscript, onnxruntime) is installed."""
    return all(importlib.util.find_spec(p) is not None for p in _PACKAGES)


def require_runtime() -> None:
    """Refuse in one line when the ``deploy`` extra is missing."""
    missing = [p for p in _PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise ExportError(f"ONNX export needs {', '.join(missing)}: "
                          "pip install 'semdistill[deploy]'")


def export_part(part: Part, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Write ``part`` as one self-contained ONNX file at ``path`` (atomically)."""
    require_runtime()
    path = Path(path)
    batch = torch.export.Dim("batch", min=1)
    args = part.example(TRACE_BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on axis names and deprecations
        try:
            program = torch.onnx.export(
                part.module, args, dynamo=True, opset_version=opset, verbose=False,
                input_names=[t.name for t in part.inputs],
                output_names=[t.name for t in part.outputs],
                dynamic_shapes=tuple({0: batch} for _ in part.inputs))
        except Exception as err:  # noqa: BLE001 - the exporter raises many types; one line out
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ExportError(f"{part.name}: ONNX export failed ({first})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        program.save(tmp, external_data=False)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0600 would outlive the rename
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def session(path: str | Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session of ``path`` with ``threads`` intra-op threads (1 inter-op)."""
    require_runtime()
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def feeds(part: Part, inputs: tuple[torch.Tensor, ...]) -> dict[str, Any]:
    """The ONNX Runtime input mapping of ``inputs`` (numpy arrays by input name)."""
    return {t.name: x.numpy() for t, x in zip(part.inputs, inputs, strict=True)}


@torch.no_grad()
def verify(part: Part, sess: Any, seed: int = 0) -> dict[str, float]:
    """ONNX Runtime against PyTorch on seeded random inputs at batch 1 and
    :data:`VERIFY_BATCH`; raises :class:`ExportError` beyond :data:`ATOL` / :data:`MAX_FLIPPED`.

    Returns ``{"max_abs_error", "flipped_fraction", "atol", "max_flipped"}`` over both batches.
    """
    worst, flips, sent = 0.0, 0, 0
    for batch in (1, VERIFY_BATCH):
        inputs = part.example(batch, seed + batch)
        ref = part.module(*inputs)
        ref = ref if isinstance(ref, tuple) else (ref,)
        got = sess.run([t.name for t in part.outputs], feeds(part, inputs))
        for spec, r, g in zip(part.outputs, ref, got, strict=True):
            g = torch.from_numpy(g)
            if tuple(g.shape) != tuple(r.shape):
                raise ExportError(f"{part.name}: output {spec.name} has shape {tuple(g.shape)} "
                                  f"in ONNX Runtime, {tuple(r.shape)} in PyTorch")
            err = (g - r).abs()
            if spec.discrete:  # one symbol = the trailing (re, im) pair; unsent ones are 0
                flips += int((err.amax(-1) > ATOL).sum())
                sent += int((r.abs().amax(-1) > 0).sum())
            else:
                worst = max(worst, float(err.max()))
    flipped = flips / sent if sent else 0.0
    if worst > ATOL or flips > max(1, int(MAX_FLIPPED * sent)):
        raise ExportError(f"{part.name}: ONNX Runtime differs from PyTorch (max |error| "
                          f"{worst:.3g} > {ATOL:g}, or {flipped:.2%} of the symbols on another "
                          f"point > {MAX_FLIPPED:.0%})")
    return {"max_abs_error": worst, "flipped_fraction": flipped, "atol": ATOL,
            "max_flipped": MAX_FLIPPED}


def ort_latency_ms(part: Part, sess: Any, threads: int = 1, batch: int = 1,
                   min_run_time: float = 0.2) -> float:
    """Median ONNX Runtime latency of ``part`` in ms at ``batch`` (``sess`` built with
    ``threads`` intra-op threads), timed by :func:`~semdistill.metrics.complexity.latency_ms`."""
    x = feeds(part, part.example(batch))
    names = [t.name for t in part.outputs]
    return latency_ms(lambda: sess.run(names, x), threads=threads, min_run_time=min_run_time)


def manifest_entry(part: Part, path: Path, opset: int, check: dict[str, float]) -> dict[str, Any]:
    """What the manifest says about one exported part (its file named relative to the folder)."""
    return {"name": part.name, "file": path.name, "sha256": sha256_file(path),
            "description": part.description, "opset": opset,
            "inputs": [t.describe() for t in part.inputs],
            "outputs": [t.describe() for t in part.outputs],
            "verification": check, **({"meta": part.meta} if part.meta else {})}


def export_and_time(parts: list[Part], folder: Path, threads: int = 1,
                    min_run_time: float = 0.2, opset: int = DEFAULT_OPSET
                    ) -> dict[str, dict[str, float]]:
    """Export, verify and time each part in ``folder``: ``{name: {"latency_ms", **verify}}``
    (ONNX Runtime, batch 1, ``threads`` intra-op threads)."""
    out = {}
    for part in parts:
        path = export_part(part, folder / f"{part.name}.onnx", opset)
        sess = session(path, threads)
        out[part.name] = {"latency_ms": ort_latency_ms(part, sess, threads,
                                                       min_run_time=min_run_time),
                          **verify(part, sess)}
    return out
