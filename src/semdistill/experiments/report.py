"""A small Markdown report builder, and the generic report drawn from any results files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from semdistill.utils.io import atomic_write_text


def _fmt(v: Any, floatfmt: str) -> str:
    if isinstance(v, float):
        return format(v, floatfmt)
    return "" if v is None else str(v)


class MarkdownReport:
    """Accumulates Markdown blocks; images are linked relative to the report's folder."""

    def __init__(self, title: str) -> None:
        self.blocks: list[str] = [f"# {title}"]

    def section(self, heading: str, level: int = 2) -> MarkdownReport:
        self.blocks.append(f"{'#' * level} {heading}")
        return self

    def text(self, paragraph: str) -> MarkdownReport:
        self.blocks.append(paragraph.strip())
        return self

    def bullets(self, items: Iterable[str]) -> MarkdownReport:
        self.blocks.append("\n".join(f"- {i}" for i in items))
        return self

    def table(
        self, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None,
        floatfmt: str = ".4g",
    ) -> MarkdownReport:
        if not rows:
            self.blocks.append("_(no rows)_")
            return self
        cols = list(columns or dict.fromkeys(k for r in rows for k in r))
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_fmt(r.get(c), floatfmt) for c in cols) + " |" for r in rows]
        self.blocks.append("\n".join(lines))
        return self

    def image(self, relpath: str | Path, alt: str = "") -> MarkdownReport:
        self.blocks.append(f"![{alt}]({Path(relpath).as_posix()})")
        return self

    def render(self) -> str:
        return "\n\n".join(self.blocks) + "\n"

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.render())
