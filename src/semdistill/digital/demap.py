"""Soft demapping after the Link's equalizer: LLRs that match the equalizer's effective noise.

The Link returns ``z_hat`` from a per-symbol scalar equalizer. Writing ``y = ĥ x + w`` with
``w = n − e x`` (``e = ĥ − h``, the CSI error of variance σe², Es = 1, treated as Gaussian),
each equalizer is an effective channel ``z_hat = g x + v`` (docs/digital.md, "Demapper"):

| equalizer | gain g | Var(v) |
|---|---|---|
| ``zf`` | 1 | (N0 + σe²) / \\|ĥ\\|² |
| ``mmse`` | \\|ĥ\\|² / (\\|ĥ\\|² + N0) | g² (N0 + σe²) / \\|ĥ\\|² |

so ``z_hat / g`` is an unbiased estimate of ``x`` with noise variance ``Var(v) / g²``, which
Sionna's exact ("app") demapper turns into bit LLRs on the project's own constellation (the same
labels: point i carries binary(i), MSB first). Exact with perfect CSI.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from semdistill.channels import Constellation, LinkOutput
from semdistill.channels.equalization import ZF_EPS
from semdistill.digital.fec import require_sionna
from semdistill.registry import Registry

#: ``(h_hat (B, K), N0 (B, 1), sigma_e^2) -> (gain (B, K), Var(v) (B, K))`` of an equalizer.
Effective = Callable[[torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]
EFFECTIVE: Registry[Effective] = Registry("equalizer")


@EFFECTIVE.register("zf")
def _zf(h_hat: torch.Tensor, n0: torch.Tensor, csi_var: float
        ) -> tuple[torch.Tensor, torch.Tensor]:
    power = h_hat.abs().square().clamp_min(ZF_EPS)
    return torch.ones_like(power), (n0 + csi_var) / power


@EFFECTIVE.register("mmse")
def _mmse(h_hat: torch.Tensor, n0: torch.Tensor, csi_var: float
          ) -> tuple[torch.Tensor, torch.Tensor]:
    power = h_hat.abs().square()
    gain = power / (power + n0)
    return gain, gain.square() * (n0 + csi_var) / power.clamp_min(ZF_EPS)


def unbiased(out: LinkOutput, equalizer: str, csi_error_var: float = 0.0
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x_tilde, noise_var)``, both ``(B, K)``: the equalized symbols rescaled to unit gain and
    their effective noise variance per complex symbol."""
    n0 = out.noise_var.reshape(-1, 1).to(out.h_hat.real.dtype)
    gain, var = EFFECTIVE.get(equalizer)(out.h_hat, n0, csi_error_var)
    gain = gain.clamp_min(ZF_EPS)
    return out.z_hat / gain, var / gain.square()


class SoftDemapper:
    """Exact bit LLRs for a project :class:`~semdistill.channels.Constellation`, through
    ``sionna.phy.mapping.Demapper("app")`` on the same points and labels."""

    def __init__(self, constellation: Constellation) -> None:
        mapping = require_sionna("sionna.phy.mapping")
        m = constellation.bits_per_symbol
        points = constellation.points.detach().cpu()
        sionna_const = mapping.Constellation("custom", m, points=points, device="cpu")
        self._demapper = mapping.Demapper("app", constellation=sionna_const, device="cpu")
        self.bits_per_symbol = m

    def __call__(self, x_tilde: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` symbols and noise variances → LLRs ``(B, K·m)``, log p(1)/p(0)."""
        return self._demapper(x_tilde.to(torch.complex64).cpu(),
                              noise_var.float().clamp_min(1e-12).cpu())
