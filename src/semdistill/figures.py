"""Plots that read results records: metric against an axis, one line per group."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from semdistill.results import Results  # noqa: E402
from semdistill.utils.io import atomic_write_bytes  # noqa: E402

AXIS_LABELS = {
    "snr_db": "SNR [dB]",
    "rate": "rate index",
    "bandwidth_ratio": "bandwidth ratio K/N",
    "fraction": "training-data fraction",
    "step": "step",
    "accuracy": "accuracy",
    "psnr": "PSNR [dB]",
    "latent_psnr": "latent PSNR [dB]",
    "consistency": "consistency (cosine)",
    "bytes": "bytes",
}


def save_figure(fig: Any, out: str | Path, **savefig_kw: Any) -> Path:
    """Render ``fig`` (format from the suffix), close it, and write the file atomically.

    Ranks of a multi-process run may write the same figure; the rename keeps each file whole.
    """
    out = Path(out)
    buf = io.BytesIO()
    fig.savefig(buf, format=out.suffix.lstrip(".") or "png", **savefig_kw)
    plt.close(fig)
    return atomic_write_bytes(out, buf.getvalue())


def label(key: str) -> str:
    return AXIS_LABELS.get(key, key.replace("_", " "))


def plot_metric(
    results: Results | Sequence[Results],
    x: str,
    y: str,
    out: str | Path,
    *,
    group_by: Sequence[str] = ("method",),
    where: dict[str, Any] | None = None,
    title: str | None = None,
    logy: bool = False,
    logx: bool = False,
) -> Path:
    """Draw ``y`` against ``x`` with one line per distinct ``group_by`` tuple; save a PNG."""
    items = [results] if isinstance(results, Results) else list(results)
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
    drawn = 0
    for res in items:
        prefix = f"{res.name}: " if len(items) > 1 else ""
        for key, (xs, ys) in sorted(res.series(x, y, group_by, **(where or {})).items(), key=str):
            name = ", ".join(str(k) for k in key if k is not None) or y
            ax.plot(xs, ys, marker="o", markersize=3.5, linewidth=1.5, label=prefix + name)
            drawn += 1
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    if drawn:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)


def save_image_grid(out: str | Path, rows: Sequence[Any], labels: Sequence[str],
                    title: str | None = None) -> Path:
    """One labelled row of images per entry of ``rows`` (each ``(N, 3, H, W)`` in [0, 1])."""
    from torchvision.utils import make_grid

    n = rows[0].shape[0]
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.0 * n + 1.5, 1.1 * len(rows) + 0.4),
                             dpi=100, squeeze=False)
    for ax, imgs, lab in zip(axes[:, 0], rows, labels, strict=True):
        ax.imshow(make_grid(imgs.cpu(), nrow=len(imgs), padding=1).permute(1, 2, 0).numpy())
        ax.set_ylabel(lab, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out)

