"""Gated LoRA layers: a frozen base layer plus E LoRA experts mixed per sample.

For a sample with gate weights ``g`` (E,), the layer computes

    y = base(x) + s · Σ_e g_e · B_e (A_e x),      s = alpha / rank.

All experts are applied at once: the E rank-r down-projections are stacked into one (E·r)-row
matrix (a single matmul, or a single conv for ``Conv2d``), the (B, E·r) activations are scaled by
the per-sample gate repeated over each expert's rank, and one up-projection (a matmul or a 1×1
conv) sums the experts. No Python loop runs over samples or experts. The gate is passed in by
the owning model (:class:`~semdistill.models.cala.model.CALAModel`) through :meth:`set_gate`.

``merge(g)`` folds ``s · Σ_e g_e B_e A_e`` into the base weight for one fixed condition, so the
merged layer costs exactly as much as the base; ``unmerge()`` restores the original weight.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn


class GatedLoRALayer(nn.Module, ABC):
    """Shared state of the gated LoRA layers (see the module docstring).

    Attributes:
        base: the wrapped layer, frozen.
        lora_A: ``(E·r, fan_in)`` parameter (``(E·r, C_in, kh, kw)`` for convolutions),
            Kaiming-uniform initialized; rows ``e·r … e·r+r-1`` belong to expert e.
        lora_B: ``(out, E·r)`` parameter, zero-initialized (the layer starts equal to ``base``).
    """

    lora_A: nn.Parameter
    lora_B: nn.Parameter

    def __init__(self, base: nn.Module, num_experts: int, rank: int, alpha: float) -> None:
        super().__init__()
        if num_experts < 1 or rank < 1:
            raise ValueError(f"need num_experts >= 1 and rank >= 1, got {num_experts}, {rank}")
        self.base = base
        self.base.requires_grad_(False)
        self.num_experts, self.rank = int(num_experts), int(rank)
        self.scaling = float(alpha) / rank
        self._gate: torch.Tensor | None = None
        self._rank_gate_t: torch.Tensor | None = None
        self._merged_from: torch.Tensor | None = None

    # ---- gate --------------------------------------------------------------------------------
    def set_gate(self, gate: torch.Tensor | None, rank_gate: torch.Tensor | None = None) -> None:
        """Per-sample gate ``(B, E)`` for the next forward calls (None: no adapter update).

        ``rank_gate`` optionally passes the gate already repeated over each expert's rank
        ``(B, E·r)`` (the owning model computes it once for all its layers).
        """
        if gate is not None and (gate.dim() != 2 or gate.shape[1] != self.num_experts):
            raise ValueError(f"gate must be (B, {self.num_experts}), got {tuple(gate.shape)}")
        self._gate = gate
        if gate is not None and rank_gate is None:
            rank_gate = gate.repeat_interleave(self.rank, dim=1)
        self._rank_gate_t = rank_gate

    @property
    def merged(self) -> bool:
        """True while a fixed-condition update is folded into ``base.weight``."""
        return self._merged_from is not None

    def _rank_gate(self, batch: int) -> torch.Tensor:
        """The gate repeated over each expert's rank: ``(B, E·r)``."""
        g = self._rank_gate_t
        if g is None:
            raise RuntimeError("gated LoRA layer called without a gate: run it through CALAModel")
        if g.shape[0] != batch:
            raise ValueError(f"gate has {g.shape[0]} rows for a batch of {batch}")
        return g

    # ---- merge -------------------------------------------------------------------------------
    @abstractmethod
    def delta_weight(self, gate: torch.Tensor) -> torch.Tensor:
        """``s · Σ_e g_e B_e A_e`` for one condition ``gate`` ``(E,)``, shaped like the weight."""
        ...

    @torch.no_grad()
    def merge(self, gate: torch.Tensor) -> None:
        """Fold the mixture for the fixed ``gate`` ``(E,)`` into ``base.weight``."""
        if self.merged:
            raise RuntimeError("layer is already merged; call unmerge() first")
        w = self.base.weight
        self._merged_from = w.detach().clone()
        w.add_(self.delta_weight(gate.to(w)).to(w.dtype))

    @torch.no_grad()
    def unmerge(self) -> None:
        """Restore the base weight saved by :meth:`merge` (exactly)."""
        if self._merged_from is None:
            raise RuntimeError("layer is not merged")
        self.base.weight.copy_(self._merged_from)
        self._merged_from = None

    def extra_repr(self) -> str:
        return f"experts={self.num_experts}, rank={self.rank}, scaling={self.scaling:g}"


class GatedLoRALinear(GatedLoRALayer):
    """``nn.Linear`` with E gated LoRA experts; input ``(B, ..., in)`` → ``(B, ..., out)``."""

    def __init__(self, base: nn.Linear, num_experts: int = 4, rank: int = 2,
                 alpha: float = 2.0) -> None:
        super().__init__(base, num_experts, rank, alpha)
        er = self.num_experts * self.rank
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(er, base.in_features, device=w.device,
                                               dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, er, device=w.device,
                                               dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        g = self._rank_gate(x.shape[0])  # (B, E·r)
        h = F.linear(x, self.lora_A)  # (B, ..., E·r)
        h = h * g.reshape(g.shape[0], *([1] * (h.dim() - 2)), g.shape[1])
        return y + F.linear(h, self.lora_B) * self.scaling

    def delta_weight(self, gate: torch.Tensor) -> torch.Tensor:
        g = gate.reshape(-1).repeat_interleave(self.rank)  # (E·r,)
        return (self.lora_B * g) @ self.lora_A * self.scaling


class GatedLoRAConv2d(GatedLoRALayer):
    """``nn.Conv2d`` (groups = 1) with E gated LoRA experts; ``(B, C_in, H, W)`` → ``(B, C_out, H', W')``.

    Each expert's down-projection is a conv with the base kernel, stride, padding and dilation
    and r output channels; the up-projection is a 1×1 conv (peft's conv LoRA).
    """

    def __init__(self, base: nn.Conv2d, num_experts: int = 4, rank: int = 2,
                 alpha: float = 2.0) -> None:
        if base.groups != 1:
            raise ValueError("GatedLoRAConv2d supports groups=1 convolutions only")
        if base.padding_mode != "zeros":
            raise ValueError("GatedLoRAConv2d supports padding_mode='zeros' only")
        super().__init__(base, num_experts, rank, alpha)
        er = self.num_experts * self.rank
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(er, base.in_channels, *base.kernel_size,
                                               device=w.device, dtype=w.dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_channels, er, device=w.device,
                                               dtype=w.dtype))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if self.merged:
            return y
        b = self.base
        g = self._rank_gate(x.shape[0])  # (B, E·r)
        h = F.conv2d(x, self.lora_A, None, b.stride, b.padding, b.dilation)  # (B, E·r, H', W')
        h = h * g[:, :, None, None]
        up = self.lora_B[:, :, None, None]
        return y + F.conv2d(h, up) * self.scaling

    def delta_weight(self, gate: torch.Tensor) -> torch.Tensor:
        g = gate.reshape(-1).repeat_interleave(self.rank)  # (E·r,)
        a = self.lora_A.flatten(1)  # (E·r, C_in·kh·kw)
        return ((self.lora_B * g) @ a * self.scaling).reshape_as(self.base.weight)


#: base layer type name → its gated wrapper (a registry over the supported layer types).
LAYER_TYPES: dict[str, tuple[type[nn.Module], type[GatedLoRALayer]]] = {
    "Linear": (nn.Linear, GatedLoRALinear),
    "Conv2d": (nn.Conv2d, GatedLoRAConv2d),
}
