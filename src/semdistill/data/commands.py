"""CLI: ``semdistill data preview``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semdistill.errors import UserError


def preview_grid(out: Path, n: int, size: int, styles: list[str], split: str, seed: int) -> Path:
    """Write a captioned grid of ``n`` world images (``size`` px, drawn from ``styles``) to
    ``out`` (PNG, 4 columns, each caption under its image); returns ``out``."""
    import math
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from semdistill.data import ShapesWorld
    from semdistill.figures import save_figure

    world = ShapesWorld(split=split, size=n, image_size=size, seed=seed, styles=styles)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 3.5 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        item = world[i]
        ax = axes.flat[i]
        ax.imshow(item["image"].permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.text(0.5, -0.03, textwrap.fill(item["caption"], 30), transform=ax.transAxes,
                ha="center", va="top", fontsize=8.5)
    fig.tight_layout()
    return save_figure(fig, out)


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group (``data preview``) to the CLI app."""
    data_app = typer.Typer(help="The embedded shapes world and dataset tools.", no_args_is_help=True)

    @data_app.command("preview")
    def preview(
        out: Annotated[Path, typer.Option(help="Output PNG.")] = Path("runs/data-preview.png"),
        n: Annotated[int, typer.Option(min=1, max=64, help="Number of images.")] = 16,
        size: Annotated[int, typer.Option(min=8, help="Image side in pixels.")] = 64,
        style: Annotated[list[str] | None, typer.Option(help="Style(s) to draw (repeatable).")] = None,
        split: Annotated[str, typer.Option(help="train, val or test.")] = "train",
        seed: Annotated[int, typer.Option(help="World seed.")] = 0,
    ) -> None:
        """Write a captioned grid of shapes-world images."""
        from semdistill.data.world.attributes import SPLITS, STYLES

        bad = [s for s in style or () if s not in STYLES]
        if bad:
            raise UserError(f"--style: unknown style {bad[0]!r}; valid: {', '.join(STYLES)}")
        if split not in SPLITS:
            raise UserError(f"--split: unknown split {split!r}; valid: {', '.join(SPLITS)}")
        path = preview_grid(out, n, size, style or list(STYLES), split, seed)
        typer.echo(f"preview: {path}")

    app.add_typer(data_app, name="data")
