"""Loss terms of the information-bottleneck distillation objective (pure functions).

    L = τ²·CE_soft(p_T, q(X')) + λ·CE(y, q(X')) + β·KL(p(X'|I) ‖ r(X')) / k

- :func:`soft_cross_entropy`: relevance term against the (stored or online) teacher distribution,
  computed on the student's output *after* the channel.
- :func:`cross_entropy`: ground-truth labels.
- :func:`gaussian_channel_kl`: the closed-form rate term for the Gaussian channel
  ``X' = h·x + n``, ``n ~ CN(0, N0)``, against the prior ``r = CN(0, σ_r²)`` (derivation in
  docs/ltsc.md). With σ_r² = E|h|²·Es_max + N0 = 1 + N0 it upper-bounds I(I; X') per channel use
  and equals log(1 + SNR) when the sample uses its full power.

:class:`WeightedTerms` combines named terms with weights and returns each term for logging
(torchdistill's weighted-sum pattern, typed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from semdistill.data.views import UNLABELLED


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                       temperature: float = 1.0) -> torch.Tensor:
    """τ²·mean_b[ −Σ_c p_T[b,c] · log softmax(z[b]/τ)[c] ] for logits/target ``(B, C)``."""
    logp = F.log_softmax(logits.float() / temperature, dim=-1)
    return -(target.float() * logp).sum(-1).mean() * temperature**2


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CE of ``(B, C)`` logits against ``(B,)`` int labels, averaged over the batch, where a
    sample labelled :data:`~semdistill.data.UNLABELLED` (−1, a transfer-set image) adds 0.

    Dividing by B, not by the labelled count, keeps each labelled sample's weight what it is
    in a fully labelled batch: averaged over the few labelled samples of a batch mostly made of
    transfer images, the term is a noisy gradient that dominates the KD term and stalls the
    start of training (docs/ltsc.md, "The styled scenario")."""
    per = F.cross_entropy(logits.float(), labels, ignore_index=UNLABELLED, reduction="none")
    return per.sum() / len(labels)


def gaussian_channel_kl(mean: torch.Tensor, noise_var: torch.Tensor | float,
                        prior_var: torch.Tensor | float) -> torch.Tensor:
    """KL( CN(μ, N0·I_k) ‖ CN(0, σ_r²·I_k) ) per sample, in nats, summed over the k symbols.

    For circularly-symmetric complex Gaussians (no ½ factor, unlike the real case):
    ``KL = Σ_k [ log(σ_r²/N0) + (N0 + |μ_k|²)/σ_r² − 1 ]``.

    Args:
        mean: received-signal mean ``h·x`` ``(B, k)`` complex.
        noise_var: N0 per complex symbol, ``(B,)`` or float.
        prior_var: σ_r², ``(B,)`` or float.

    Returns ``(B,)``.
    """
    b, k = mean.shape
    n0 = torch.as_tensor(noise_var, dtype=torch.float32, device=mean.device).expand(b)
    sr = torch.as_tensor(prior_var, dtype=torch.float32, device=mean.device).expand(b)
    energy = (mean.real.float().square() + mean.imag.float().square()).sum(dim=1)
    return k * (torch.log(sr / n0) + n0 / sr - 1.0) + energy / sr


def channel_rate(x: torch.Tensor, h: torch.Tensor, noise_var: torch.Tensor) -> torch.Tensor:
    """The IB rate term per channel use ``(B,)``: KL(CN(h x, N0) ‖ CN(0, 1 + N0)) / k."""
    k = x.shape[1]
    return gaussian_channel_kl(h * x, noise_var, 1.0 + noise_var) / k


@dataclass(frozen=True)
class WeightedTerms:
    """Named, weighted loss terms: ``__call__(terms) -> {"loss": Σ w·t, **terms}``.

    Terms with weight 0 are still returned (logged) but do not enter the loss.
    """

    weights: Mapping[str, float]

    def __call__(self, terms: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        unknown = set(self.weights) - set(terms)
        if unknown:
            raise KeyError(f"missing loss terms: {sorted(unknown)}")
        total = sum(float(w) * terms[n] for n, w in self.weights.items() if w != 0)
        if not isinstance(total, torch.Tensor):
            raise ValueError("every loss weight is 0: nothing to optimize")
        return {"loss": total, **{n: t.detach() for n, t in terms.items()}}
