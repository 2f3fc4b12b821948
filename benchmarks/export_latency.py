"""Transmitter/receiver latency in PyTorch against ONNX Runtime, side by side in one run.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/export_latency.py [--threads 1] [--batch 1]

The parts of the shipped configs' sizes, with fresh weights (latency does not depend on them):
the LTSC student of ``configs/ltsc/shapes.yaml`` (32 px) and the latent JSCC codec and its CALA
adaptation of ``configs/dekag/shapes.yaml`` (4×8×8 latents, 128 symbols, 16-QAM; CALA experts
non-zero). Each part is exported with ``semdistill.deploy`` (checked against PyTorch), then
both runtimes are timed by ``semdistill.metrics.complexity.latency_ms`` (torch.utils.benchmark,
blocked_autorange) at the same thread count. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from semdistill.deploy.onnx_export import export_part, ort_latency_ms, session, verify
from semdistill.deploy.parts import Part, codec_parts, task_parts
from semdistill.experiments.ltsc.train import build_student
from semdistill.experiments.registry import load_config_file
from semdistill.metrics.complexity import latency_ms
from semdistill.models.cala import build_cala
from semdistill.models.latent_jscc import LatentJSCC

ROOT = Path(__file__).resolve().parents[1]


def shipped_parts() -> list[Part]:
    """The LTSC student's and the DeKA-g codecs' parts at the shipped configs' sizes."""
    _, ltsc = load_config_file(ROOT / "configs" / "ltsc" / "shapes.yaml")
    classes = ltsc.data.num_classes
    student = build_student(ltsc, classes, True).eval()
    _, dekag = load_config_file(ROOT / "configs" / "dekag" / "shapes.yaml")
    torch.manual_seed(0)
    codec = LatentJSCC((4, 8, 8), dekag.codec).eval()
    cala = build_cala(codec, dekag.adapters.cala, codec.num_rates).eval()
    for layer in cala.adapters.values():
        torch.nn.init.normal_(layer.lora_B, std=0.01)
    return (task_parts(student, ltsc.data.image_size, classes, "ltsc")
            + codec_parts(codec, "base") + codec_parts(cala, "cala"))


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (both runtimes)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=0.5, help="least time timing each part")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for part in shipped_parts():
            sess = session(export_part(part, Path(tmp) / f"{part.name}.onnx"), args.threads)
            check = verify(part, sess)
            x = part.example(args.batch)
            t_torch = latency_ms(lambda p=part, x=x: p.module(*x), threads=args.threads,
                                 min_run_time=args.seconds)
            t_ort = ort_latency_ms(part, sess, args.threads, args.batch, args.seconds)
            rows.append((part.name, t_torch, t_ort, check["max_abs_error"]))
    print(f"batch {args.batch}, {args.threads} CPU thread(s), median of torch.utils.benchmark "
          f"blocks over >= {args.seconds} s each, torch {torch.__version__}")
    print("| part | PyTorch ms | ONNX Runtime ms | PyTorch / ORT | max abs error |\n"
          "|---|---:|---:|---:|---:|")
    for name, t, o, err in rows:
        print(f"| {name} | {t:.3f} | {o:.3f} | {t / o:.1f}x | {err:.1e} |")


if __name__ == "__main__":
    main()
