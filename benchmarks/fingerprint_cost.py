"""What the base fingerprints cost: the shipped edge (MAKD deliverables) and the codec (CALA files).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fingerprint_cost.py [--repeats 20]

Times ``EdgeLDM.fingerprint`` on the shipped edge (its cache cleared before each call, so every
call hashes the ~13 MB of the UNet, text encoder and VAE) and ``CALAModel.base_identity`` on the
CALA adaptation of ``configs/dekag/shapes.yaml``'s codec (fresh weights: the cost does not depend
on them). Prints the median and the range in ms, and the bytes hashed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from semdistill.experiments.registry import load_config_file
from semdistill.generative.edge import base_tensors, load_default_edge
from semdistill.models.cala import build_cala
from semdistill.models.latent_jscc import LatentJSCC

ROOT = Path(__file__).resolve().parents[1]


def times_ms(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def nbytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    edge = load_default_edge()

    def edge_fp() -> str:
        edge._fingerprint = None  # measure the hash, not the cache
        return edge.fingerprint()

    _, dekag = load_config_file(ROOT / "configs" / "dekag" / "shapes.yaml")
    torch.manual_seed(0)
    codec = LatentJSCC((4, 8, 8), dekag.codec)
    cala = build_cala(codec, dekag.adapters.cala, codec.num_rates)
    print(f"torch threads: {torch.get_num_threads()}, repeats: {args.repeats}")
    print("| what | MB hashed | median [ms] | min–max [ms] |\n|---|---:|---:|---:|")
    for name, fn, mb in (
            ("shipped edge (`EdgeLDM.fingerprint`)", edge_fp, nbytes(base_tensors(edge)) / 1e6),
            ("dekag codec (`CALAModel.base_identity`)", cala.base_identity,
             nbytes(cala.base_state_dict()) / 1e6)):
        ms = times_ms(fn, args.repeats)
        print(f"| {name} | {mb:.2f} | {statistics.median(ms):.1f} | {min(ms):.1f}–{max(ms):.1f} |")
    print(f"codec: {cala.base_identity()[1]}")


if __name__ == "__main__":
    main()
