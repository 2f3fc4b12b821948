"""Shapes-world rendering speed (images/s) on ONE CPU core, at 32, 64 and 128 px.

    python benchmarks/data_speed.py [--images 20000] [--batch 512] [--repeats 3]

Three paths, all styles mixed, pixel noise on (the defaults):
- ``render_indices`` in batches (what trainers call; no DataLoader);
- ``render_indices`` with ``noise_std=0`` (the SDF renderer alone);
- per-item ``Dataset.__getitem__`` (a DataLoader's path: renders 64-item chunks, LRU-cached).

Prints a Markdown table; each number is the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from semdistill.data import STYLES, ShapesWorld


def rate(fn: Callable[[], None], n: int, repeats: int) -> float:
    """Best images/s over ``repeats`` runs of ``fn`` (which renders ``n`` images)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20_000, help="images at 32 px (fewer at 64/128)")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, batch {args.batch}, styles {', '.join(STYLES)}\n")
    print("| image size | batch render [images/s] | batch, no noise [images/s] "
          "| per-item `__getitem__` [images/s] |")
    print("|---:|---:|---:|---:|")
    for size in (32, 64, 128):
        n = max(args.batch, args.images // (size // 32) ** 2)
        rates = []
        for noise in (0.02, 0.0):
            world = ShapesWorld(size=n, image_size=size, styles=STYLES, noise_std=noise,
                                cache=False)  # time the renderer, not the memory

            def batched(world: ShapesWorld = world, n: int = n) -> None:
                for i in range(0, n, args.batch):
                    world.render_indices(torch.arange(i, min(i + args.batch, n)))

            rates.append(rate(batched, n, args.repeats))

        def items(n: int = n, size: int = size) -> None:
            world = ShapesWorld(size=n, image_size=size, styles=STYLES)  # a fresh, empty cache
            for i in range(n):
                world[i]

        rates.append(rate(items, n, args.repeats))
        print(f"| {size} | " + " | ".join(f"{r:,.0f}" for r in rates) + " |")


if __name__ == "__main__":
    main()
