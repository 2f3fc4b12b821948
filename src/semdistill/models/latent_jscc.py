"""Latent JSCC codec: edge latents → K_max complex symbols → constellation → fading → latents.

Pipeline of :meth:`LatentJSCC.forward` for latents ``z`` ``(B, C, h, w)``, a per-sample rate index
``r`` ``(B,)`` and SNR ``(B,)`` dB (paper notes §2.3–§2.4, design §6.3):

1. encoder (conv → strided conv → linear) → ``2·K_max`` reals → ``s`` ``(B, K_max)`` complex;
2. variable rate: sample b keeps its first ``K_{r_b}`` symbols, the rest are zeroed (not sent);
3. power normalization over the kept symbols (Es = 1) and constellation quantization with a
   straight-through gradient (:meth:`semdistill.channels.Constellation.quantize`);
4. the channel (:class:`semdistill.channels.Link`: correlated Rayleigh block fading by default,
   MMSE or ZF equalization with perfect CSI) over the ``K_r`` sent symbols of each sample —
   the fading blocks span the symbols actually sent;
5. the receiver zero-fills symbols ``K_r … K_max − 1`` and the decoder, told ``r`` (one-hot
   concatenated to its input), maps ``(B, 2·K_max + R)`` reals back to latents ``(B, C, h, w)``.

The loss :func:`jscc_loss` is a latent distortion + β · commitment ``|s − sg(ŝ)|²`` (a pure
function). The distortion is the batch MSE (the paper's reading) or the mean per-sample log-MSE
(:data:`DISTORTIONS`), which weighs every sample by its relative error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from semdistill.channels import Link, complex_to_real, get_constellation
from semdistill.channels.config import ChannelConfig
from semdistill.config import StrictModel
from semdistill.metrics.image import mse_per_sample

#: floor on the measured symbol power before normalizing.
_EPS = 1e-12
#: floor on a sample's MSE inside the log-MSE distortion (a perfect sample has a finite loss).
_LOG_MSE_FLOOR = 1e-6

#: latent distortions, from the per-sample MSE ``(B,)`` to a scalar: ``"mse"`` is their mean (the
#: batch MSE); ``"log_mse"`` is the mean of ln(MSE_b + 1e-6), i.e. it maximizes the mean
#: per-sample PSNR, so a sample at 20 dB SNR counts as much as one at −5 dB (with ``"mse"`` the
#: large errors of the low-rate, low-SNR samples dominate the gradient).
DISTORTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "mse": torch.mean,
    "log_mse": lambda per_sample: torch.log(per_sample + _LOG_MSE_FLOOR).mean(),
}


def _default_channel() -> ChannelConfig:
    return ChannelConfig(name="rayleigh_block", num_blocks=4, correlation="dispersion",
                         omega=0.05, spacing=1.0, equalizer="mmse")


class LatentJSCCConfig(StrictModel):
    """Architecture, rates, modulation and channel of the latent JSCC codec.

    Attributes:
        hidden: channels of the first conv (full latent resolution).
        width: channels after the strided conv (half resolution), flattened into the linear.
        k_max: K_max, complex symbols the encoder emits.
        rates: the K_r of each rate index, ascending, each ≤ ``k_max``.
        constellation: ``"bpsk"``, ``"qpsk"``, ``"16qam"`` or ``"64qam"``.
        quantize: ``"hard"`` (nearest point, straight-through), ``"soft"`` or ``"none"``.
        soft_temperature: temperature of the ``"soft"`` quantizer (symbol-energy units).
        beta: weight of the commitment term.
        distortion: the latent distortion of the loss, a key of :data:`DISTORTIONS`.
        channel: the physical channel (correlated Rayleigh block fading + MMSE by default).
    """

    ADDED_LATER: ClassVar[dict[str, Any]] = {"distortion": "mse"}

    hidden: int = Field(32, ge=1)
    width: int = Field(112, ge=1)
    k_max: int = Field(128, ge=1)
    rates: list[int] = Field(default_factory=lambda: [16, 32, 64, 128], min_length=1)
    constellation: Literal["bpsk", "qpsk", "16qam", "64qam"] = "16qam"
    quantize: Literal["hard", "soft", "none"] = "hard"
    soft_temperature: float = Field(0.05, gt=0)
    beta: float = Field(0.25, ge=0)
    distortion: Literal["mse", "log_mse"] = "mse"
    channel: ChannelConfig = Field(default_factory=_default_channel)

    @model_validator(mode="after")
    def _rates_ok(self) -> LatentJSCCConfig:
        if sorted(self.rates) != self.rates or len(set(self.rates)) != len(self.rates):
            raise ValueError(f"rates must be strictly ascending, got {self.rates}")
        if self.rates[0] < 1 or self.rates[-1] > self.k_max:
            raise ValueError(f"rates must lie in [1, k_max={self.k_max}], got {self.rates}")
        if self.rates[0] < self.channel.num_blocks:
            raise ValueError(f"the smallest rate ({self.rates[0]} symbols) cannot fill "
                             f"{self.channel.num_blocks} fading blocks")
        return self


@dataclass
class JSCCOutput:
    """What :meth:`LatentJSCC.forward` returns.

    Attributes:
        z_hat: reconstructed latents ``(B, C, h, w)``.
        s: encoder symbols after masking and power normalization ``(B, K_max)`` complex.
        s_q: quantized symbols (straight-through) ``(B, K_max)``, zero beyond ``K_r``.
        s_hat: equalized received symbols, zero-filled beyond ``K_r`` ``(B, K_max)``.
        mask: ``(B, K_max)`` float, 1 for the sent symbols.
    """

    z_hat: torch.Tensor
    s: torch.Tensor
    s_q: torch.Tensor
    s_hat: torch.Tensor
    mask: torch.Tensor


class LatentEncoder(nn.Module):
    """``(B, C, h, w)`` latents → ``(B, 2·K_max)`` reals (conv, strided conv, linear)."""

    def __init__(self, latent_shape: tuple[int, int, int], hidden: int, width: int,
                 k_max: int) -> None:
        super().__init__()
        c, h, w = latent_shape
        self.conv1 = nn.Conv2d(c, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, width, 3, stride=2, padding=1)
        self.flat = width * ((h + 1) // 2) * ((w + 1) // 2)
        self.proj = nn.Linear(self.flat, 2 * k_max)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv1(z))
        x = F.gelu(self.conv2(x))
        return self.proj(x.flatten(1))


class LatentDecoder(nn.Module):
    """``(B, 2·K_max)`` reals + rate one-hot ``(B, R)`` → ``(B, C, h, w)`` latents."""

    def __init__(self, latent_shape: tuple[int, int, int], hidden: int, width: int,
                 k_max: int, num_rates: int) -> None:
        super().__init__()
        c, h, w = latent_shape
        self.latent_shape = latent_shape
        self.half = (width, (h + 1) // 2, (w + 1) // 2)
        self.proj = nn.Linear(2 * k_max + num_rates, width * self.half[1] * self.half[2])
        self.conv1 = nn.Conv2d(width, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, c, 3, padding=1)

    def forward(self, x: torch.Tensor, rate_onehot: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.proj(torch.cat([x, rate_onehot.to(x.dtype)], dim=1)))
        y = y.reshape(y.shape[0], *self.half)
        y = F.interpolate(y, size=self.latent_shape[1:], mode="nearest")
        y = F.gelu(self.conv1(y))
        return self.conv2(y)


def rate_mask(rate_index: torch.Tensor, rates: torch.Tensor, k_max: int) -> torch.Tensor:
    """``(B, K_max)`` float mask: 1 for symbol k < K_{r_b} (sent), 0 otherwise."""
    k = rates.to(rate_index.device)[rate_index.long()]  # (B,)
    return (torch.arange(k_max, device=rate_index.device)[None, :] < k[:, None]).float()


def masked_power_normalize(s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Zero the unsent symbols and scale each sample to Es = 1 over its sent ones ``(B, K)``."""
    s = s * mask
    power = s.abs().square().sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True)
    return s * torch.rsqrt(power.clamp_min(_EPS))


class LatentJSCC(nn.Module):
    """Variable-rate latent JSCC codec over a fading channel (see the module docstring).

    Args:
        latent_shape: ``(C, h, w)`` of the edge latents.
        config: :class:`LatentJSCCConfig`.
    """

    rates_t: torch.Tensor

    def __init__(self, latent_shape: tuple[int, int, int], config: LatentJSCCConfig) -> None:
        super().__init__()
        self.latent_shape = tuple(int(v) for v in latent_shape)
        self.config = config
        self.k_max = config.k_max
        self.rates = list(config.rates)
        self.num_rates = len(self.rates)
        self.register_buffer("rates_t", torch.tensor(self.rates), persistent=False)
        self.encoder = LatentEncoder(self.latent_shape, config.hidden, config.width, config.k_max)
        self.decoder = LatentDecoder(self.latent_shape, config.hidden, config.width,
                                     config.k_max, self.num_rates)
        self.constellation = get_constellation(config.constellation)
        # symbols are normalized before quantization: the constellation points go out as they are
        self.link = Link.from_config(config.channel, normalize=False)

    def describe(self) -> str:
        """One line naming the codec for messages: ``LatentJSCC 4×8×8, K_max 128, rates
        16/32/64/128, 16qam``."""
        c = self.config
        return (f"LatentJSCC {'×'.join(map(str, self.latent_shape))}, K_max {c.k_max}, rates "
                f"{'/'.join(map(str, c.rates))}, {c.constellation}")

    @property
    def bits_per_symbol(self) -> int:
        """Bits carried by one symbol of the constellation (0 for analog ``quantize="none"``)."""
        return self.constellation.bits_per_symbol

    def num_symbols(self, rate_index: int) -> int:
        """K_r of a rate index."""
        return self.rates[rate_index]

    def payload_bytes(self, rate_index: int) -> float:
        """Bytes of one image's symbols at a rate: ``K_r · bits_per_symbol / 8``."""
        return self.rates[rate_index] * self.bits_per_symbol / 8.0

    # ---- stages ----------------------------------------------------------------------------
    def encode(self, z: torch.Tensor, rate_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents ``(B, C, h, w)`` → (normalized sent symbols ``(B, K_max)``, mask ``(B, K_max)``)."""
        x = self.encoder(z).float()
        s = torch.view_as_complex(x.reshape(x.shape[0], self.k_max, 2).contiguous())
        mask = rate_mask(rate_index, self.rates_t, self.k_max)
        return masked_power_normalize(s, mask), mask

    def quantize(self, s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Constellation mapping (straight-through for ``"hard"``); unsent symbols stay 0."""
        mode = self.config.quantize
        if mode == "none":
            return s
        q = self.constellation.quantize(s, mode=mode, temperature=self.config.soft_temperature)
        return q * mask

    def transmit(self, s_q: torch.Tensor, rate_index: torch.Tensor, snr_db: torch.Tensor,
                 link: Link | None = None, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """Send each sample's first ``K_r`` symbols through the link; zero-fill the rest.

        ``link`` defaults to the codec's own (the channel of its config); pass another to
        evaluate the same weights on another channel. ``generator`` drives the channel draws
        (None: torch's global RNG). One link call per rate present in the batch (at most R
        calls, never per sample), in rate order.
        """
        link = self.link if link is None else link
        out = torch.zeros_like(s_q)
        snr_db = snr_db.to(s_q.device).float().reshape(-1)
        for r, k in enumerate(self.rates):
            sel = rate_index == r
            if not bool(sel.any()):
                continue
            idx = sel.nonzero().squeeze(1)
            z_hat = link(s_q[idx, :k], snr_db[idx], generator=generator).z_hat
            out = out.index_put((idx[:, None], torch.arange(k, device=out.device)[None, :]),
                                z_hat)
        return out

    def decode(self, s_hat: torch.Tensor, rate_index: torch.Tensor) -> torch.Tensor:
        """Zero-filled received symbols ``(B, K_max)`` + rate index → latents ``(B, C, h, w)``."""
        onehot = F.one_hot(rate_index.long(), self.num_rates)
        return self.decoder(complex_to_real(s_hat), onehot)

    def forward(self, z: torch.Tensor, rate_index: torch.Tensor, snr_db: torch.Tensor,
                link: Link | None = None, generator: torch.Generator | None = None
                ) -> JSCCOutput:
        """Encode, quantize, transmit at the per-sample ``(rate, SNR)`` and decode.

        ``link`` / ``generator``: see :meth:`transmit` (defaults: the codec's link, global RNG).
        """
        rate_index = rate_index.to(z.device).long().reshape(-1)
        s, mask = self.encode(z, rate_index)
        s_q = self.quantize(s, mask)
        s_hat = self.transmit(s_q, rate_index, snr_db, link, generator) * mask
        z_hat = self.decode(s_hat, rate_index)
        return JSCCOutput(z_hat=z_hat, s=s, s_q=s_q, s_hat=s_hat, mask=mask)


def jscc_loss(z: torch.Tensor, z_hat: torch.Tensor, s: torch.Tensor, s_q: torch.Tensor,
              mask: torch.Tensor, beta: float = 0.25, distortion: str = "mse"
              ) -> dict[str, torch.Tensor]:
    """Latent distortion + β · commitment (pure function).

    Args:
        z, z_hat: target and reconstructed latents ``(B, C, h, w)``.
        s: encoder symbols ``(B, K)`` complex; s_q: their quantized values ``(B, K)``.
        mask: ``(B, K)`` 1 for sent symbols (the commitment is averaged over them).
        beta: commitment weight.
        distortion: a key of :data:`DISTORTIONS` (``"mse"`` or ``"log_mse"``).

    Returns:
        ``{"loss", "mse", "commitment"}``: ``loss = distortion + β · commitment`` with
        ``commitment = mean_sent |s − sg(s_q)|²``; the stop-gradient means it only pulls the
        encoder towards the constellation. ``mse`` is the batch MSE whatever the distortion.
    """
    if distortion not in DISTORTIONS:
        raise ValueError(f"unknown distortion {distortion!r}; choose from {sorted(DISTORTIONS)}")
    per_sample = mse_per_sample(z_hat, z)
    d2 = (s - s_q.detach()).abs().square() * mask
    commitment = d2.sum() / mask.sum().clamp_min(1.0)
    loss = DISTORTIONS[distortion](per_sample) + beta * commitment
    return {"loss": loss, "mse": per_sample.mean(), "commitment": commitment}
