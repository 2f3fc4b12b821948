"""CALA inference overhead: base codec vs CALA-gated vs CALA-merged, CPU and GPU in one run.

    .venv/bin/python benchmarks/cala_speed.py [--batch 256] [--seconds 0.5] [--threads 1]

Times one full codec forward (encoder → 16-QAM → Rayleigh block fading + MMSE → decoder) of the
default ``LatentJSCC`` (4×8×8 latents, ~1M parameters) on a batch with mixed conditions for the
gated model and a fixed condition for the merged one. Targets: gated ≤ 1.3× base, merged
≤ 1.05× base. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse

import torch

from semdistill.metrics.complexity import latency_ms
from semdistill.models.cala import CALAConfig, build_cala
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig


def bench(device: torch.device, batch: int, seconds: float, threads: int
          ) -> list[dict[str, object]]:
    torch.manual_seed(0)
    base = LatentJSCC((4, 8, 8), LatentJSCCConfig()).to(device).eval()
    cala = build_cala(base, CALAConfig(), base.num_rates).to(device).eval()
    for layer in cala.adapters.values():
        torch.nn.init.normal_(layer.lora_B, std=0.01)
    z = torch.randn(batch, 4, 8, 8, device=device)
    r = torch.full((batch,), base.num_rates - 1, device=device)
    s = torch.full((batch,), 10.0, device=device)
    r_mixed = torch.randint(0, base.num_rates, (batch,), device=device)
    s_mixed = torch.rand(batch, device=device) * 25 - 5

    def _time(fn) -> float:  # seconds per call, median (torch.utils.benchmark)
        return latency_ms(fn, threads=threads, min_run_time=seconds) / 1e3

    rows = []
    t_base = _time(lambda: base(z, r, s))
    t_gated = _time(lambda: cala(z, r, s))
    t_gated_mixed = _time(lambda: cala(z, r_mixed, s_mixed))
    t_base_mixed = _time(lambda: base(z, r_mixed, s_mixed))
    cala.merge(base.num_rates - 1, 10.0)
    t_merged = _time(lambda: cala(z, r, s))
    cala.unmerge()
    for name, t, ref in (("base", t_base, t_base), ("CALA gated", t_gated, t_base),
                         ("CALA merged", t_merged, t_base),
                         ("base (mixed rates)", t_base_mixed, t_base_mixed),
                         ("CALA gated (mixed rates)", t_gated_mixed, t_base_mixed)):
        rows.append({"device": device.type, "model": name, "ms": t * 1e3,
                     "images/s": batch / t, "x base": t / ref})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=0.5, help="least time timing each model")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads")
    args = ap.parse_args()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    rows = [row for d in devices for row in bench(d, args.batch, args.seconds, args.threads)]
    print(f"batch {args.batch}, median of torch.utils.benchmark blocks over >= {args.seconds} s, "
          f"CPU threads {args.threads}")
    print("| device | model | ms / batch | images/s | × base |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['device']} | {r['model']} | {r['ms']:.2f} | {r['images/s']:.0f} | "
              f"{r['x base']:.3f} |")


if __name__ == "__main__":
    main()
