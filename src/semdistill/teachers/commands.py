"""CLI commands of the teachers package: ``semdistill pretrain-teacher``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``pretrain-teacher`` to ``app``."""

    @app.command("pretrain-teacher")
    def pretrain_teacher_cmd(
        out: Annotated[Path | None, typer.Option(
            help="Teacher folder (default: the user cache, where runs look for it).")] = None,
        config: Annotated[Path | None, typer.Option(
            help="YAML with a TeacherPretrainConfig (or an ltsc config: its teacher.pretrain).")
        ] = None,
        overrides: Annotated[list[str] | None, typer.Option(
            "--set", help="Override: key.sub=value, e.g. train.steps=800.")] = None,
        threads: Annotated[int, typer.Option(help="CPU threads (0 = torch default).")] = 0,
    ) -> None:
        """Train the offline shapes teacher (a timm network) and save it as a local teacher."""
        import json

        import torch

        from semdistill.config import apply_overrides, read_yaml, validate
        from semdistill.teachers.pretrain import TeacherPretrainConfig, cache_root, pretrain_teacher

        if threads > 0:
            torch.set_num_threads(threads)
        data: dict = {}
        if config is not None:
            raw = read_yaml(config)
            data = raw.get("teacher", {}).get("pretrain", raw) if "system" in raw else raw
        cfg = validate(TeacherPretrainConfig, apply_overrides(data, overrides or []),
                       source=str(config or "pretrain-teacher"))
        dest = out or cache_root() / cfg.fingerprint()
        typer.echo(f"training {cfg.arch} at {cfg.input_size}px on {cfg.data.name} -> {dest}")
        pretrain_teacher(cfg, dest)
        meta = json.loads((dest / "teacher.json").read_text())
        typer.echo(f"test accuracy {meta['test_accuracy']:.4f}, {meta['parameters']:,} parameters, "
                   f"{meta['train_seconds']} s")
