"""``CALAConfig``: the typed settings of condition-aware LoRA (design §6.4, paper notes §4.1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from semdistill.config import StrictModel

#: layer types an adapter can wrap (``nn.Linear`` and ``nn.Conv2d``).
TargetType = Literal["Linear", "Conv2d"]


class CALAConfig(StrictModel):
    """Gated LoRA experts on every target layer, mixed per sample by a condition gate.

    ``W(c) = W0 + (alpha / rank) · Σ_e g_e(c) · B_e A_e`` with ``g(c) = softmax(MLP(c) / τ)``
    and ``c = (one-hot rate, SNR dB / 20)``.

    Attributes:
        num_experts: E, LoRA experts per layer.
        rank: r, rank of each expert.
        alpha: LoRA scaling numerator (the update is scaled by ``alpha / rank``).
        gate_hidden: width of the gate MLP's hidden layer.
        temperature: τ of the gate softmax (larger = softer mixture).
        target_modules: layer types that get experts.
        snr_scale_db: SNR normalization of the condition vector (``SNR_dB / snr_scale_db``).
    """

    num_experts: int = Field(4, ge=1)
    rank: int = Field(2, ge=1)
    alpha: float = Field(8.0, gt=0)
    gate_hidden: int = Field(32, ge=1)
    temperature: float = Field(1.0, gt=0)
    target_modules: tuple[TargetType, ...] = Field(("Linear", "Conv2d"), strict=False,
                                                  description="layer types to adapt (a list)")
    snr_scale_db: float = Field(20.0, gt=0)

    @property
    def scaling(self) -> float:
        """The LoRA update factor ``alpha / rank``."""
        return self.alpha / self.rank
