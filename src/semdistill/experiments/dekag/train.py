"""Stages 2–3 of ``dekag``: the no-alignment codecs and every adaptation method
(docs/dekag-cala.md, "The no-alignment baseline").

The base latent JSCC codec trains as ``baselines.base`` states (channel, rates, SNR, latents;
default: a nominal AWGN link at the highest rate and 10 dB, the unaligned edge's latents); each
method of ``adapters.methods`` then adapts the frozen base on the aligned latents with a random
(rate, SNR) per sample, all with the ``adapt_train`` budget; ``baselines.matched`` trains a
second no-alignment codec from the same initialization (``base_matched``, evaluated only). :func:`train_all` trains (or resumes) through the shared Trainer;
:func:`load_trained_all` only loads the ``final`` checkpoints of a finished run (``eval``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRRange, TrainConfig, stable_dump
from semdistill.distill.codec import Condition, random_conditions, train_codec
from semdistill.engine import load_final
from semdistill.experiments.dekag.config import BaselineSpec, DekagConfig
from semdistill.experiments.rundir import RunDir
from semdistill.metrics.complexity import count_parameters
from semdistill.models.adapters import METHOD_BUILDERS, trainable_count
from semdistill.models.cala import CALAModel
from semdistill.models.latent_jscc import LatentJSCC

#: ``(model, tag, latents (N, C, h, w), budget, condition) -> info``: trains or loads one stage.
Fit = Callable[[nn.Module, str, torch.Tensor, TrainConfig, Condition], dict[str, Any]]
Trained = tuple[dict[str, nn.Module], dict[str, Any], dict[str, Any]]


#: the tag of the second no-alignment codec (``baselines.matched``).
MATCHED = "base_matched"


def baseline_channel(cfg: DekagConfig, spec: BaselineSpec) -> ChannelConfig:
    """The channel a no-alignment codec trains over (``"actual"``: ``codec.channel``)."""
    return cfg.codec.channel if spec.channel == "actual" else spec.channel


def baseline_snr(cfg: DekagConfig, spec: BaselineSpec) -> float | SNRRange:
    """The SNR [dB] (fixed) or range a no-alignment codec trains at (None: the nominal one)."""
    return cfg.eval.nominal_snr_db if spec.snr_db is None else spec.snr_db


def baseline_training(cfg: DekagConfig, spec: BaselineSpec) -> dict[str, Any]:
    """What ``spec`` trains on, resolved against ``cfg``: ``{"channel", "symbols" (K_r list),
    "snr_db" (dB, or {low, high}), "latents"}``; two specs that train alike resolve alike."""
    snr = baseline_snr(cfg, spec)
    return {"channel": stable_dump(baseline_channel(cfg, spec)),
            "symbols": sorted(set(spec.rates or [max(cfg.codec.rates)])),
            "snr_db": stable_dump(snr) if isinstance(snr, SNRRange) else snr,
            "latents": spec.latents}


def stage_baseline(cfg: DekagConfig, tag: str) -> BaselineSpec:
    """The no-alignment codec a stage depends on: ``base_matched`` its own, every other stage
    (``base`` and the adapters, which start from it) ``baselines.base``."""
    return cfg.baselines.matched if tag == MATCHED and cfg.baselines.matched else \
        cfg.baselines.base


def codec_fingerprint(cfg: DekagConfig, extra: str) -> str:
    """What the trained weights of stage ``extra`` depend on. Options added later are left out
    at their old value, so earlier runs still resume and re-evaluate: the stage's baseline is
    left out when it trains as every run before ``baselines`` did (actual channel, highest
    rate, ``eval.nominal_snr_db``, unaligned latents)."""
    fp: dict[str, Any] = {"codec": cfg.codec.fingerprint_dump(),
                          "adapters": cfg.adapters.model_dump(mode="json"),
                          "data": cfg.data.model_dump(mode="json"), "extra": extra}
    trained = baseline_training(cfg, stage_baseline(cfg, extra))
    if trained != baseline_training(cfg, BaselineSpec()):
        fp["baseline"] = trained
    return json.dumps(fp)


def stage_tags(cfg: DekagConfig) -> list[str]:
    """The checkpoint tags of a run: ``base``, every adaptation method and ``base_matched``."""
    return ["base", *cfg.adapters.methods, *([MATCHED] if cfg.baselines.matched else [])]


def baseline_condition(cfg: DekagConfig, spec: BaselineSpec) -> Condition:
    """The training condition of ``spec``: a rate index uniform over its rates and an SNR fixed
    or uniform over its range (one rate and one SNR draw nothing: the codec trains exactly as
    before ``baselines``)."""
    idx = torch.tensor([cfg.codec.rates.index(k) for k in baseline_training(cfg, spec)["symbols"]])
    snr = baseline_snr(cfg, spec)

    def condition(b: int, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        r = (torch.full((b,), int(idx[0]), device=dev) if len(idx) == 1
             else idx.to(dev)[torch.randint(0, len(idx), (b,), device=dev)])
        if isinstance(snr, SNRRange):
            return r, random_conditions(b, 1, snr, dev)[1]
        return r, torch.full((b,), float(snr), device=dev)

    return condition


@contextmanager
def over_channel(codec: LatentJSCC, channel: ChannelConfig) -> Iterator[LatentJSCC]:
    """``codec`` sending over ``channel`` inside the block (its own link, built as the codec
    builds it, restored after; a Link holds no weights, so the state dict is unchanged)."""
    own = codec.link
    codec.link = Link.from_config(channel, normalize=False)
    try:
        yield codec
    finally:
        codec.link = own


def _baseline(cfg: DekagConfig, data: Mapping[str, Any], fit: Fit, tag: str,
              spec: BaselineSpec) -> tuple[LatentJSCC, dict[str, Any]]:
    """A no-alignment codec from ``cfg.seed``, fitted as ``spec`` states and left frozen,
    sending over the actual channel (``codec.channel``) afterwards."""
    torch.manual_seed(cfg.seed)
    codec = LatentJSCC(tuple(data["test"].shape[1:]), cfg.codec)
    latents = data["base"] if spec.latents == "unaligned" else data["train"]
    with over_channel(codec, baseline_channel(cfg, spec)):
        info = fit(codec, tag, latents, cfg.base_train, baseline_condition(cfg, spec))
    codec.requires_grad_(False)
    return codec, info


def _codecs(cfg: DekagConfig, data: Mapping[str, Any], fit: Fit) -> Trained:
    """Build the no-alignment codecs and each method from their seeds, ``fit`` each in turn;
    returns (models, trainable counts, per-stage info)."""
    base, base_info = _baseline(cfg, data, fit, "base", cfg.baselines.base)
    info = {"base": base_info}
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
    if cfg.baselines.matched is not None:  # trained last: the stages above are as before
        matched, info[MATCHED] = _baseline(cfg, data, fit, MATCHED, cfg.baselines.matched)
        models = {"base": base, MATCHED: matched, **models}
        counts[MATCHED] = trainable_count(matched, base_params)
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
