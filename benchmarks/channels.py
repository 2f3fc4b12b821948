"""Throughput of the channel models against a plain memory copy of the same bytes.

    python benchmarks/channels.py                      # CPU, and CUDA when available
    python benchmarks/channels.py --device cpu --symbols 4194304 --repeats 5 --json out.json

For each device, the input is ``(B, K)`` complex64 (``K = --row`` symbols per sample) and every
operation runs forward under ``torch.no_grad``. The reference is ``dst.copy_(src)`` of the same
``8 · symbols`` bytes, timed in the same run; "x copy" = operation time / copy time. Reported
times are medians over ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from semdistill.channels import AWGN, ExponentialCorrelation, Link, RayleighBlock


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_op(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall time of ``fn()`` in seconds (one warm-up call first)."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def bench_device(device: torch.device, symbols: int, row: int, repeats: int) -> list[dict]:
    """Time copy, AWGN, Rayleigh block fading (J=16, ρ=0.9) and the full Link on ``device``."""
    batch = max(1, symbols // row)
    n = batch * row
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch, row, dtype=torch.complex64, device=device, generator=gen)
    dst = torch.empty_like(x)
    snr = torch.full((batch,), 10.0, device=device)
    awgn = AWGN()
    block = RayleighBlock(16, ExponentialCorrelation(0.9))
    link = Link(RayleighBlock(16, ExponentialCorrelation(0.9)), equalizer="mmse")
    ops: dict[str, Callable[[], object]] = {
        "copy (reference)": lambda: dst.copy_(x),
        "AWGN": lambda: awgn(x, snr, generator=gen),
        "Rayleigh block J=16, exp. corr.": lambda: block(x, snr, generator=gen),
        "Link (normalize, block J=16, MMSE)": lambda: link(x, snr, generator=gen),
    }
    rows = []
    copy_time = None
    for name, fn in ops.items():
        t = time_op(fn, device, repeats)
        copy_time = t if copy_time is None else copy_time
        rows.append(
            {
                "device": str(device),
                "op": name,
                "symbols": n,
                "median_s": t,
                "symbols_per_s": n / t,
                "gbytes_per_s": 8 * n / t / 1e9,
                "x_copy": t / copy_time,
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| device | operation | symbols | median [ms] | Msymbols/s | input GB/s | x copy |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['device']} | {r['op']} | {r['symbols']:,} | {1e3 * r['median_s']:.2f} | "
            f"{r['symbols_per_s'] / 1e6:,.1f} | {r['gbytes_per_s']:.2f} | {r['x_copy']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=None, help="default 2**22 CPU, 2**28 CUDA")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--row", type=int, default=1024, help="symbols per sample (K)")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = []
    if args.device in ("all", "cpu"):
        devices.append(torch.device("cpu"))
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append(torch.device("cuda"))
        elif args.device == "cuda":
            parser.error("CUDA is not available")
    rows: list[dict] = []
    for dev in devices:
        symbols = args.symbols or (2**28 if dev.type == "cuda" else 2**22)
        rows += bench_device(dev, symbols, args.row, args.repeats)
    env = {
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    print(f"torch {env['torch']}, {env['cpu_threads']} CPU threads, GPU: {env['gpu']}\n")
    print(markdown(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"env": env, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
