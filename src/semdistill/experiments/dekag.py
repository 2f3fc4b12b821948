"""System ``dekag``: transmission alignment (CALA) and the cloud → edge → user link of DeKA-g.

One ``semdistill run configs/dekag/shapes.yaml`` does, in its run directory:

1. data: the cloud (shapes renderer) draws a held-out subject; the *unaligned* edge LDM
   generates latents for general world prompts; the edge is then MAKD-aligned to the subject
   (a deliverable file, or a short distillation run here) and generates the subject's latents;
2. the base latent JSCC codec is trained on the unaligned latents at one nominal condition
   (highest rate, ``nominal_snr_db``): the no-alignment baseline;
3. shared LoRA, VGSA, CALA and full fine-tuning adapt the frozen base codec on the aligned
   latents with a random (rate, SNR) per sample, all with the same training budget;
4. every method is evaluated over rates × SNR on held-out prompts (common channel draws):
   latent and image PSNR, SSIM, consistency of the user's images to the cloud's images, and
   the bytes per image against PNG and JPEG (quality 75, and a quality sweep);
5. ``results/*.json``, plots, sample grids and ``report.md`` with the required-results checks.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from pydantic import Field
from safetensors.torch import load_file, save_file
from torch import nn

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRdB, SNRRange, StrictModel, TrainConfig
from semdistill.engine import Trainer, batch_indices
from semdistill.experiments.dekag_bytes import (
    bytes_check,
    plot_consistency_vs_bytes,
    reference_records,
)
from semdistill.experiments.registry import ExperimentConfig, register_experiment
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir
from semdistill.figures import plot_metric, save_figure, save_image_grid
from semdistill.generative.deliverable import MAKDDeliverable
from semdistill.generative.edge import EdgeLDM, EdgeSpec, load_edge
from semdistill.generative.generators import GeneratorConfig, build_generator
from semdistill.generative.link import GenerativeLink, link_bytes
from semdistill.generative.makd import MAKDConfig, align, edge_prompts
from semdistill.metrics.consistency import ConsistencyScorer, MetricSpec, consistency_scorer
from semdistill.metrics.image import latent_psnr, psnr, ssim
from semdistill.models.cala import CALAConfig, CALAModel, build_cala, build_shared_lora
from semdistill.models.latent_jscc import LatentJSCC, LatentJSCCConfig, jscc_loss
from semdistill.models.vgsa import build_vgsa, snr_group_edges
from semdistill.registry import Registry
from semdistill.results import Results
from semdistill.utils.seeds import derive_seed, derive_seeds

#: evaluation order and display names of the methods.
METHOD_LABELS = {"base": "base (no alignment)", "shared_lora": "shared LoRA", "vgsa": "VGSA",
                 "cala": "CALA", "full_ft": "full fine-tuning"}


# ---- config --------------------------------------------------------------------------------
class AlignmentSpec(StrictModel):
    """How the edge is aligned to the subject (G-KA) before the codec is adapted.

    ``deliverable``: a MAKD deliverable file (or a ``makd`` run dir holding ``*.safetensors``
    deliverables); empty runs MAKD here with ``steps`` on ``teacher_images`` cloud images.
    """

    deliverable: str = ""
    method: str = "makd"
    steps: int = Field(100, ge=1)
    teacher_images: int = Field(32, ge=1)
    makd: MAKDConfig = Field(default_factory=MAKDConfig)


class DataSpec(StrictModel):
    """Prompts and sizes of the latent datasets."""

    subject: dict[str, str] = Field(default_factory=lambda: {"shape": "triangle", "color": "red"})
    world_seed: int = Field(0, ge=0)
    base_prompts: int = Field(512, ge=1, description="general prompts, unaligned edge (base)")
    train_prompts: int = Field(512, ge=1, description="subject prompts, aligned edge (adapters)")
    test_prompts: int = Field(128, ge=1, description="held-out subject prompts (evaluation)")
    gen_steps: int | None = Field(None, ge=1, description="sampler steps for the datasets")


class AdapterSpec(StrictModel):
    """The adaptation methods and their sizes (trained with equal budgets)."""

    methods: list[Literal["shared_lora", "vgsa", "cala", "full_ft"]] = Field(
        default_factory=lambda: ["shared_lora", "vgsa", "cala", "full_ft"])
    cala: CALAConfig = Field(default_factory=CALAConfig)
    shared_rank: int | None = Field(None, ge=1,
                                    description="default: E·r (CALA's expert parameters)")
    vgsa_groups: int = Field(4, ge=1, description="SNR groups (one LoRA of rank r each)")
    snr: SNRRange = Field(default_factory=SNRRange)


class EvalSpec(StrictModel):
    """The condition grid and the references."""

    snr_db: list[SNRdB] = Field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    nominal_snr_db: SNRdB = 10.0
    low_snr_db: SNRdB = Field(0.0, description="'low SNR' = conditions at or below this")
    batch_size: int = Field(256, ge=1)
    grid_images: int = Field(8, ge=1)
    jpeg_qualities: list[Annotated[int, Field(ge=1, le=95)]] = Field(
        default_factory=lambda: [5, 10, 20, 30, 50, 75, 90],
        description="JPEG qualities of the edge image's rate-consistency curve (q75 always)")
    min_gain_db: float = 6.5
    max_fraction: float = 0.05


class DekagConfig(ExperimentConfig):
    """The ``dekag`` system's config."""

    system: Literal["dekag"] = "dekag"
    edge: EdgeSpec = Field(default_factory=EdgeSpec)
    cloud: GeneratorConfig = Field(default_factory=lambda: GeneratorConfig(kind="shapes",
                                                                           style="textured"))
    alignment: AlignmentSpec = Field(default_factory=AlignmentSpec)
    data: DataSpec = Field(default_factory=DataSpec)
    codec: LatentJSCCConfig = Field(default_factory=LatentJSCCConfig)
    adapters: AdapterSpec = Field(default_factory=AdapterSpec)
    base_train: TrainConfig = Field(default_factory=lambda: TrainConfig(
        steps=600, batch_size=64, lr=2e-3, log_every=50, checkpoint_every=300))
    adapt_train: TrainConfig = Field(default_factory=lambda: TrainConfig(
        steps=600, batch_size=64, lr=3e-3, log_every=50, checkpoint_every=300))
    eval: EvalSpec = Field(default_factory=EvalSpec)
    metrics: MetricSpec = Field(default_factory=MetricSpec)


# ---- data ----------------------------------------------------------------------------------
def _general_prompts(n: int, seed: int, image_size: int) -> list[str]:
    """Captions of the world's train split: what the unaligned edge is asked for."""
    from semdistill.data import ShapesWorld

    world = ShapesWorld(split="train", size=n, image_size=image_size, seed=seed)
    return [world[i]["caption"] for i in range(n)]


def resolve_deliverable(path: str) -> Path:
    """A deliverable file, or the first deliverable file inside a (makd) run directory."""
    p = Path(path).expanduser()
    if p.is_dir():
        found = sorted(p.rglob("*.safetensors"))
        for f in found:
            try:
                MAKDDeliverable.load(f)
                return f
            except Exception:  # noqa: BLE001 - other safetensors files (checkpoints) are skipped
                continue
        from semdistill.generative.errors import AlignmentError

        raise AlignmentError(f"no MAKD deliverable (*.safetensors) under {p}; run "
                             "`semdistill run configs/dekag/makd-shapes.yaml` or set "
                             "alignment.deliverable to a file")
    return p


def build_datasets(cfg: DekagConfig, run_dir: RunDir) -> dict[str, Any]:
    """Latents of the unaligned and aligned edge + the cloud's test images (cached in run_dir).

    Returns ``{"base": (N0, C, h, w), "train": (N1, ...), "test": (N2, ...),
    "cloud_test": (N2, 3, H, W), "test_prompts": [...], "deliverable": {...}}``.
    """
    from semdistill.data.world.samples import subject_prompts

    cache = run_dir.path / "data" / "datasets.safetensors"
    meta_path = run_dir.path / "data" / "datasets.json"
    d = cfg.data
    test_p = subject_prompts(d.subject, d.test_prompts, "test", d.world_seed,
                             cfg.cloud.image_size)
    if cache.is_file() and meta_path.is_file():
        out: dict[str, Any] = dict(load_file(str(cache)))
        out.update(json.loads(meta_path.read_text()))
        return out
    t0 = time.perf_counter()
    edge = load_edge(cfg.edge)
    cloud = build_generator(cfg.cloud)
    steps = d.gen_steps
    base_p = _general_prompts(d.base_prompts, d.world_seed + 17, cfg.cloud.image_size)
    base = edge.generate_latents(base_p, derive_seeds(cfg.seed, 100_000, len(base_p)), steps=steps)
    train_p = subject_prompts(d.subject, d.train_prompts, "train", d.world_seed,
                              cfg.cloud.image_size)
    class_word = d.subject.get("shape") or next(iter(d.subject.values()))
    a = cfg.alignment
    if a.deliverable:
        deliverable = edge.load_alignment(resolve_deliverable(a.deliverable))
    else:
        teach_p = train_p[: a.teacher_images]
        teacher = cloud.generate(teach_p, derive_seeds(cfg.seed, 200_000, len(teach_p)))
        deliverable = align(edge, teacher, teach_p, class_word, a.makd, a.method, a.steps,
                              run_dir.checkpoints / "makd", seed=cfg.seed,
                              log=run_dir.log_metrics)
        deliverable.save(run_dir.path / "makd" / "deliverable.safetensors")
    token = deliverable.token or a.makd.token
    aligned = edge_prompts if deliverable.token else (lambda p, *_: list(p))
    train = edge.generate_latents(aligned(train_p, "makd", token, class_word,
                                          deliverable.placement),
                                  derive_seeds(cfg.seed, 300_000, len(train_p)), steps=steps)
    test_s = derive_seeds(cfg.seed, 400_000, len(test_p))
    test = edge.generate_latents(aligned(test_p, "makd", token, class_word,
                                         deliverable.placement), test_s, steps=steps)
    unaligned_test = torch.zeros(0)
    if deliverable.lora:  # the same edge without its MAKD LoRA and metaword: no G-KA
        edge.unet.disable_adapters()
        unaligned_test = edge.generate_latents(test_p, test_s, steps=steps)
        edge.unet.enable_adapters()
    tensors = {"base": base.cpu(), "train": train.cpu(), "test": test.cpu(),
               "cloud_test": cloud.generate(test_p, test_s).cpu(),
               "unaligned_test": unaligned_test.cpu()}
    meta = {"test_prompts": test_p, "test_seeds": test_s,
            "deliverable": {"params": deliverable.num_params, "bytes": deliverable.num_bytes,
                            "token": deliverable.token, "source": a.deliverable or "run here"},
            "data_seconds": time.perf_counter() - t0}
    cache.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(cache))
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return {**tensors, **meta}


# ---- methods -------------------------------------------------------------------------------
def _vgsa(base: LatentJSCC, cfg: DekagConfig) -> nn.Module:
    a = cfg.adapters
    edges = snr_group_edges(a.snr.low, a.snr.high, a.vgsa_groups)
    return build_vgsa(base, a.cala.rank, a.cala.alpha, base.num_rates, edges,
                      a.cala.target_modules)


def _shared(base: LatentJSCC, cfg: DekagConfig) -> nn.Module:
    c = cfg.adapters.cala
    rank = cfg.adapters.shared_rank or c.num_experts * c.rank
    return build_shared_lora(base, rank, c.alpha * rank / c.rank, base.num_rates,
                             c.target_modules)


def _full(base: LatentJSCC, cfg: DekagConfig) -> nn.Module:
    model = copy.deepcopy(base)
    model.requires_grad_(True)
    return model


#: method name → builder of its trainable model from the frozen base codec.
METHOD_BUILDERS: Registry[Callable[[LatentJSCC, DekagConfig], nn.Module]] = Registry("method")
METHOD_BUILDERS.register("shared_lora", _shared)
METHOD_BUILDERS.register("vgsa", _vgsa)
METHOD_BUILDERS.register("cala", lambda base, cfg: build_cala(base, cfg.adapters.cala,
                                                               base.num_rates))
METHOD_BUILDERS.register("full_ft", _full)


def trainable_count(model: nn.Module, base_params: int) -> dict[str, Any]:
    """Trainable parameters of ``model`` and their fraction of the base codec's."""
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": n, "base_params": base_params, "fraction": n / base_params}


def random_conditions(b: int, num_rates: int, snr: SNRRange, device: torch.device
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """A training condition per sample: rate index ``(b,)`` uniform, SNR ``(b,)`` dB uniform."""
    r = torch.randint(0, num_rates, (b,), device=device)
    s = torch.rand(b, device=device) * (snr.high - snr.low) + snr.low
    return r, s


def train_codec(model: nn.Module, latents: torch.Tensor, train: TrainConfig, run_dir: RunDir,
                tag: str, seed: int, codec: LatentJSCCConfig,
                condition: Callable[[int, torch.device], tuple[torch.Tensor, torch.Tensor]],
                fingerprint: str) -> dict[str, Any]:
    """Train ``model`` (its trainable params) on ``latents`` through the shared Trainer."""
    trainer = Trainer({"codec": model}, train, run_dir.checkpoints / tag, seed=seed, tag=tag,
                      fingerprint=fingerprint, log=run_dir.log_metrics)

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(step, len(latents), train.batch_size, seed, trainer.rank,
                            trainer.world_size)
        return {"z": latents[idx]}

    def step_fn(mods: Mapping[str, nn.Module], batch: dict[str, torch.Tensor]
                ) -> dict[str, torch.Tensor]:
        z = batch["z"]
        r, s = condition(z.shape[0], z.device)
        out = mods["codec"](z, r, s)
        return jscc_loss(z, out.z_hat, out.s, out.s_q, out.mask, codec.beta, codec.distortion)

    summary = trainer.fit(batch_fn, step_fn)
    model.eval()
    return {"seconds": summary.seconds, "steps": summary.steps, "skipped": summary.skipped,
            **{f"final_{k}": v for k, v in summary.last.items()}}


# ---- evaluation ----------------------------------------------------------------------------
def _grid_seed(seed: int, rate: int, snr: float) -> int:
    return derive_seed(seed, rate * 10_007 + int(round(snr * 100)) + 7_000_000, modulo=2**62)


@torch.no_grad()
def evaluate_grid(models: Mapping[str, nn.Module], edge: EdgeLDM, data: Mapping[str, Any],
                  cfg: DekagConfig, scorer: ConsistencyScorer | None, snr_list: list[float],
                  results: Results, channel: str, link: nn.Module | None = None
                  ) -> dict[str, torch.Tensor]:
    """Every method × rate × SNR on the test latents; appends records, returns sample images.

    ``link`` is the physical layer (default: each codec's own); every method sees the same
    channel draws at a condition (one generator seeded per rate and SNR).
    """
    z, cloud = data["test"], data["cloud_test"]
    ref_img = edge.decode_latents(z).cpu()
    base = models["base"]
    samples: dict[str, torch.Tensor] = {}
    bs = cfg.eval.batch_size
    prompts = data["test_prompts"]
    for r, k in enumerate(base.rates):
        nbytes = sum(link_bytes(p, k, base.bits_per_symbol) for p in prompts) / len(prompts)
        for snr in snr_list:
            for name, model in models.items():
                g = torch.Generator(device=z.device).manual_seed(_grid_seed(cfg.seed, r, snr))
                gen_link = GenerativeLink(edge, model, base.rates, base.bits_per_symbol)
                zh = torch.cat([gen_link.send_latents(z[i : i + bs], r, snr, link, g)
                                for i in range(0, len(z), bs)])
                img = edge.decode_latents(zh).cpu()
                rec = {"method": name, "channel": channel, "rate": r, "symbols": k,
                       "snr_db": float(snr), "bytes": nbytes,
                       "latent_psnr": float(latent_psnr(zh, z).mean()),
                       "latent_mse": float((zh - z).square().mean()),
                       "psnr": float(psnr(img, ref_img).mean()),
                       "ssim": float(ssim(img, ref_img).mean())}
                if scorer is not None:
                    rec.update(scorer.score(img, cloud))
                results.add(**rec)
                samples[f"{name}|{r}|{snr:g}"] = img[: cfg.eval.grid_images]
    return samples


# ---- report --------------------------------------------------------------------------------
def _heatmap(grid: Results, a: str, b: str, out: Path, metric: str = "psnr") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = sorted({r["rate"] for r in grid.records})
    snrs = sorted({r["snr_db"] for r in grid.records})
    val = {(r["method"], r["rate"], r["snr_db"]): r[metric] for r in grid.records}
    gain = [[val[(a, ri, s)] - val[(b, ri, s)] for s in snrs] for ri in rates]
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(snrs), 1.0 + 0.6 * len(rates)), dpi=120)
    im = ax.imshow(gain, cmap="viridis", aspect="auto", origin="lower")
    for i in range(len(rates)):
        for j in range(len(snrs)):
            ax.text(j, i, f"{gain[i][j]:.1f}", ha="center", va="center", color="w", fontsize=8)
    symbols = {r["rate"]: r["symbols"] for r in grid.records}
    ax.set_xticks(range(len(snrs)), [f"{s:g}" for s in snrs])
    ax.set_yticks(range(len(rates)), [f"{symbols[r]}" for r in rates])
    ax.set_xlabel("SNR [dB]")
    ax.set_ylabel("K_r [symbols]")
    ax.set_title(f"{metric} gain of {METHOD_LABELS.get(a, a)} over {METHOD_LABELS.get(b, b)} [dB]",
                 fontsize=9)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return save_figure(fig, out)


def _mean(records: list[dict[str, Any]], key: str) -> float:
    vals = [r[key] for r in records if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else math.nan


def checks(grid: Results, refs: Results, meta: Mapping[str, Any]) -> list[str]:
    """The issue's required results, each as a measured PASS / FAIL line."""
    out = []
    methods = {r["method"] for r in grid.records}
    low = meta.get("low_snr_db", 0.0)
    avg = {m: _mean(grid.select(method=m), "psnr") for m in methods}
    lavg = {m: _mean(grid.select(method=m), "latent_psnr") for m in methods}
    lowavg = {m: _mean([r for r in grid.select(method=m) if r["snr_db"] <= low], "psnr")
              for m in methods}
    need = meta.get("min_gain_db", 6.5)
    if "cala" in avg and "base" in avg:
        gain = avg["cala"] - avg["base"]
        out.append(f"CALA image PSNR over the grid {avg['cala']:.2f} dB vs base {avg['base']:.2f}"
                   f" dB: gain {gain:+.2f} dB (required ≥ {need} dB): "
                   f"{'PASS' if gain >= need else 'FAIL'}; latent PSNR gain "
                   f"{lavg['cala'] - lavg['base']:+.2f} dB"
                   + (f"; full fine-tuning (the upper bound) gains "
                      f"{avg['full_ft'] - avg['base']:+.2f} dB" if "full_ft" in avg else ""))
    for other in ("shared_lora", "vgsa"):
        if "cala" in avg and other in avg:
            ok_avg = avg["cala"] >= avg[other]
            ok_low = lowavg["cala"] > lowavg[other]
            out.append(f"CALA vs {METHOD_LABELS[other]}: average {avg['cala']:.2f} vs "
                       f"{avg[other]:.2f} dB ({'PASS' if ok_avg else 'FAIL'}); at SNR ≤ {low:g}"
                       f" dB {lowavg['cala']:.2f} vs {lowavg[other]:.2f} dB "
                       f"({'PASS' if ok_low else 'FAIL'})")
    frac = meta.get("trainable", {}).get("cala", {}).get("fraction")
    if frac is not None:
        mx = meta.get("max_fraction", 0.05)
        out.append(f"CALA trains {frac:.2%} of the codec's parameters (required ≤ {mx:.0%}): "
                   f"{'PASS' if frac <= mx else 'FAIL'}")
    out.extend(bytes_check(grid, refs))
    return out


def build_report(run_dir: RunDir) -> Path:
    """``report.md`` from ``results/dekag-grid.json`` and ``results/dekag-bytes.json``."""
    grid = Results.load(run_dir.results / "dekag-grid.json")
    refs = Results.load(run_dir.results / "dekag-bytes.json")
    meta = grid.meta
    rep = MarkdownReport("DeKA-g transmission alignment: CALA and the end-to-end link")
    rep.text(f"Edge: {meta.get('edge')}; cloud: {meta.get('cloud')}; subject: "
             f"{meta.get('subject')}; alignment: {meta.get('alignment')}. Codec: "
             f"{meta.get('codec_params')} parameters, K_max = {meta.get('k_max')}, rates "
             f"{meta.get('rates')} symbols, {meta.get('constellation')}, channel "
             f"{meta.get('channel')}. Image PSNR is measured against the aligned edge's own image "
             "(VAE decode of the sent latent); consistency against the cloud's images "
             f"({', '.join(meta.get('embedders', [])) or 'none'}). Wall time "
             f"{meta.get('seconds', 0):.0f} s.")
    rep.section("Required results (measured)").bullets(checks(grid, refs, meta))
    rows = []
    for m in METHOD_LABELS:
        recs = grid.select(method=m)
        if not recs:
            continue
        t = meta.get("trainable", {}).get(m, {})
        rows.append({"method": METHOD_LABELS[m], "trainable": t.get("trainable"),
                     "fraction": f"{t.get('fraction', 0):.2%}",
                     "train s": meta.get("train", {}).get(m, {}).get("seconds"),
                     "PSNR": _mean(recs, "psnr"), "latent PSNR": _mean(recs, "latent_psnr"),
                     "SSIM": _mean(recs, "ssim"), "consistency": _mean(recs, "consistency")})
    rep.section("Methods (averages over the rate × SNR grid)").table(rows)
    rep.section("PSNR vs SNR per rate")
    for p in meta.get("plots", []):
        rep.image(p, Path(p).stem)
    rep.section("CALA gain over the base codec").image("plots/cala-gain-heatmap.png", "gain")
    rep.section("Bytes per image vs PNG / JPEG")
    if meta.get("bytes_plot"):
        rep.image(meta["bytes_plot"], "consistency against bytes")
    top = max(r["snr_db"] for r in grid.records)
    cala = {r["rate"]: r.get("consistency") for r in grid.select(method="cala", snr_db=top)}
    rates = sorted({(r["rate"], r["symbols"], r["bytes"]) for r in grid.records})
    rep.table([{"link": f"prompt + K_r={k} symbols" + (f" (CALA, {top:g} dB)" if cala else ""),
                "bytes": b, "consistency": cala.get(i)} for i, k, b in rates]
              + [{"link": r["reference"], "bytes": r["bytes"], "consistency": r.get("consistency"),
                  "PSNR vs edge image": r["psnr"]} for r in refs.records])
    rep.section("Samples")
    for g in meta.get("grids", []):
        rep.image(g, Path(g).stem)
    if meta.get("merge_check"):
        rep.section("CALA merge check").text(
            "Max |merged − gated| latent difference over fixed conditions: "
            f"{meta['merge_check']:.2e}.")
    rep.section("All grid records").table(grid.records)
    return rep.save(run_dir.report_path)


def _fingerprint(cfg: DekagConfig, extra: str) -> str:
    """What the trained weights depend on (options added later left out at their old value, so
    earlier runs still resume and re-evaluate)."""
    return json.dumps({"codec": cfg.codec.fingerprint_dump(),
                       "adapters": cfg.adapters.model_dump(mode="json"),
                       "data": cfg.data.model_dump(mode="json"), "extra": extra})


def train_all(cfg: DekagConfig, run_dir: RunDir, data: Mapping[str, Any]
              ) -> tuple[dict[str, nn.Module], dict[str, Any], dict[str, Any]]:
    """Base codec, then each adaptation method; returns (models, trainable counts, train info)."""
    latent_shape = tuple(data["test"].shape[1:])
    torch.manual_seed(cfg.seed)
    base = LatentJSCC(latent_shape, cfg.codec)
    nominal_rate = base.num_rates - 1
    base_info = train_codec(
        base, data["base"], cfg.base_train, run_dir, "base", cfg.seed, cfg.codec,
        lambda b, dev: (torch.full((b,), nominal_rate, device=dev),
                        torch.full((b,), cfg.eval.nominal_snr_db, device=dev)),
        _fingerprint(cfg, "base"))
    base.requires_grad_(False)
    base_params = sum(p.numel() for p in base.parameters())
    models: dict[str, nn.Module] = {"base": base}
    counts = {"base": {"trainable": 0, "base_params": base_params, "fraction": 0.0}}
    info = {"base": base_info}
    snr = cfg.adapters.snr
    for name in cfg.adapters.methods:
        torch.manual_seed(cfg.seed + 1)
        model = METHOD_BUILDERS.get(name)(base, cfg)
        counts[name] = trainable_count(model, base_params)
        info[name] = train_codec(
            model, data["train"], cfg.adapt_train, run_dir, name, cfg.seed, cfg.codec,
            lambda b, dev: random_conditions(b, base.num_rates, snr, dev),
            _fingerprint(cfg, name))
        if isinstance(model, CALAModel):
            model.save_adapters(run_dir.path / "adapters" / f"{name}.safetensors")
        models[name] = model
    return models, counts, info


@torch.no_grad()
def merge_check(model: CALAModel, z: torch.Tensor, rates: int, seed: int) -> float:
    """Max |merged − gated| output over a few fixed conditions (same channel draws)."""
    worst = 0.0
    for r, snr in ((0, 0.0), (rates - 1, 15.0)):
        b = z.shape[0]
        rr, ss = torch.full((b,), r), torch.full((b,), snr)
        gated = model(z, rr, ss, generator=torch.Generator(device=z.device).manual_seed(seed)).z_hat
        model.merge(r, snr)
        merged = model(z, rr, ss, generator=torch.Generator(device=z.device).manual_seed(seed)).z_hat
        model.unmerge()
        worst = max(worst, float((gated - merged).abs().max()))
    return worst


def _evaluate_into(cfg: DekagConfig, run_dir: RunDir, models: Mapping[str, nn.Module],
                   data: Mapping[str, Any], snr_list: list[float], channel: str,
                   extra_meta: Mapping[str, Any], link: nn.Module | None = None
                   ) -> tuple[Results, Results]:
    edge = load_edge(cfg.edge)
    scorer = consistency_scorer(cfg.metrics, cfg.edge.device)
    grid = Results("dekag", "dekag-grid")
    samples = evaluate_grid(models, edge, data, cfg, scorer, snr_list, grid, channel, link)
    refs = Results("dekag", "dekag-bytes")
    reference_records(edge, data, scorer, refs, cfg.eval.jpeg_qualities)
    base = models["base"]
    plots = []
    for r, k in enumerate(base.rates):
        p = plot_metric(grid, "snr_db", "psnr", run_dir.plots / f"psnr-vs-snr-rate{r}.png",
                        where={"rate": r}, title=f"image PSNR, K_r = {k} symbols")
        plots.append(str(p.relative_to(run_dir.path)))
    p = plot_metric(grid, "snr_db", "latent_psnr", run_dir.plots / "latent-psnr-vs-snr.png",
                    where={"rate": base.num_rates - 1}, title="latent PSNR, highest rate")
    plots.append(str(p.relative_to(run_dir.path)))
    if "cala" in models:
        _heatmap(grid, "cala", "base", run_dir.plots / "cala-gain-heatmap.png")
    bytes_plot = plot_consistency_vs_bytes(grid, refs, run_dir.plots / "consistency-vs-bytes.png",
                                           METHOD_LABELS)
    grids = []
    edge_img = edge.decode_latents(data["test"][: cfg.eval.grid_images]).cpu()
    cloud_img = data["cloud_test"][: cfg.eval.grid_images]
    conditions = [(min(1, base.num_rates - 1), min(snr_list, key=lambda s: abs(s - 0.0))),
                  (base.num_rates - 1, max(snr_list))]
    for r, snr in conditions:
        rows, labels = [cloud_img, edge_img], ["cloud", "edge (aligned)"]
        for m in models:
            rows.append(samples[f"{m}|{r}|{snr:g}"])
            labels.append(METHOD_LABELS.get(m, m))
        path = save_image_grid(run_dir.plots / f"samples-rate{r}-snr{snr:g}.png", rows, labels,
                          f"user images at K_r = {base.rates[r]} symbols, {snr:g} dB")
        grids.append(str(path.relative_to(run_dir.path)))
    ch = cfg.codec.channel
    grid.meta = {
        "edge": cfg.edge.model or "shipped (semdistill/assets/edge)",
        "cloud": f"{cfg.cloud.kind}:{cfg.cloud.style}", "subject": cfg.data.subject,
        "alignment": data.get("deliverable"), "codec_params": counts_base(models),
        "k_max": base.k_max, "rates": base.rates, "constellation": cfg.codec.constellation,
        "channel": f"{channel} (J={ch.num_blocks}, {ch.correlation}, {ch.equalizer})",
        "embedders": cfg.metrics.embedders, "low_snr_db": cfg.eval.low_snr_db,
        "min_gain_db": cfg.eval.min_gain_db, "max_fraction": cfg.eval.max_fraction,
        "plots": plots, "grids": grids, **extra_meta,
        "bytes_plot": str(bytes_plot.relative_to(run_dir.path)) if bytes_plot else None,
    }
    return grid, refs


def counts_base(models: Mapping[str, nn.Module]) -> int:
    return sum(p.numel() for p in models["base"].parameters())


def run(cfg: DekagConfig, run_dir: RunDir) -> dict[str, Any]:
    """Data → base codec → adapters (equal budgets) → grid evaluation → report."""
    t0 = time.perf_counter()
    data = build_datasets(cfg, run_dir)
    models, counts, info = train_all(cfg, run_dir, data)
    mc = None
    if isinstance(models.get("cala"), CALAModel):
        mc = merge_check(models["cala"], data["test"][:32], models["base"].num_rates, cfg.seed)
    extra = {"trainable": counts, "train": info, "merge_check": mc,
             "data_seconds": data.get("data_seconds")}
    grid, refs = _evaluate_into(cfg, run_dir, models, data, list(cfg.eval.snr_db),
                                cfg.codec.channel.name, extra)
    grid.meta["seconds"] = time.perf_counter() - t0
    grid.save(run_dir.results / "dekag-grid.json")
    refs.save(run_dir.results / "dekag-bytes.json")
    build_report(run_dir)
    avg = {m: round(_mean(grid.select(method=m), "psnr"), 3) for m in models}
    summary: dict[str, Any] = {f"psnr[{m}]": v for m, v in avg.items()}
    if "cala" in avg:
        summary["cala_gain_db"] = round(avg["cala"] - avg["base"], 3)
        summary["cala_fraction"] = round(counts["cala"]["fraction"], 5)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary


def evaluate(cfg: DekagConfig, run_dir: RunDir, snr_db: list[float] | None = None,
             channel: str | None = None) -> Path:
    """Re-evaluate a finished run on other SNRs and/or another channel (trained weights reused).

    Writes ``results/dekag-grid-<channel>.json`` and returns its path.
    """
    data = build_datasets(cfg, run_dir)
    models, counts, info = train_all(cfg, run_dir, data)
    name = channel or cfg.codec.channel.name
    if name != cfg.codec.channel.name:
        upd: dict[str, Any] = {"name": name}
        if name in ("awgn", "rayleigh"):
            upd.update(num_blocks=1, correlation="none")
        ch = ChannelConfig.model_validate({**cfg.codec.channel.model_dump(), **upd})
        cfg = cfg.model_copy(update={"codec": cfg.codec.model_copy(update={"channel": ch})})
    link = Link.from_config(cfg.codec.channel, normalize=False)  # the trained weights, sent over it
    grid, refs = _evaluate_into(cfg, run_dir, models, data, list(snr_db or cfg.eval.snr_db),
                                name, {"trainable": counts, "train": info}, link)
    return grid.save(run_dir.results / f"dekag-grid-{name}.json")


register_experiment("dekag", DekagConfig, evaluate=evaluate, report=build_report)(run)
