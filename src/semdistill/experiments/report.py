"""A small Markdown report builder and the value rules every report follows.

* :func:`pivot`: records → one row per group, one column per axis value, columns sorted
  numerically (``-5 dB | 0 dB | 5 dB | 10 dB``, never in the order records were appended).
* :func:`relative_gain` / :func:`gain_text`: a relative gain only over a positive baseline;
  otherwise the absolute difference (a cosine consistency can be negative, and a relative
  figure over it is meaningless).
* :func:`quality_text`: PSNR with ``lossless`` for identical images.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from semdistill.metrics.image import LOSSLESS_PSNR_DB
from semdistill.utils.io import atomic_write_text


def pivot(records: Iterable[Mapping[str, Any]], rows: Sequence[str], column: str, value: str,
          header: Callable[[Any], str] = lambda v: f"{v:g} dB",
          name: Callable[[str, Any], Any] = lambda key, v: v) -> list[dict[str, Any]]:
    """One row per distinct ``rows`` tuple (first-seen order) holding ``value`` at each
    ``column`` value (the mean when several records share a cell, e.g. seeds); columns sorted
    numerically and named by ``header``. ``name(key, v)`` formats each row field (e.g. a
    method key → its display name)."""
    cells: dict[tuple[Any, ...], dict[Any, list[float]]] = {}
    for r in records:
        if r.get(value) is not None:
            key = tuple(r.get(k) for k in rows)
            cells.setdefault(key, {}).setdefault(r[column], []).append(r[value])
    cols = sorted({c for row in cells.values() for c in row})
    return [{**{k: name(k, v) for k, v in zip(rows, key, strict=True)},
             **{header(c): statistics.fmean(row[c]) if c in row else None for c in cols}}
            for key, row in cells.items()]


def positive(baseline: float | None) -> bool:
    """Whether a relative gain over ``baseline`` is defined: a finite, positive number."""
    return baseline is not None and math.isfinite(baseline) and baseline > 0


def relative_gain(value: float, baseline: float | None) -> float | None:
    """``value / baseline − 1``, or None when the baseline is not :func:`positive`."""
    return value / baseline - 1 if positive(baseline) else None


def gain_text(value: float, baseline: float | None) -> str:
    """``"+12.3%"`` over a positive baseline, else the absolute difference (``"+0.0123 abs."``)."""
    gain = relative_gain(value, baseline)
    if gain is not None:
        return f"{gain:+.1%}"
    return "n/a" if baseline is None else f"{value - baseline:+.4f} abs."


def quality_text(psnr_db: float | None) -> str:
    """PSNR [dB] as text: ``lossless`` for identical images, ``n/a`` when missing."""
    if psnr_db is None:
        return "n/a"
    return "lossless" if psnr_db >= LOSSLESS_PSNR_DB - 1e-3 else f"{psnr_db:.2f}"


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
