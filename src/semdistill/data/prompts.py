"""Prompt files for the generative system: one prompt per line, ``#`` comments."""

from __future__ import annotations

from pathlib import Path

from semdistill.data.real import DatasetNotFoundError
from semdistill.errors import UserError


def load_prompts(path: str | Path) -> list[str]:
    """Non-blank, non-comment lines of a text file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetNotFoundError(f"prompt file {path} not found")
    prompts = [ln.strip() for ln in path.read_text().splitlines()]
    prompts = [p for p in prompts if p and not p.startswith("#")]
    if not prompts:
        raise UserError(f"prompt file {path} has no prompts")
    return prompts
