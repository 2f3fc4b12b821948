"""``semdistill export RUN``: a finished run's transmitters and receivers as ONNX graphs.

Each system names its parts (``Experiment.parts``: ``experiments/<system>/deploy.py``); this
module refuses what ``eval`` refuses (a foreign or edited run directory, an unfinished stage),
exports every part with the dynamo exporter, checks each graph in ONNX Runtime against PyTorch
at batch 1 and batch 3, and writes ``manifest.json`` next to the ``.onnx`` files: the run's
identity, and per part its file, checksum, inputs and outputs (names, shapes with the dynamic
``batch`` axis, dtypes, units) and the measured agreement (docs/export.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from semdistill.deploy.onnx_export import (
    DEFAULT_OPSET,
    export_part,
    manifest_entry,
    require_runtime,
    session,
    verify,
)
from semdistill.deploy.parts import BATCH
from semdistill.errors import UserError
from semdistill.experiments.registry import load_config
from semdistill.experiments.rundir import RUN_INFO, RunDir
from semdistill.utils.io import atomic_write_json

MANIFEST, FORMAT = "manifest.json", "semdistill.export/1"
#: how the manifest states the symbol convention.
SYMBOLS = ("complex channel symbols travel as real pairs: a trailing dimension of 2 holding "
           "(re, im), torch.view_as_real; Es is per complex symbol")


def export_run(run_dir: str | Path, out: str | Path | None = None, opset: int = DEFAULT_OPSET,
               methods: Sequence[str] = ()) -> Path:
    """Export the parts of the finished run ``run_dir`` (its ``methods``, default the system's
    choice) into ``out`` (default ``RUN/export``); returns the manifest's path."""
    require_runtime()
    rd = RunDir.open(run_dir)
    exp, cfg = load_config(rd.config_data(), source=str(rd.path / "config.yaml"))
    if exp.parts is None:
        raise UserError(f"system {exp.name!r} has no transmitter or receiver to export")
    rd.check_identity(cfg.system)
    folder = Path(out) if out is not None else rd.path / "export"
    with rd.writing():
        parts = exp.parts(cfg, rd, list(methods))
        # the manifest is written last and marks a complete export: an old one must not vouch
        # for graphs that a failed export has half replaced
        (folder / MANIFEST).unlink(missing_ok=True)
        entries = []
        for part in parts:
            path = export_part(part, folder / f"{part.name}.onnx", opset)
            entries.append(manifest_entry(part, path, opset, verify(part, session(path))))
        info = rd.read_json(RUN_INFO)
        manifest: dict[str, Any] = {
            "format": FORMAT, "system": exp.name, "run": str(rd.path.resolve()),
            "config_sha256": info["config_sha256"], "opset": opset, "batch_axis": BATCH,
            "symbols": SYMBOLS, "torch": torch.__version__,
            "onnxruntime": version("onnxruntime"), "parts": entries}
        return atomic_write_json(folder / MANIFEST, manifest)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the CLI."""

    @app.command("export")
    def export(
        run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
        out: Annotated[Path | None, typer.Option(help="Output folder (default: RUN/export).")]
        = None,
        opset: Annotated[int, typer.Option(min=18, help="ONNX opset (18 or later).")] = DEFAULT_OPSET,
        method: Annotated[list[str] | None, typer.Option(
            help="Student (ltsc) or codec (dekag) to export, repeatable (default: the main "
                 "prestored student; base and cala).")] = None,
    ) -> None:
        """Write the run's transmitters and receivers as ONNX graphs, checked against PyTorch
        in ONNX Runtime, with a manifest.json (needs the deploy extra: onnx, onnxscript,
        onnxruntime)."""
        manifest = export_run(run_dir, out, opset, method or [])
        typer.echo(f"manifest: {manifest}")
