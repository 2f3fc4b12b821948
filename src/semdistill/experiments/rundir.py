"""The run directory: one folder per experiment run, with a fixed layout.

    runs/<id>/
      config.yaml          resolved config (what actually ran)
      metrics.jsonl        one JSON object per logged step
      results/*.json       evaluation results (schema: semdistill.results)
      checkpoints/<tag>/   atomic checkpoints (semdistill.engine.checkpoint)
      plots/*.png
      report.md
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from semdistill.config import ConfigError, to_yaml
from semdistill.engine.processes import is_main_process
from semdistill.errors import UserError
from semdistill.utils.io import atomic_write_json, atomic_write_text


class MissingCheckpoints(UserError, FileNotFoundError):
    """A command that only reads trained weights (``eval``) found a stage that never finished."""


class RunDir:
    """Handle on a run directory. Create new ones with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, config: BaseModel, name: str | None = None) -> RunDir:
        """Make a fresh run directory under ``root`` and save the resolved ``config`` in it."""
        root = Path(root)
        system = getattr(config, "system", "run")
        base = name or f"{system}-{time.strftime('%Y%m%d-%H%M%S')}"
        path = root / base
        n = 1
        while path.exists():
            n += 1
            path = root / f"{base}-{n}"
        run = cls(path)
        for sub in ("checkpoints", "plots", "results"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        atomic_write_text(path / "config.yaml", to_yaml(config))
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Reopen an existing run directory (for resume, eval and report)."""
        run = cls(path)
        if not (run.path / "config.yaml").is_file():
            raise ConfigError(f"{run.path} is not a run directory (no config.yaml)")
        return run

    # ---- layout -------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def require_finished(self, tags: Iterable[str]) -> None:
        """Refuse (one line naming them) when any of ``tags`` has no ``checkpoints/<tag>/final``.

        Commands that evaluate a run call this first: they never train a missing stage.
        """
        missing = [t for t in tags if not (self.checkpoints / t / "final").is_dir()]
        if missing:
            raise MissingCheckpoints(
                f"{self.path}: no finished checkpoint for {', '.join(missing)}; finish the run "
                f"first with `semdistill run --resume {self.path}`")

    @property
    def plots(self) -> Path:
        p = self.path / "plots"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def results(self) -> Path:
        p = self.path / "results"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def report_path(self) -> Path:
        return self.path / "report.md"

    def config_data(self) -> dict[str, Any]:
        return yaml.safe_load((self.path / "config.yaml").read_text())

    # ---- logging ------------------------------------------------------------------------
    def log_metrics(self, step: int, tag: str, **metrics: float) -> None:
        """Append one line to ``metrics.jsonl``: {"step", "tag", "time", **metrics}.

        Under a multi-process launch only the main rank appends (the others hold the same rows).
        """
        if not is_main_process():
            return
        row = {"step": step, "tag": tag, "time": round(time.time(), 3)}
        row.update({k: float(v) for k, v in metrics.items()})
        with open(self.path / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")

    def read_metrics(self, tag: str | None = None) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.is_file():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in rows if tag is None or r.get("tag") == tag]

    def write_json(self, relpath: str, obj: Any) -> Path:
        return atomic_write_json(self.path / relpath, obj)

    def read_json(self, relpath: str) -> Any:
        return json.loads((self.path / relpath).read_text())

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"
