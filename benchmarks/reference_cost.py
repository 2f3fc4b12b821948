"""What the image-codec references of a dekag run cost, and the part their quality metrics add.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/reference_cost.py runs/<dekag run>

Reads the run's config and cached datasets (nothing is trained or generated), times
``bytes.reference_records`` (PNG, JPEG q75 and the quality sweep, with consistency), then the
metrics the references share with the codec alone: SSIM against the edge image and the latent
PSNR of each reference image encoded by the edge VAE. Prints both in seconds and each
reference's figures. Writes nothing.
"""

from __future__ import annotations

import argparse
import time

import torch

from semdistill.experiments.dekag.bytes import reference_records
from semdistill.experiments.dekag.data import require_datasets
from semdistill.experiments.registry import load_config
from semdistill.experiments.rundir import RunDir
from semdistill.generative.edge import load_edge
from semdistill.generative.link import JPEG_QUALITY, jpeg_roundtrip
from semdistill.metrics.consistency import consistency_scorer
from semdistill.metrics.image import latent_psnr, ssim
from semdistill.results import Results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="a finished dekag run directory")
    args = ap.parse_args()
    rd = RunDir.open(args.run)
    _, cfg = load_config(rd.config_data())
    data = require_datasets(rd)
    edge = load_edge(cfg.edge)
    scorer = consistency_scorer(cfg.metrics, cfg.edge.device)
    refs = Results("dekag", "dekag-bytes")
    t0 = time.perf_counter()
    reference_records(edge, data, scorer, refs, cfg.eval.jpeg_qualities, cfg.seed)
    total = time.perf_counter() - t0
    z = data["test"]
    edge_img = edge.decode_latents(z).cpu()
    rows = [edge_img, data["cloud_test"]]
    if data.get("unaligned_test") is not None and len(data["unaligned_test"]):
        rows.append(edge.decode_latents(data["unaligned_test"]).cpu())
    rows += [jpeg_roundtrip(edge_img, q)[0]
             for q in sorted({*cfg.eval.jpeg_qualities, JPEG_QUALITY})]
    rows.append(jpeg_roundtrip(data["cloud_test"], JPEG_QUALITY)[0])
    t1 = time.perf_counter()
    for imgs in rows:
        ssim(imgs, edge_img).mean()
        latent_psnr(edge.encode_images(imgs).cpu(), z.cpu()).mean()
    added = time.perf_counter() - t1
    print(f"{len(z)} test images {tuple(edge_img.shape[1:])}, latents {tuple(z.shape[1:])}, "
          f"{len(rows)} references, {torch.get_num_threads()} thread(s)")
    print(f"reference_records: {total:.2f} s, of which SSIM + latent PSNR: {added:.2f} s")
    print("| reference | bytes | PSNR [dB] | SSIM | latent PSNR [dB] | consistency |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in refs.records:
        print(f"| {r['reference']} | {r['bytes']:.1f} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
              f"{r['latent_psnr']:.2f} | {r.get('consistency', float('nan')):.4f} |")


if __name__ == "__main__":
    main()
