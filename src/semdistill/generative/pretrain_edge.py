"""Pre-train the offline edge LDM on the shapes world, without the held-out subjects.

Stage 1 trains the VAE (reconstruction + small KL); the latent scaling factor is then set to
1/std of the training latents, as Stable Diffusion does. Stage 2 trains the UNet and the text
encoder jointly with the ε-prediction loss, dropping 10% of captions for classifier-free
guidance. Both stages run through :class:`semdistill.engine.Trainer` (resumable). Finally the
model's samples for seen captions are classified by the world encoder (attribute accuracy).

The G-KA scenario: the VAE learns to represent every style and subject (``vae_styles``,
``vae_exclude``); the denoiser sees only ``styles`` (default "flat") and never the ``exclude``
subjects (default: every star and heart). The cloud renders those subjects in its own style, which
the edge can encode and decode but has never learned to draw, and MAKD distils them.

The saved folder's ``pretrain_summary.json`` records the config, so :func:`require_held_out`
can refuse a subject given as held out that the denoiser was trained on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import Field
from torch import nn

from semdistill.config import ConfigError, StrictModel, TrainConfig
from semdistill.data.world.samples import (
    WorldSample,
    caption_words,
    make_subject,
    render_world,
    subject_name,
)
from semdistill.engine import Trainer, batch_indices
from semdistill.generative.diffusion import eps_loss
from semdistill.generative.edge import EdgeArch, EdgeLDM
from semdistill.generative.errors import EdgeFileError
from semdistill.metrics.complexity import count_parameters
from semdistill.metrics.world_encoder import WorldEncoder, attribute_accuracy

log = logging.getLogger(__name__)

#: the file next to a pre-trained edge's weights that records its config (and its accuracy)
SUMMARY = "pretrain_summary.json"

#: words every edge vocabulary has, so prompt templates and class words always tokenize whole.
EXTRA_WORDS = ("a", "an", "the", "of", "photo", "picture", "image", "drawing", "shape", "in",
               "style", "with", "on", "over", "background", "small", "medium", "large", "flat",
               "outlined", "textured")

#: what the default edge's denoiser never sees (every star and every heart, in any color).
DEFAULT_EXCLUDE: tuple[dict[str, str], ...] = ({"shape": "star"}, {"shape": "heart"})

#: what the default edge's VAE learns to represent: every style the world encoder judges.
VAE_STYLES = ("flat", "outlined", "textured")

#: MAKD's default held-out subjects: shape × color combinations inside ``DEFAULT_EXCLUDE``.
DEFAULT_HELD_OUT: tuple[dict[str, str], ...] = (
    {"shape": "star", "color": "red"},
    {"shape": "star", "color": "blue"},
    {"shape": "heart", "color": "green"},
    {"shape": "heart", "color": "yellow"},
)


def _vae_train() -> TrainConfig:
    return TrainConfig(steps=600, batch_size=64, lr=2e-3, warmup_steps=20, log_every=50,
                       checkpoint_every=200)


def _unet_train() -> TrainConfig:
    return TrainConfig(steps=6000, batch_size=64, lr=1e-3, warmup_steps=100, log_every=100,
                       checkpoint_every=500, weight_decay=1e-4)


class EdgePretrainConfig(StrictModel):
    """Everything that determines the shipped edge model (its fingerprint)."""

    arch: EdgeArch = Field(default_factory=EdgeArch)
    world_seed: int = Field(0, ge=0)
    train_size: int = Field(16384, ge=16)
    styles: list[str] = Field(default_factory=lambda: ["flat"],
                              description="styles the denoiser learns to draw")
    exclude: list[dict[str, str]] = Field(
        default_factory=lambda: [dict(s) for s in DEFAULT_EXCLUDE],
        description="subjects (attribute dicts, missing keys = any) the denoiser never sees")
    vae_styles: list[str] | None = Field(
        default_factory=lambda: list(VAE_STYLES),
        description="styles the VAE learns to represent (None: the denoiser's styles)")
    vae_exclude: list[dict[str, str]] | None = Field(
        default_factory=list,
        description="subjects left out of the VAE's images (None: the denoiser's exclude)")
    kl_weight: float = Field(1e-5, ge=0)
    cond_dropout: float = Field(0.1, ge=0, le=1, description="fraction of empty prompts (CFG)")
    vae: TrainConfig = Field(default_factory=_vae_train)
    unet: TrainConfig = Field(default_factory=_unet_train)
    sampler: str = "ddim"
    sample_steps: int = Field(25, ge=1)
    guidance: float = Field(3.0, ge=0)
    eval_samples: int = Field(256, ge=8)
    seed: int = Field(0, ge=0)
    init_from: str | None = Field(
        None, description="continue from this edge model (diffusers folder, same world): its "
                          "VAE is kept, its UNet and text encoder train unet.steps more")


def _unwrap(m: nn.Module) -> nn.Module:
    return getattr(m, "module", m)


def train_vae(edge: EdgeLDM, data: WorldSample, cfg: EdgePretrainConfig, work: Path,
              log: Callable[..., None] | None = None,
              scale_on: WorldSample | None = None) -> None:
    """Stage 1: VAE reconstruction (MSE in [-1, 1]) + ``kl_weight`` × KL on ``data``; then sets
    scaling_factor to 1/std of the latents of ``scale_on`` (default ``data``): the denoiser's
    images, whose latents it models."""
    vae = edge.vae.train()
    # everything but the denoiser's settings: a new UNet budget reuses the trained VAE
    trainer = Trainer({"vae": vae}, cfg.vae, work / "vae", seed=cfg.seed, tag="vae",
                      fingerprint=cfg.model_dump_json(exclude={"unet", "cond_dropout",
                                                               "sample_steps", "guidance",
                                                               "eval_samples"}), log=log)

    def batch_fn(step: int) -> torch.Tensor:
        idx = batch_indices(step, len(data), cfg.vae.batch_size, cfg.seed, trainer.rank,
                            trainer.world_size)
        return data.images[idx].float() / 255 * 2 - 1

    def step_fn(mods: Mapping[str, nn.Module], x: torch.Tensor) -> dict[str, torch.Tensor]:
        v = _unwrap(mods["vae"])
        post = v.encode(x).latent_dist
        rec = v.decode(post.sample()).sample
        mse = nn.functional.mse_loss(rec, x)
        kl = post.kl().mean() / x[0].numel()
        return {"loss": mse + cfg.kl_weight * kl, "mse": mse, "kl": kl}

    trainer.fit(batch_fn, step_fn)
    vae.eval()
    edge.vae.register_to_config(scaling_factor=1.0)
    scale_on = data if scale_on is None else scale_on
    with torch.no_grad():
        z = torch.cat([edge.encode_images(scale_on.images[i : i + 512].float() / 255)
                       for i in range(0, min(len(scale_on), 4096), 512)])
    edge.vae.register_to_config(scaling_factor=float(1.0 / z.std().clamp_min(1e-6)))


def train_denoiser(edge: EdgeLDM, data: WorldSample, cfg: EdgePretrainConfig, work: Path,
                   log: Callable[..., None] | None = None) -> None:
    """Stage 2: UNet + text encoder, ε-prediction loss on precomputed scaled VAE latents."""
    with torch.no_grad():
        latents = torch.cat([edge.encode_images(data.images[i : i + 512].float() / 255).cpu()
                             for i in range(0, len(data), 512)])
    ids = edge.tokenize(data.captions).cpu()
    empty = edge.tokenize([""]).cpu()[0]
    unet, te = edge.unet.train(), edge.text_encoder.train()
    sched = edge.scheduler
    trainer = Trainer({"unet": unet, "text_encoder": te}, cfg.unet, work / "denoiser",
                      seed=cfg.seed, tag="denoiser", fingerprint=cfg.model_dump_json(), log=log)

    def batch_fn(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(step, len(data), cfg.unet.batch_size, cfg.seed, trainer.rank,
                            trainer.world_size)
        g = torch.Generator().manual_seed(cfg.seed * 7919 + step)
        tok = ids[idx].clone()
        drop = torch.rand(len(idx), generator=g) < cfg.cond_dropout
        tok[drop] = empty
        return {"z": latents[idx], "ids": tok}

    def step_fn(mods: Mapping[str, nn.Module], b: dict[str, torch.Tensor]) -> dict:
        return {"loss": eps_loss(mods["unet"], mods["text_encoder"](b["ids"])[0], b["z"], sched)}

    trainer.fit(batch_fn, step_fn)
    unet.eval()
    te.eval()


def sample_accuracy(edge: EdgeLDM, encoder: WorldEncoder, captions: list[str],
                    attrs: list[dict[str, Any]], seed: int = 0) -> dict[str, float]:
    """Attribute accuracy of the edge's samples for ``captions`` (the world encoder judges)."""
    images = edge.generate(captions, [seed * 100_003 + i for i in range(len(captions))])
    return attribute_accuracy(encoder.predict(images.cpu()), attrs)


@torch.no_grad()
def reconstruction_accuracy(edge: EdgeLDM, encoder: WorldEncoder, data: WorldSample,
                            batch_size: int = 256) -> dict[str, float]:
    """Attribute accuracy of the edge VAE's reconstructions of ``data``'s real images: the
    ceiling of :func:`sample_accuracy`, since every sample is decoded by the same VAE."""
    recon = torch.cat([edge.decode_latents(edge.encode_images(
        data.images[i : i + batch_size].float() / 255)).cpu()
        for i in range(0, len(data), batch_size)])
    return attribute_accuracy(encoder.predict(recon), data.attrs)


def _vae_world(split: str, size: int, cfg: EdgePretrainConfig) -> WorldSample:
    """``size`` images of the VAE's world (``vae_styles``, ``vae_exclude``; None: the denoiser's)."""
    styles = cfg.styles if cfg.vae_styles is None else cfg.vae_styles
    exclude = cfg.exclude if cfg.vae_exclude is None else cfg.vae_exclude
    return render_world(split, size, cfg.arch.image_size, cfg.world_seed, styles, exclude)


def pretrain_edge(cfg: EdgePretrainConfig, out: str | Path, work: str | Path,
                  encoder: WorldEncoder | None = None, device: str = "cpu",
                  log: Callable[..., None] | None = None) -> dict[str, Any]:
    """Train, evaluate and save the edge LDM to ``out`` (diffusers format); returns a summary."""
    t0 = time.perf_counter()
    work, out = Path(work), Path(out)
    data = render_world("train", cfg.train_size, cfg.arch.image_size, cfg.world_seed,
                        cfg.styles, cfg.exclude)
    vae_data = _vae_world("train", cfg.train_size, cfg)
    words = sorted(set(caption_words(data.captions)) | set(caption_words(vae_data.captions))
                   | set(EXTRA_WORDS))
    if cfg.init_from is None:
        edge = EdgeLDM.build(cfg.arch, words, device=device, sampler=cfg.sampler,
                             steps=cfg.sample_steps, guidance=cfg.guidance)
        train_vae(edge, vae_data, cfg, work, log, scale_on=data)
    else:
        edge = EdgeLDM.from_pretrained(cfg.init_from, device=device)
        missing = [w for w in words if len(edge.tokenizer.tokenize(w)) != 1]
        if missing:
            raise ConfigError(f"init_from: {cfg.init_from} was trained on another world (its "
                              f"vocabulary splits {missing[:3]})")
    train_denoiser(edge, data, cfg, work, log)
    summary: dict[str, Any] = {
        "train_seconds": round(time.perf_counter() - t0, 1),
        "unet_params": count_parameters(edge.unet),
        "vae_params": count_parameters(edge.vae),
        "text_encoder_params": count_parameters(edge.text_encoder),
        "scaling_factor": edge.scaling_factor, "config": cfg.model_dump(),
    }
    if encoder is not None:
        test = render_world("test", cfg.eval_samples, cfg.arch.image_size, cfg.world_seed,
                            cfg.styles, cfg.exclude)
        summary["seen_accuracy"] = sample_accuracy(edge, encoder, test.captions, test.attrs)
        summary["reconstruction_accuracy"] = reconstruction_accuracy(edge, encoder, test)
        summary["vae_reconstruction_accuracy"] = reconstruction_accuracy(
            edge, encoder, _vae_world("test", cfg.eval_samples, cfg))
    edge.save_pretrained(out)
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


# ---- held-out subjects -----------------------------------------------------------------------
def held_out(subject: Mapping[str, str], exclude: Sequence[Mapping[str, str]]) -> bool:
    """Whether the denoiser never saw ``subject``: some ``exclude`` entry covers it (every key
    of the entry is in the subject with the same value; a key the entry lacks is any value)."""
    return any(make_subject(entry).matches(subject) for entry in exclude)


def denoiser_exclude(folder: str | Path) -> list[dict[str, str]] | None:
    """``config.exclude`` of the ``pretrain_summary.json`` in an edge folder: what its denoiser
    never saw. None when the folder has none (a user's SD model, a hub id): nothing is known.
    A summary whose entries are not attribute dicts of the world is one :class:`EdgeFileError`."""
    path = Path(folder) / SUMMARY
    if not path.is_file():
        return None
    try:
        exclude = json.loads(path.read_text(encoding="utf-8"))["config"]["exclude"]
        if not isinstance(exclude, list) or not all(isinstance(e, dict) for e in exclude):
            raise TypeError("not a list of attribute dicts")
        for entry in exclude:
            make_subject(entry)  # known attributes and values only
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise EdgeFileError(f"{path}: damaged edge summary, config.exclude unreadable "
                            f"({type(err).__name__}: {err})") from None
    return exclude


def require_held_out(edge: EdgeLDM, subjects: Mapping[str, Mapping[str, str]]) -> None:
    """Refuse, before any work, a subject given as held out that ``edge``'s denoiser was trained
    on (:func:`held_out` against :func:`denoiser_exclude` of the folder it was loaded from):
    one :class:`~semdistill.config.ConfigError` line naming the config key (the keys of
    ``subjects``). An edge without a summary is not checked (one info line)."""
    exclude = None if edge.source is None else denoiser_exclude(edge.source)
    if exclude is None:
        log.info("the edge (%s) records no %s: held-out subjects not checked", edge.origin,
                 SUMMARY)
        return
    for key, subject in subjects.items():
        if not held_out(subject, exclude):
            excluded = ", ".join(" ".join(v for _, v in sorted(e.items())) or "everything"
                                 for e in exclude) or "nothing"
            raise ConfigError(f"config: {key}: subject {subject_name(subject)}: the edge at "
                              f"{edge.source} was trained on it (its denoiser excluded only: "
                              f"{excluded}); choose a held-out subject")
