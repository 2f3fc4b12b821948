"""Throughput of the digital baseline's chain vs the latent JSCC codec on the CPU, in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/digital_speed.py [--images 32] [--repeats 3]

Digital: 32-px shapes images → WebP q50 → 5G LDPC (n = 576, BP 10 and 20 iterations) → 16-QAM
→ Rayleigh block fading (J = 4, dispersion, MMSE) at 10 dB in frames of 1024 channel uses →
exact LLRs → BP → WebP decode; with 64-QAM too. Latent codec: the default ``LatentJSCC``
(4×8×8 latents, K = 128 16-QAM symbols per image) forward over the same channel. Both on a
batch of ``--images``; "bits/s" is payload bits delivered per second (digital: file bits;
codec: K·log2(M) symbol bits). Median wall time of ``--repeats`` calls. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from semdistill.channels.config import ChannelConfig
from semdistill.data import DatasetSpec
from semdistill.digital import MCS, DigitalChain, get_codec
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig

CHANNEL = ChannelConfig(name="rayleigh_block", num_blocks=4, correlation="dispersion",
                        omega=0.05, equalizer="mmse")


def _median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def bench(images: int, repeats: int) -> list[dict[str, object]]:
    x, _ = DatasetSpec(test_size=images).build("test").render_indices(torch.arange(images))
    codec = get_codec("webp")
    rows = []
    for modulation, iterations in (("16qam", 10), ("16qam", 20), ("64qam", 10)):
        chain = DigitalChain(CHANNEL, MCS("1/2", modulation, 576), iterations)

        def send(chain: DigitalChain = chain) -> int:
            files = [codec.encode(img, 50) for img in x]
            tx = chain.transmit(files, 1024, 10.0, torch.Generator().manual_seed(0))
            for f in tx.payloads:
                if f is not None:
                    codec.decode(f, (32, 32))
            return sum(8 * len(f) for f in files)

        bits = send()
        t = _median_seconds(send, repeats)
        rows.append({"chain": f"WebP q50 + LDPC R=1/2 ({iterations} it) + {modulation}",
                     "images/s": images / t, "kbit/s": bits / t / 1e3})
    torch.manual_seed(0)
    base = LatentJSCC((4, 8, 8), LatentJSCCConfig(channel=CHANNEL)).eval()
    z = torch.randn(images, 4, 8, 8)
    r = torch.full((images,), base.num_rates - 1)
    s = torch.full((images,), 10.0)
    with torch.no_grad():
        t = _median_seconds(lambda: base(z, r, s), repeats)
    bits = images * base.rates[-1] * base.bits_per_symbol
    rows.append({"chain": f"latent JSCC, K = {base.rates[-1]} 16-QAM symbols (no VAE)",
                 "images/s": images / t, "kbit/s": bits / t / 1e3})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"machine: {platform.processor() or platform.machine()}, 1 thread, "
          f"torch {torch.__version__}")
    print("| chain | images/s | kbit/s |\n|---|---:|---:|")
    for row in bench(args.images, args.repeats):
        print(f"| {row['chain']} | {row['images/s']:,.1f} | {row['kbit/s']:,.1f} |")


if __name__ == "__main__":
    main()
