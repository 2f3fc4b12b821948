"""MAKD: metaword-aided knowledge distillation of a cloud generator into the edge LDM.

The cloud's images for a subject's prompts are encoded by the edge VAE; then

1. stage A optimizes a metaword embedding (UNet frozen) with the ε-prediction loss;
2. stage B distils peft LoRA adapters on the UNet attention projections (to_q, to_k, to_v,
   to_out.0) with the same loss, prompts carrying the trained metaword; optionally
   (``prior_weight``) plus DreamBooth's prior-preservation loss on the un-adapted edge's own
   samples for the plain prompts.

:func:`align` returns the deliverable (:class:`~semdistill.generative.deliverable.MAKDDeliverable`):
the LoRA weights plus the metaword vector, in one safetensors file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from peft.utils import get_peft_model_state_dict
from pydantic import Field
from torch import nn

from semdistill.config import StrictModel, TrainConfig
from semdistill.engine import Trainer, batch_indices
from semdistill.generative.deliverable import ADAPTER, LORA_TARGETS, MAKDDeliverable, lora_config
from semdistill.generative.diffusion import eps_loss
from semdistill.generative.edge import EdgeLDM
from semdistill.generative.metaword import (
    MetawordTextEncoder,
    add_metaword,
    insert_metaword,
)
from semdistill.registry import Registry
from semdistill.utils.seeds import derive_seeds


class MAKDConfig(StrictModel):
    """Hyper-parameters of one distillation (per subject)."""

    ADDED_LATER: ClassVar[dict[str, Any]] = {"prior_weight": 0.0}

    token: str = Field("<meta>", description="the metaword token added to the edge vocabulary")
    rank: int = Field(4, ge=1, description="LoRA rank")
    alpha: float = Field(4.0, gt=0, description="LoRA alpha (scale alpha/rank)")
    targets: list[str] = Field(default_factory=lambda: list(LORA_TARGETS))
    metaword_fraction: float = Field(0.25, gt=0, lt=1,
                                     description="share of the step budget spent on stage A")
    metaword_lr: float = Field(1e-2, gt=0)
    metaword_placement: Literal["end", "before_class"] = Field(
        "end", description="where the metaword goes in the prompt (metaword.PLACEMENTS)")
    metaword_anchor: float = Field(
        0.0, ge=0, description="weight of ‖v − v₀‖²/‖v₀‖², which keeps the metaword v near its "
                               "class-word initialization v₀ in stage A (0: unconstrained)")
    lora_lr: float = Field(5e-4, gt=0)
    prior_weight: float = Field(
        0.0, ge=0, description="DreamBooth prior preservation in stage B: weight of the ε-loss "
                               "on the un-adapted edge's own samples for the plain prompts "
                               "(without the metaword), one per teacher image (0: off)")
    batch_size: int = Field(16, ge=1)
    warmup_steps: int = Field(5, ge=0)


# ---- distillation ------------------------------------------------------------------------
Method = Literal["none", "metaword", "lora", "makd"]
#: ablation name → (uses metaword, uses LoRA)
METHODS: Registry[tuple[bool, bool]] = Registry("makd method")
for _n, _v in {"none": (False, False), "metaword": (True, False), "lora": (False, True),
               "makd": (True, True)}.items():
    METHODS.register(_n, _v)


def split_budget(method: str, steps: int, fraction: float) -> tuple[int, int]:
    """(metaword steps, LoRA steps) for ``method`` at a total budget of ``steps``."""
    use_m, use_l = METHODS.get(method)
    if use_m and use_l:
        a = max(1, min(steps - 1, round(steps * fraction)))
        return a, steps - a
    return (steps if use_m else 0), (steps if use_l else 0)


def edge_prompts(prompts: Sequence[str], method: str, token: str, class_word: str,
                 placement: str = "end") -> list[str]:
    """The prompts the edge is trained and sampled with under ``method``."""
    use_m, _ = METHODS.get(method)
    return [insert_metaword(p, token, class_word, placement) if use_m else p for p in prompts]


def _train_cfg(steps: int, lr: float, cfg: MAKDConfig, log_every: int) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=cfg.batch_size, lr=lr, weight_decay=0.0,
                       warmup_steps=min(cfg.warmup_steps, max(0, steps - 1)), schedule="cosine",
                       log_every=max(1, min(log_every, steps)), checkpoint_every=max(steps, 1),
                       grad_clip=1.0)


def align(
    edge: EdgeLDM, teacher_images: torch.Tensor, prompts: Sequence[str], class_word: str,
    cfg: MAKDConfig, method: str, steps: int, work: str | Path, *, seed: int = 0,
    log: Callable[..., None] | None = None,
) -> MAKDDeliverable:
    """Align ``edge`` (in place) to the teacher images of one subject; returns the deliverable.

    ``teacher_images`` (N, 3, H, W) in [0, 1] are the cloud's images for ``prompts`` (N,).
    ``method`` is an ablation from :data:`METHODS`; ``steps`` the total optimizer-step budget.
    """
    use_m, use_l = METHODS.get(method)
    deliverable = MAKDDeliverable(class_word=class_word, placement=cfg.metaword_placement,
                                  edge_fingerprint=edge.fingerprint(), edge_origin=edge.origin)
    if not (use_m or use_l) or steps <= 0:
        return deliverable
    work = Path(work)
    z0 = edge.encode_images(teacher_images).cpu()
    prior: tuple[torch.Tensor, torch.Tensor] | None = None
    if use_l and cfg.prior_weight > 0:  # class samples of the edge before any adaptation
        seeds = derive_seeds(seed, 900_000, len(prompts))
        prior = (edge.generate_latents(list(prompts), seeds).cpu(),
                 edge.tokenize(list(prompts)).cpu())
    texts = edge_prompts(prompts, method, cfg.token, class_word, cfg.metaword_placement)
    n_a, n_b = split_budget(method, steps, cfg.metaword_fraction)
    for m in (edge.unet, edge.text_encoder, edge.vae):
        m.requires_grad_(False)
    mw: MetawordTextEncoder | None = None
    if use_m:
        tid = add_metaword(edge.tokenizer, edge.text_encoder, cfg.token, class_word)
        mw = MetawordTextEncoder(edge.text_encoder, tid)
        edge.metaword = cfg.token
    ids = edge.tokenize(texts).cpu()
    fp = json.dumps({"cfg": cfg.fingerprint_dump(), "method": method, "steps": steps, "seed": seed,
                     "prompts": list(texts), "z": float(z0.double().sum())})

    def batch_fn_for(trainer: Trainer) -> Callable[[int], dict[str, torch.Tensor]]:
        def batch_fn(step: int) -> dict[str, torch.Tensor]:
            idx = batch_indices(step, len(z0), cfg.batch_size, seed, trainer.rank,
                                trainer.world_size)
            batch = {"z": z0[idx], "ids": ids[idx]}
            if prior is not None:
                batch.update(z_prior=prior[0][idx], ids_prior=prior[1][idx])
            return batch

        return batch_fn

    def encode(mods: Mapping[str, nn.Module], b_ids: torch.Tensor) -> torch.Tensor:
        if "metaword" in mods:
            return mods["metaword"](b_ids)
        return edge.text_encoder(b_ids)[0]

    if n_a:
        assert mw is not None
        trainer = Trainer({"metaword": mw, "unet": edge.unet},
                          _train_cfg(n_a, cfg.metaword_lr, cfg, 25), work / "metaword",
                          seed=seed, tag=f"{method}/metaword", fingerprint=fp, log=log)
        v0 = mw.vector.detach().clone()

        def stage_a(mods: Mapping[str, nn.Module], b: dict[str, torch.Tensor]) -> dict:
            eps = eps_loss(mods["unet"], encode(mods, b["ids"]), b["z"], edge.scheduler)
            drift = (mw.vector - v0).square().sum() / v0.square().sum()
            return {"loss": eps + cfg.metaword_anchor * drift, "eps": eps, "drift": drift}

        trainer.fit(batch_fn_for(trainer), stage_a)
        mw.commit()
    if n_b:
        edge.unet.add_adapter(lora_config(cfg.rank, cfg.alpha, cfg.targets), adapter_name=ADAPTER)
        mods: dict[str, nn.Module] = {"unet": edge.unet}
        if mw is not None:  # stage B keeps the optimized metaword fixed
            mw.vector.requires_grad_(False)
            mods["metaword"] = mw
        trainer = Trainer(mods, _train_cfg(n_b, cfg.lora_lr, cfg, 25), work / "lora", seed=seed,
                          tag=f"{method}/lora", fingerprint=fp, log=log)
        same_text = list(texts) == list(prompts)  # LoRA only: no metaword in the prompts

        def stage_b(mods: Mapping[str, nn.Module], b: dict[str, torch.Tensor]) -> dict:
            emb = encode(mods, b["ids"])
            eps = eps_loss(mods["unet"], emb, b["z"], edge.scheduler)
            if "z_prior" not in b:
                return {"loss": eps}
            prior_emb = emb if same_text else encode(mods, b["ids_prior"])
            kept = eps_loss(mods["unet"], prior_emb, b["z_prior"], edge.scheduler)
            return {"loss": eps + cfg.prior_weight * kept, "eps": eps, "prior": kept}

        trainer.fit(batch_fn_for(trainer), stage_b)
        if mw is not None:
            mw.commit()
        deliverable.lora = {k.replace(f".{ADAPTER}", ""): v.detach().cpu().clone()
                            for k, v in get_peft_model_state_dict(
                                edge.unet, adapter_name=ADAPTER).items()}
        deliverable.rank, deliverable.alpha = cfg.rank, cfg.alpha
        deliverable.targets = list(cfg.targets)
    if mw is not None:
        deliverable.token = cfg.token
        deliverable.embedding = mw.vector.detach().cpu().clone()
    edge.unet.eval()
    return deliverable
