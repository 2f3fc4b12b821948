"""``ChannelConfig``: the typed channel section of an experiment config."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from semdistill.config import StrictModel

#: channel key → the name figures and reports print.
CHANNEL_NAMES = {"awgn": "AWGN", "rayleigh": "Rayleigh fading",
                 "rayleigh_block": "Rayleigh block fading", "rician": "Rician block fading"}


def channel_name(key: str) -> str:
    """``"awgn"`` → ``"AWGN"``; an unknown key is returned as given."""
    return CHANNEL_NAMES.get(key, key)


class ChannelConfig(StrictModel):
    """Channel, fading correlation, CSI and equalizer of a :class:`~semdistill.channels.Link`.

    ``name="rayleigh"`` is flat fading (``num_blocks`` must stay 1); use ``"rayleigh_block"`` for
    J > 1 blocks. ``correlation`` applies to block fading (Rayleigh block or Rician):
    ``"exponential"`` uses ``rho``, ``"dispersion"`` uses ``omega`` and ``spacing``.
    """

    name: Literal["awgn", "rayleigh", "rayleigh_block", "rician"] = "awgn"
    num_blocks: int = Field(1, ge=1, description="J, fading blocks per sample")
    correlation: Literal["none", "exponential", "dispersion"] = "none"
    rho: float = Field(
        0.9, ge=0.0, lt=1.0, description="exponential correlation of adjacent blocks"
    )
    omega: float = Field(0.05, ge=0.0, description="delay spread of the dispersion model")
    spacing: float = Field(1.0, gt=0.0, description="block spacing of the dispersion model")
    k_factor: float = Field(1.0, ge=0.0, description="Rician K factor (linear)")
    equalizer: Literal["zf", "mmse"] = "mmse"
    csi_error_var: float = Field(0.0, ge=0.0, description="CSI error variance per complex gain")

    @model_validator(mode="after")
    def _consistent(self) -> ChannelConfig:
        if self.name in ("awgn", "rayleigh") and self.num_blocks != 1:
            raise ValueError(
                f"channel {self.name!r} has one gain per sample: set num_blocks=1 "
                "or use name='rayleigh_block'"
            )
        if self.name in ("awgn", "rayleigh") and self.correlation != "none":
            raise ValueError(f"correlation={self.correlation!r} needs block fading "
                             f"(name='rayleigh_block' or 'rician'), not {self.name!r}")
        return self

    def describe(self) -> str:
        """One line for reports and figure titles, e.g. ``"Rayleigh block fading (J = 4
        blocks, dispersion correlation ω = 0.05, MMSE equalizer)"``; AWGN is just ``"AWGN"``."""
        if self.name == "awgn":
            return "AWGN"
        parts = [f"J = {self.num_blocks} block{'s' * (self.num_blocks > 1)}"]
        if self.correlation == "exponential":
            parts.append(f"exponential correlation ρ = {self.rho:g}")
        elif self.correlation == "dispersion":
            parts.append(f"dispersion correlation ω = {self.omega:g}")
        if self.name == "rician":
            parts.append(f"K = {self.k_factor:g}")
        parts.append(f"{self.equalizer.upper()} equalizer")
        if self.csi_error_var:
            parts.append(f"CSI error variance {self.csi_error_var:g}")
        return f"{channel_name(self.name)} ({', '.join(parts)})"

    def channel_kwargs(self) -> dict[str, object]:
        """Keyword arguments for :func:`~semdistill.channels.build_channel` ``(self.name, ...)``."""
        if self.name in ("awgn", "rayleigh"):
            return {}
        kw: dict[str, object] = {
            "num_blocks": self.num_blocks,
            "correlation": self.correlation,
            "rho": self.rho,
            "omega": self.omega,
            "spacing": self.spacing,
        }
        if self.name == "rician":
            kw["k_factor"] = self.k_factor
        return kw
