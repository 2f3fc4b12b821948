"""VGSA (paper v1): one LoRA per SNR group, hard-switched by each sample's SNR.

It reuses the CALA machinery (:class:`~semdistill.models.cala.CALAModel`): the G group LoRAs are
the G experts of the gated layers, and the gate is the one-hot vector of the sample's SNR group,
so a sample only ever uses (and trains) the LoRA of its group.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from semdistill.models.cala import CALAConfig, CALAModel


def snr_group_edges(low_db: float, high_db: float, groups: int) -> list[float]:
    """Inner edges (dB) of ``groups`` equal-width SNR groups over [low, high]: G − 1 values."""
    if groups < 1 or high_db <= low_db:
        raise ValueError(f"need groups >= 1 and high > low, got {groups}, [{low_db}, {high_db}]")
    step = (high_db - low_db) / groups
    return [low_db + step * i for i in range(1, groups)]


class SNRGroupGate(nn.Module):
    """Hard gate: one-hot of the SNR group ``(B, G)``; group i covers [edge_{i-1}, edge_i) dB.

    Args:
        edges_db: the G − 1 ascending inner group edges in dB (the outer groups are open).
    """

    edges: torch.Tensor

    def __init__(self, edges_db: Sequence[float]) -> None:
        super().__init__()
        edges = torch.tensor(list(edges_db), dtype=torch.float32)
        if edges.numel() > 1 and not bool((edges[1:] > edges[:-1]).all()):
            raise ValueError(f"SNR group edges must be ascending, got {list(edges_db)}")
        self.register_buffer("edges", edges, persistent=False)
        self.num_experts = edges.numel() + 1

    def group(self, snr_db: torch.Tensor) -> torch.Tensor:
        """SNR group index ``(B,)`` int64 of each sample's SNR ``(B,)`` dB."""
        return torch.bucketize(snr_db.float(), self.edges.to(snr_db.device), right=True)

    def forward(self, rate_index: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        return F.one_hot(self.group(snr_db), self.num_experts).float()


def build_vgsa(model: nn.Module, rank: int, alpha: float, num_rates: int,
               edges_db: Sequence[float],
               target_modules: tuple[str, ...] = ("Linear", "Conv2d")) -> CALAModel:
    """VGSA: ``len(edges_db) + 1`` LoRAs of ``rank``, one per SNR group, hard-switched by SNR."""
    gate = SNRGroupGate(edges_db)
    cfg = CALAConfig(num_experts=gate.num_experts, rank=rank, alpha=alpha,
                     target_modules=target_modules)
    return CALAModel(model, cfg, num_rates, gate=gate)
