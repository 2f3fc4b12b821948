"""Stages 2–3 of ``dekag``: the base codec, then every adaptation method (docs/dekag-cala.md).

The base latent JSCC codec trains on the *unaligned* latents at one nominal condition (highest
rate, ``eval.nominal_snr_db``); each method of ``adapters.methods`` then adapts the frozen base
on the aligned latents with a random (rate, SNR) per sample, all with the ``adapt_train``
budget. :func:`train_all` trains (or resumes) through the shared Trainer;
:func:`load_trained_all` only loads the ``final`` checkpoints of a finished run (``eval``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semdistill.config import TrainConfig
from semdistill.distill.codec import Condition, random_conditions, train_codec
from semdistill.engine import load_final
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.experiments.rundir import RunDir
from semdistill.metrics.complexity import count_parameters
from semdistill.models.adapters import METHOD_BUILDERS, trainable_count
from semdistill.models.cala import CALAModel
from semdistill.models.latent_jscc import LatentJSCC

#: ``(model, tag, latents (N, C, h, w), budget, condition) -> info``: trains or loads one stage.
Fit = Callable[[nn.Module, str, torch.Tensor, TrainConfig, Condition], dict[str, Any]]
Trained = tuple[dict[str, nn.Module], dict[str, Any], dict[str, Any]]


def codec_fingerprint(cfg: DekagConfig, extra: str) -> str:
    """What the trained weights depend on (options added later left out at their old value, so
    earlier runs still resume and re-evaluate)."""
    return json.dumps({"codec": cfg.codec.fingerprint_dump(),
                       "adapters": cfg.adapters.model_dump(mode="json"),
                       "data": cfg.data.model_dump(mode="json"), "extra": extra})


def stage_tags(cfg: DekagConfig) -> list[str]:
    """The checkpoint tags of a run: ``base`` and every adaptation method."""
    return ["base", *cfg.adapters.methods]


def _codecs(cfg: DekagConfig, data: Mapping[str, Any], fit: Fit) -> Trained:
    """Build the base codec and each method from their seeds, ``fit`` each in turn; returns
    (models, trainable counts, per-stage info)."""
    torch.manual_seed(cfg.seed)
    base = LatentJSCC(tuple(data["test"].shape[1:]), cfg.codec)
    nominal_rate = base.num_rates - 1
    info = {"base": fit(base, "base", data["base"], cfg.base_train,
                        lambda b, dev: (torch.full((b,), nominal_rate, device=dev),
                                        torch.full((b,), cfg.eval.nominal_snr_db, device=dev)))}
    base.requires_grad_(False)
    base_params = count_parameters(base)
    models: dict[str, nn.Module] = {"base": base}
    counts = {"base": trainable_count(base, base_params)}
    snr = cfg.adapters.snr
    for name in cfg.adapters.methods:
        torch.manual_seed(cfg.seed + 1)
        model = METHOD_BUILDERS.get(name)(base, cfg.adapters)
        counts[name] = trainable_count(model, base_params)
        info[name] = fit(model, name, data["train"], cfg.adapt_train,
                         lambda b, dev: random_conditions(b, base.num_rates, snr, dev))
        models[name] = model
    return models, counts, info


def train_all(cfg: DekagConfig, run_dir: RunDir, data: Mapping[str, Any]) -> Trained:
    """Train (or resume) the base codec, then each method; CALA-type adapters are also saved
    to ``adapters/<method>.safetensors``. Returns (models, trainable counts, train info)."""

    def fit(model: nn.Module, tag: str, latents: torch.Tensor, train: TrainConfig,
            condition: Condition) -> dict[str, Any]:
        out = train_codec(model, latents, train, run_dir.checkpoints / tag, tag, cfg.seed,
                          cfg.codec, condition, codec_fingerprint(cfg, tag), run_dir.log_metrics)
        if isinstance(model, CALAModel):
            model.save_adapters(run_dir.path / "adapters" / f"{tag}.safetensors")
        return out

    return _codecs(cfg, data, fit)


def load_trained(model: nn.Module, checkpoint_dir: Path, train: TrainConfig, fingerprint: str
                 ) -> dict[str, Any]:
    """Load a stage's ``final`` checkpoint into ``model`` (eval mode), refusing weights made by
    another config; returns the info a skipped training stage reports:
    ``{"seconds", "steps", "skipped": True}``."""
    info = load_final(checkpoint_dir, {"codec": model}, train, fingerprint)
    model.eval()
    return {"seconds": float(info.extra.get("elapsed", 0.0)), "steps": info.step, "skipped": True}


def load_trained_all(cfg: DekagConfig, run_dir: RunDir, data: Mapping[str, Any]) -> Trained:
    """The trained models of a finished run, never training: call
    ``run_dir.require_finished(stage_tags(cfg))`` first."""

    def fit(model: nn.Module, tag: str, latents: torch.Tensor, train: TrainConfig,
            condition: Condition) -> dict[str, Any]:
        return load_trained(model, run_dir.checkpoints / tag, train, codec_fingerprint(cfg, tag))

    return _codecs(cfg, data, fit)
