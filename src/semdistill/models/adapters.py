"""The adaptation methods of a frozen latent JSCC codec, by name (docs/dekag-cala.md, Baselines).

- ``shared_lora``: one LoRA of rank E·r behind a constant gate (CALA's expert budget);
- ``vgsa``: one LoRA per SNR group, hard-switched by each sample's SNR (:mod:`.vgsa`);
- ``cala``: E gated LoRA experts, gate from the (rate, SNR) condition (:mod:`.cala`);
- ``full_ft``: a trainable copy of every codec parameter (the upper bound).

Each builder of :data:`METHOD_BUILDERS` takes ``(base_codec, AdapterSpec)`` and returns the
model to train; the base codec itself is never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field
from torch import nn

from semdistill.config import SNRRange, StrictModel
from semdistill.metrics.complexity import count_parameters
from semdistill.models.cala import CALAConfig, build_cala, build_shared_lora
from semdistill.models.latent_jscc import LatentJSCC
from semdistill.models.vgsa import build_vgsa, snr_group_edges
from semdistill.registry import Registry


class AdapterSpec(StrictModel):
    """The adaptation methods and their sizes (trained with equal budgets)."""

    methods: list[Literal["shared_lora", "vgsa", "cala", "full_ft"]] = Field(
        default_factory=lambda: ["shared_lora", "vgsa", "cala", "full_ft"])
    cala: CALAConfig = Field(default_factory=CALAConfig)
    shared_rank: int | None = Field(None, ge=1,
                                    description="default: E·r (CALA's expert parameters)")
    vgsa_groups: int = Field(4, ge=1, description="SNR groups (one LoRA of rank r each)")
    snr: SNRRange = Field(default_factory=SNRRange)


def _vgsa(base: LatentJSCC, spec: AdapterSpec) -> nn.Module:
    edges = snr_group_edges(spec.snr.low, spec.snr.high, spec.vgsa_groups)
    return build_vgsa(base, spec.cala.rank, spec.cala.alpha, base.num_rates, edges,
                      spec.cala.target_modules)


def _shared(base: LatentJSCC, spec: AdapterSpec) -> nn.Module:
    c = spec.cala
    rank = spec.shared_rank or c.num_experts * c.rank
    return build_shared_lora(base, rank, c.alpha * rank / c.rank, base.num_rates,
                             c.target_modules)


def _cala(base: LatentJSCC, spec: AdapterSpec) -> nn.Module:
    return build_cala(base, spec.cala, base.num_rates)


def _full(base: LatentJSCC, spec: AdapterSpec) -> nn.Module:
    model = copy.deepcopy(base)
    model.requires_grad_(True)
    return model


#: method name → builder of its trainable model from the frozen base codec.
METHOD_BUILDERS: Registry[Callable[[LatentJSCC, AdapterSpec], nn.Module]] = Registry("method")
METHOD_BUILDERS.register("shared_lora", _shared)
METHOD_BUILDERS.register("vgsa", _vgsa)
METHOD_BUILDERS.register("cala", _cala)
METHOD_BUILDERS.register("full_ft", _full)


def trainable_count(model: nn.Module, base_params: int) -> dict[str, Any]:
    """Trainable parameters of ``model`` and their fraction of the base codec's ``base_params``:
    ``{"trainable", "base_params", "fraction"}``."""
    n = count_parameters(model, trainable_only=True)
    return {"trainable": n, "base_params": base_params, "fraction": n / base_params}
