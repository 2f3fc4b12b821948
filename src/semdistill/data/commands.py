"""CLI: ``semdistill data preview``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def preview_grid(out: Path, n: int, size: int, styles: list[str], split: str, seed: int) -> Path:
    """Write a captioned grid of ``n`` world images to ``out`` (PNG)."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from semdistill.data import ShapesWorld

    world = ShapesWorld(split=split, size=n, image_size=size, seed=seed, styles=styles)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 3.3 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        item = world[i]
        ax = axes.flat[i]
        ax.imshow(item["image"].permute(1, 2, 0).numpy(), interpolation="nearest")
        words = item["caption"].split(" ")
        mid = len(words) // 2
        ax.set_title(" ".join(words[:mid]) + "\n" + " ".join(words[mid:]), fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def register(app: typer.Typer) -> None:
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
        path = preview_grid(out, n, size, style or ["flat", "outlined", "textured"], split, seed)
        typer.echo(f"preview: {path}")

    app.add_typer(data_app, name="data")
