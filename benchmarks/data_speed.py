"""Shapes-world rendering speed (images/s) on ONE CPU core, at 32, 64 and 128 px.

    python benchmarks/data_speed.py [--images 20000] [--batch 512]

The world is rendered in batches through ``ShapesWorld.render_indices`` (what trainers call);
the same run also times the per-item ``Dataset.__getitem__`` path (a DataLoader's path).
"""

from __future__ import annotations

import argparse
import time

import torch

from semdistill.data import ShapesWorld


def rate(fn, n: int) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print("| image size | batch render [images/s] | per-item __getitem__ [images/s] |")
    print("|---:|---:|---:|")
    for size in (32, 64, 128):
        n = args.images if size == 32 else args.images // (size // 32) ** 2
        world = ShapesWorld(size=n, image_size=size, styles=("flat", "outlined", "textured"))

        def batched(world=world, n=n):
            for i in range(0, n, args.batch):
                world.render_indices(torch.arange(i, min(i + args.batch, n)))

        def items(world=world, n=n):
            for i in range(n):
                world[i]

        print(f"| {size} | {rate(batched, n):,.0f} | {rate(items, n):,.0f} |")


if __name__ == "__main__":
    main()
