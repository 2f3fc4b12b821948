"""Bytes per image of the dekag link against classical image codecs, at matched consistency.

The link sends the prompt's UTF-8 bytes and K_r symbols at the constellation's bits per symbol.
The classical alternatives send the image itself: PNG (lossless) and JPEG. JPEG is measured at
quality 75 (the bytes check's reference point, :data:`JPEG_QUALITY`) and over a sweep of
qualities, so the report can also state the bytes JPEG needs to reach a given consistency to
the cloud (its rate–consistency curve). Records: ``reference`` (label), ``bytes``,
``prompt_bytes``, ``psnr`` [dB] and ``ssim`` against the edge image (the aligned edge's VAE decode
of the sent latent, the codec's reference), ``latent_psnr`` [dB] (the image encoded by the edge
VAE against the sent latent, as the codec's: it includes the VAE's own encode–decode error, which
the edge PNG row shows), for JPEG ``quality`` and ``scan_bytes`` (the entropy-coded data without
the tables and headers), and the consistency scorer's fields (docs/dekag-cala.md, Metrics).
:func:`quality_vs_bytes_figure` draws the codecs and JPEG against bytes.

The report's bytes claim (:mod:`.claims`) holds CALA against JPEG q75; the rate-matched
reading (:func:`bytes_notes`) carries no verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from semdistill.figures import Panel, panel_figure
from semdistill.generative.edge import EdgeLDM
from semdistill.generative.link import JPEG_QUALITY, jpeg_roundtrip, jpeg_scan_bytes, png_sizes
from semdistill.metrics.consistency import ConsistencyScorer
from semdistill.metrics.image import latent_psnr, psnr, ssim
from semdistill.results import Results


def jpeg_label(source: str, quality: int) -> str:
    """``"edge image, JPEG q75"``-style reference label."""
    return f"{source}, JPEG q{quality}"


@torch.no_grad()
def reference_records(edge: EdgeLDM, data: Mapping[str, Any], scorer: ConsistencyScorer | None,
                      results: Results, qualities: Sequence[int] = (JPEG_QUALITY,),
                      seed: int = 0) -> None:
    """Bytes, image and latent quality and consistency of PNG, of JPEG q75 and a JPEG quality
    sweep, and the references.

    ``data``: ``test`` latents ``(N, C, h, w)``, ``cloud_test`` images ``(N, 3, H, W)``,
    ``test_prompts`` (N strings) and optionally ``unaligned_test`` latents; each record holds
    ``seed`` (the run's, whose prompts and edge samples these are).
    """
    z, cloud = data["test"], data["cloud_test"]
    edge_img = edge.decode_latents(z).cpu()
    prompts = data["test_prompts"]
    mean_prompt = sum(len(p.encode()) for p in prompts) / len(prompts)
    rows: dict[str, tuple[torch.Tensor, list[int], dict[str, Any]]] = {
        "edge image, PNG": (edge_img, png_sizes(edge_img), {}),
        "cloud image, PNG": (cloud, png_sizes(cloud), {})}
    jpegs = [("edge image", edge_img, q) for q in sorted({*qualities, JPEG_QUALITY})]
    for source, imgs, q in [*jpegs, ("cloud image", cloud, JPEG_QUALITY)]:
        dec, files = jpeg_roundtrip(imgs, q)
        scan = sum(jpeg_scan_bytes(f) for f in files) / len(files)
        rows[jpeg_label(source, q)] = (dec, [len(f) for f in files],
                                       {"quality": q, "scan_bytes": scan})
    if data.get("unaligned_test") is not None and len(data["unaligned_test"]):
        un = edge.decode_latents(data["unaligned_test"]).cpu()
        rows["unaligned edge image (no G-KA), error-free"] = (un, [0] * len(un), {})
    for label, (imgs, sizes, extra) in rows.items():
        rec = {"reference": label, "seed": seed, "bytes": sum(sizes) / len(sizes),
               "prompt_bytes": mean_prompt, "psnr": float(psnr(imgs, edge_img).mean()),
               "ssim": float(ssim(imgs, edge_img).mean()),
               "latent_psnr": float(latent_psnr(edge.encode_images(imgs).cpu(), z.cpu()).mean()),
               **extra}
        if scorer is not None:
            rec.update(scorer.score(imgs, cloud))
        results.add(**rec)


def jpeg_curve(refs: Results, metric: str | None = "consistency") -> list[dict[str, Any]]:
    """The edge image's JPEG records that carry ``metric`` (None: all), by increasing
    quality."""
    recs = [r for r in refs.records if (metric is None or metric in r) and "quality" in r
            and r["reference"] == jpeg_label("edge image", r["quality"])]
    return sorted(recs, key=lambda r: r["quality"])


def _with_consistency(grid: Results, method: str) -> list[dict[str, Any]]:
    """The grid records of ``method`` that carry a consistency."""
    return [r for r in grid.select(method=method) if "consistency" in r]


def bytes_notes(grid: Results, refs: Results) -> list[str]:
    """The report's lines on bytes without a verdict: that no consistency metric ran, or the
    rate-matched reading (the bytes JPEG of the edge image needs, over the quality sweep, to
    reach CALA's best consistency)."""
    if not any("consistency" in r for r in grid.records):
        return ["bytes vs JPEG: no consistency metric configured"]
    cala = _with_consistency(grid, "cala")
    if not cala:
        return []
    return _rate_matched(max(cala, key=lambda r: r["consistency"]), jpeg_curve(refs))


def _rate_matched(best: dict[str, Any], curve: list[dict[str, Any]]) -> list[str]:
    """JPEG's bytes at CALA's best consistency (no verdict: the check above is the q75 one)."""
    if len(curve) < 2:
        return []
    head = (f"rate-matched reading (no verdict): CALA's best consistency {best['consistency']:.4f}"
            f" costs {best['bytes']:.1f} B/image; ")
    reach = [r for r in curve if r["consistency"] >= best["consistency"]]
    if not reach:
        top = curve[-1]
        return [head + f"JPEG of the edge image stays below it up to q{top['quality']} "
                f"({top['consistency']:.4f} at {top['bytes']:.1f} B/image)"]
    r = min(reach, key=lambda x: x["bytes"])
    return [head + f"JPEG of the edge image first reaches it at q{r['quality']} "
            f"({r['consistency']:.4f} at {r['bytes']:.1f} B/image, "
            f"{r['bytes'] / best['bytes']:.1f}× CALA's bytes; its entropy-coded data alone, "
            f"without tables and headers, {r['scan_bytes']:.1f} B/image); its smallest file "
            f"(q{curve[0]['quality']}) is {min(x['bytes'] for x in curve):.1f} B/image"]


#: the panels of :func:`quality_vs_bytes_figure`: (metric, what it is measured against).
QUALITY_PANELS = (("latent_psnr", "latent, against the sent latent"),
                  ("psnr", "user image, against the edge image"),
                  ("ssim", "user image, against the edge image"),
                  ("consistency", "user image, to the cloud's images"))


def quality_vs_bytes_figure(grid: Results, refs: Results, channel: str) -> Any:
    """Latent PSNR, image PSNR, SSIM and consistency (one panel each, shared log x) against
    bytes per image: each method at the grid's highest SNR (one point per rate, prompt
    included) over ``channel`` (its description), and JPEG of the edge image over its quality
    sweep (method ``jpeg``, file bytes). A metric no record has gets no panel (no
    consistency configured; JPEG records of runs made before they carried SSIM and latent
    PSNR leave JPEG out of those panels). Returns the figure."""
    top = max(r["snr_db"] for r in grid.records)
    metrics = [m for m, _ in QUALITY_PANELS]
    pts = Results(grid.system, "quality-vs-bytes")
    for r in grid.select(snr_db=top):
        pts.add(method=r["method"], bytes=r["bytes"], **{m: r[m] for m in metrics if m in r})
    for r in jpeg_curve(refs, None):
        pts.add(method="jpeg", bytes=r["bytes"], **{m: r[m] for m in metrics if m in r})
    panels = [Panel(pts, title=what, y=m) for m, what in QUALITY_PANELS
              if any(m in r for r in pts.records)]
    return panel_figure(panels, "bytes", "psnr", logx=True,  # every panel names its y
                        title=f"quality vs bytes per image: link at {top:g} dB over {channel}; "
                              "JPEG of the edge image over its quality sweep (error-free)")
