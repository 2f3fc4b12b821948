"""CLI commands of the generative system: ``pretrain-world-encoder`` and ``pretrain-edge``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _config(cls: type, path: Path | None, overrides: list[str] | None):
    from semdistill.config import apply_overrides, read_yaml, validate

    data = read_yaml(path) if path is not None else {}
    return validate(cls, apply_overrides(data, overrides or []), str(path or "defaults"))


ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML with the settings.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override: key.sub=value.")]


def register(app: typer.Typer) -> None:
    """Add this subsystem's commands to the ``semdistill`` app."""

    @app.command("pretrain-world-encoder")
    def pretrain_world_encoder(
        out: Annotated[Path, typer.Option(help="Output folder.")] = Path("world_encoder"),
        work: Annotated[Path, typer.Option(help="Checkpoint folder (resumable).")] = Path(
            "runs/world-encoder"),
        config: ConfigOpt = None,
        overrides: SetOpt = None,
    ) -> None:
        """Train the world encoder (attribute classifier, consistency embedding)."""
        from semdistill.metrics.world_encoder import WorldEncoderConfig, train_world_encoder

        cfg = _config(WorldEncoderConfig, config, overrides)
        model, acc = train_world_encoder(cfg, work)
        model.save(out)
        (out / "train_summary.json").write_text(json.dumps(
            {"test_accuracy": acc, "config": cfg.model_dump()}, indent=2) + "\n")
        typer.echo(f"world encoder: {out}  test accuracy: {acc['clean']}")

    @app.command("pretrain-edge")
    def pretrain_edge_cmd(
        out: Annotated[Path, typer.Option(help="Output folder (diffusers format).")] = Path(
            "edge_ldm"),
        work: Annotated[Path, typer.Option(help="Checkpoint folder (resumable).")] = Path(
            "runs/edge-pretrain"),
        world_encoder: Annotated[Path | None, typer.Option(
            help="World encoder for the accuracy check (default: the shipped one).")] = None,
        config: ConfigOpt = None,
        overrides: SetOpt = None,
        device: Annotated[str, typer.Option(help="cpu, cuda, ...")] = "cpu",
    ) -> None:
        """Pre-train the offline edge LDM on the shapes world without the held-out subjects."""
        from semdistill.generative.pretrain_edge import EdgePretrainConfig, pretrain_edge
        from semdistill.metrics.world_encoder import load_world_encoder

        cfg = _config(EdgePretrainConfig, config, overrides)
        encoder = load_world_encoder(world_encoder)
        summary = pretrain_edge(cfg, out, work, encoder=encoder, device=device)
        typer.echo(f"edge model: {out}  ({summary['train_seconds']} s)  "
                   f"seen-concept accuracy: {summary.get('seen_accuracy')}")
