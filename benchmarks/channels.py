"""Throughput of the channel models against a plain memory copy of the same bytes.

    python benchmarks/channels.py                      # CPU, and CUDA when available
    python benchmarks/channels.py --device cpu --symbols 4194304 --repeats 5 --json out.json

For each device, the input is ``(B, K)`` complex64 (``K = --row`` symbols per sample) and every
operation runs forward under ``torch.no_grad``. The reference is ``dst.copy_(src)`` of the same
``8 · symbols`` bytes, timed in the same run; "x copy" = operation time / copy time. Reported
times are medians over ``--repeats`` rounds after one warm-up round; the operations are
interleaved within each round. "x Sionna" is relative to Sionna's ``AWGN`` in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from semdistill.channels import AWGN, ChannelConfig, ExponentialCorrelation, Link, RayleighBlock


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ops(
    ops: dict[str, Callable[[], object]], device: torch.device, repeats: int
) -> dict[str, float]:
    """Median wall time of each ``fn()`` in seconds, the ops interleaved round by round (one
    warm-up round first), so that load from other processes falls on every op alike."""
    times: dict[str, list[float]] = {name: [] for name in ops}
    for round_ in range(repeats + 1):
        for name, fn in ops.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


@torch.no_grad()
def bench_device(device: torch.device, symbols: int, row: int, repeats: int) -> list[dict]:
    """Time a copy, plain noise, Sionna's AWGN, our channels and Links on ``device``.

    All at Es/N0 = 10 dB per sample. "x copy" is relative to ``dst.copy_(src)``, "x Sionna" to
    Sionna's ``AWGN`` on the same input (absent without Sionna).
    """
    batch = max(1, symbols // row)
    n = batch * row
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch, row, dtype=torch.complex64, device=device, generator=gen)
    dst = torch.empty_like(x)
    snr = torch.full((batch,), 10.0, device=device)
    no = 10 ** (-snr / 10)
    sigma = no.sqrt().unsqueeze(-1)
    awgn = AWGN()
    block = RayleighBlock(16, ExponentialCorrelation(0.9))
    link_awgn = Link.from_config(ChannelConfig(name="awgn"))
    link_awgn_raw = Link.from_config(ChannelConfig(name="awgn"), normalize=False)
    link = Link(RayleighBlock(16, ExponentialCorrelation(0.9)), equalizer="mmse")
    ops: dict[str, Callable[[], object]] = {
        "copy (reference)": lambda: dst.copy_(x),
        "plain x + σ·randn_like(x)": lambda: x + sigma * torch.randn_like(x),
    }
    if importlib.util.find_spec("sionna") is not None:
        from sionna.phy.channel import AWGN as SionnaAWGN

        sionna_awgn = SionnaAWGN(device=str(device))
        ops["Sionna AWGN"] = lambda: sionna_awgn(x, no)
    ops.update({
        "AWGN": lambda: awgn(x, snr, generator=gen),
        "Link.from_config(awgn) (normalize → AWGN → MMSE)": lambda: link_awgn(
            x, snr, generator=gen
        ),
        "Link.from_config(awgn, normalize=False)": lambda: link_awgn_raw(x, snr, generator=gen),
        "Rayleigh block J=16, exp. corr.": lambda: block(x, snr, generator=gen),
        "Link (normalize, block J=16, MMSE)": lambda: link(x, snr, generator=gen),
    })
    medians = time_ops(ops, device, repeats)
    copy_time = medians["copy (reference)"]
    sionna_time = medians.get("Sionna AWGN")
    return [
        {
            "device": str(device),
            "op": name,
            "symbols": n,
            "median_s": t,
            "symbols_per_s": n / t,
            "gbytes_per_s": 8 * n / t / 1e9,
            "x_copy": t / copy_time,
            "x_sionna": t / sionna_time if sionna_time else None,
        }
        for name, t in medians.items()
    ]


def markdown(rows: list[dict]) -> str:
    lines = [
        "| device | operation | symbols | median [ms] | Msymbols/s | input GB/s | x copy | x Sionna |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['device']} | {r['op']} | {r['symbols']:,} | {1e3 * r['median_s']:.2f} | "
            f"{r['symbols_per_s'] / 1e6:,.1f} | {r['gbytes_per_s']:.2f} | {r['x_copy']:.1f} | "
            f"{'—' if r['x_sionna'] is None else format(r['x_sionna'], '.2f')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=None, help="default 2**22 CPU, 2**28 CUDA")
    parser.add_argument("--repeats", type=int, default=15)
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
