"""The lightweight task-oriented student: encoder → Φ_θ → power constraint → channel → decoder.

    images (B,3,H,W) ─ encoder R_α ─► X0 (B,C,h,w) ─ Φ_θ(X0, snr) ─► X = w ⊙ X0
       ─ flatten, real_to_complex, power constraint ─► x (B,k) complex
       ─ Link (channel + equalizer) ─► x̂ (B,k) ─ complex_to_real ─► decoder R⁻¹_μ ─► logits (B,classes)

``k = C·h·w / 2`` channel uses; the bandwidth ratio ``k / (3·H·W)`` is a config value from which C
is derived. Power: ``"equal"`` scales each sample to Es = 1 exactly; ``"max"`` (default) enforces
Es ≤ 1 (average-power constraint), so the IB rate term can trade energy for rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator
from torch import nn

from semdistill.channels import Link, complex_to_real, power_normalize, real_to_complex
from semdistill.config import StrictModel
from semdistill.models.adaptive import ChannelAdaptiveModule, normalize_snr

POWER_EPS = 1e-12


class StudentConfig(StrictModel):
    """Student architecture; ``bandwidth_ratio`` fixes the number of transmitted channels C."""

    ADDED_LATER: ClassVar[dict[str, Any]] = {"adaptive_rescale": False}

    widths: list[int] = Field(default_factory=lambda: [32, 48, 64],
                              description="encoder conv widths, one stride-2 stage each")
    blocks: int = Field(2, ge=1, description="3×3 convs per encoder stage (the first strides)")
    bandwidth_ratio: float = Field(1 / 48, gt=0, le=1, description="k / (3·H·W)")
    adaptive: bool = True
    adaptive_hidden: int = Field(32, ge=1)
    drop_threshold: float = Field(0.0, ge=0, lt=1)
    adaptive_rescale: bool = Field(False, description="Φ's weights at unit RMS per sample: they "
                                   "move energy between channels but never lower it (on in the "
                                   "shipped configs; off here so older run directories, whose "
                                   "config.yaml lacks the key, resume and re-evaluate as trained)")
    snr_aware_decoder: bool = False
    decoder_width: int = Field(64, ge=4)
    power: Literal["equal", "max"] = "max"

    @model_validator(mode="after")
    def _widths(self) -> StudentConfig:
        if not self.widths:
            raise ValueError("student.widths needs at least one stage")
        return self

    def feature_channels(self, image_size: int) -> int:
        """C such that k = C·h·w/2 symbols give ``bandwidth_ratio`` (must be a whole number)."""
        side = image_size // (2 ** len(self.widths))
        if side < 1:
            raise ValueError(f"{len(self.widths)} stride-2 stages reduce {image_size}px to nothing")
        reals = 2 * self.bandwidth_ratio * 3 * image_size * image_size
        c = reals / (side * side)
        if abs(c - round(c)) > 1e-6 or round(c) < 1:
            raise ValueError(
                f"bandwidth_ratio {self.bandwidth_ratio:.6g} needs C = {c:.3f} channels on a "
                f"{side}x{side} grid; pick a ratio giving a whole C (e.g. {side * side / 6 / image_size**2:.6g}·n)"
            )
        return int(round(c))

    def num_symbols(self, image_size: int) -> int:
        """k, the complex channel uses per image: C·h·w / 2."""
        side = image_size // (2 ** len(self.widths))
        return self.feature_channels(image_size) * side * side // 2


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Encoder(nn.Module):
    """R_α: stride-2 conv stages of ``blocks`` 3×3 convs each, then a 1×1 projection to C
    channels. (B,3,H,W) → (B,C,h,w)."""

    def __init__(self, widths: list[int], channels: int, blocks: int = 2) -> None:
        super().__init__()
        layers, cin = [], 3
        for w in widths:
            layers.append(_conv(cin, w, 2))
            layers += [_conv(w, w, 1) for _ in range(blocks - 1)]
            cin = w
        layers.append(nn.Conv2d(cin, channels, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class Decoder(nn.Module):
    """R⁻¹_μ + task head: (B,C,h,w) received features (and SNR) → logits (B, classes).

    With ``snr_aware`` the normalized SNR scales and shifts the first hidden layer (FiLM).
    """

    def __init__(self, channels: int, width: int, num_classes: int, snr_aware: bool) -> None:
        super().__init__()
        self.snr_aware = snr_aware
        self.inp = nn.Sequential(nn.Conv2d(channels, width, 1), nn.BatchNorm2d(width),
                                 nn.ReLU(inplace=True))
        self.film = nn.Linear(1, 2 * width) if snr_aware else None
        self.body = _conv(width, width, 1)
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True),
                                  nn.Linear(width, num_classes))

    def forward(self, feats: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        h = self.inp(feats)
        if self.film is not None:
            gamma, beta = self.film(normalize_snr(snr_db.reshape(-1, 1).to(h.dtype))).chunk(2, 1)
            h = h * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        h = self.body(h).mean(dim=(2, 3))
        return self.head(h)


@dataclass
class StudentOutput:
    """logits (B, classes); x: transmitted symbols (B, k) complex; w: channel weights (B, C);
    y: received symbols before equalization (B, k); h: gains (B, k); noise_var: N0 (B,)."""

    logits: torch.Tensor
    x: torch.Tensor
    w: torch.Tensor
    y: torch.Tensor
    h: torch.Tensor
    noise_var: torch.Tensor


class TaskStudent(nn.Module):
    """The whole lightweight transceiver (transmitter + receiver); the channel is passed in."""

    def __init__(self, cfg: StudentConfig, num_classes: int, image_size: int = 32) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.feature_channels(image_size)
        self.channels = c
        self.side = image_size // (2 ** len(cfg.widths))
        self.num_symbols = cfg.num_symbols(image_size)
        self.source_reals = 3 * image_size * image_size
        self.encoder = Encoder(cfg.widths, c, cfg.blocks)
        self.adaptive = ChannelAdaptiveModule(c, cfg.adaptive_hidden, enabled=cfg.adaptive,
                                              drop_threshold=cfg.drop_threshold,
                                              rescale=cfg.adaptive_rescale)
        self.decoder = Decoder(c, cfg.decoder_width, num_classes, cfg.snr_aware_decoder)

    @property
    def bandwidth_ratio(self) -> float:
        return self.num_symbols / self.source_reals

    def transmit(self, images: torch.Tensor, snr_db: torch.Tensor,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Transmitter: images (B,3,H,W) [0,1], SNR (B,) dB → symbols (B,k) complex, w (B,C)."""
        x0 = self.encoder(images)
        x, w = self.adaptive(x0, snr_db)
        z = real_to_complex(x.flatten(1).float())
        if self.cfg.power == "equal":
            return power_normalize(z), w
        energy = (z.real.square() + z.imag.square()).mean(dim=1, keepdim=True)
        scale = torch.rsqrt(energy.clamp_min(POWER_EPS)).clamp(max=1.0)
        return z * scale, w

    def receive(self, z_hat: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Receiver: equalized symbols (B,k) complex, SNR (B,) dB → logits (B, classes)."""
        feats = complex_to_real(z_hat).reshape(-1, self.channels, self.side, self.side)
        return self.decoder(feats, snr_db)

    def forward(self, images: torch.Tensor, snr_db: torch.Tensor, link: Link,
                generator: torch.Generator | None = None) -> StudentOutput:
        x, w = self.transmit(images, snr_db)
        out = link(x, snr_db, generator=generator)
        logits = self.receive(out.z_hat, snr_db)
        return StudentOutput(logits, x, w, out.y, out.h, out.noise_var)
