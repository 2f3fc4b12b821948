"""``DigitalConfig``: the evaluation-only ``eval.digital`` section of both systems (docs/digital.md).

Nothing here feeds a training fingerprint: switching the baseline on, off or to other settings
never invalidates a checkpoint or a shipped asset.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from semdistill.config import SNRdB, StrictModel
from semdistill.digital.source import codec_names

#: bits per symbol of the modulations the baseline may use (the project's constellations)
MODULATION_BITS = {"qpsk": 2, "16qam": 4, "64qam": 6}


class DigitalConfig(StrictModel):
    """Image codec + 5G LDPC + QAM over the system's own Link, at matched channel uses."""

    enabled: bool = Field(False, description="run the digital baseline in evaluate/report")
    codecs: list[str] = Field(default_factory=lambda: ["jpeg", "webp"], min_length=1)
    qualities: list[Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=lambda: [5, 10, 20, 30, 50, 75, 90], min_length=1)
    code_rates: list[Literal["1/3", "1/2", "2/3", "3/4", "5/6"]] = Field(
        default_factory=lambda: ["1/3", "1/2", "2/3", "5/6"], min_length=1)
    modulations: list[Literal["qpsk", "16qam", "64qam"]] = Field(
        default_factory=lambda: ["qpsk", "16qam", "64qam"], min_length=1)
    block_length: int = Field(576, ge=48, le=8448,
                              description="n, coded bits per LDPC codeword")
    iterations: int = Field(20, ge=1, le=100, description="BP decoding iterations")
    budgets: list[Annotated[float, Field(gt=0, le=1024)]] = Field(
        default_factory=lambda: [1.0, 4.0, 16.0], min_length=1,
        description="channel-use budgets, as multiples of the system's symbols per image")
    images: int = Field(16, ge=1, description="test images sent digitally")
    snr_db: list[SNRdB] | None = Field(None, description="SNR grid (default: eval.snr_db)")

    @field_validator("codecs")
    @classmethod
    def _known_codecs(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in codec_names()]
        if bad:
            raise ValueError(f"unknown image codec {bad[0]!r}; valid here: "
                             f"{', '.join(codec_names())}")
        return v

    @model_validator(mode="after")
    def _whole_symbols(self) -> DigitalConfig:
        for mod in self.modulations:
            if self.block_length % MODULATION_BITS[mod]:
                raise ValueError(f"block_length={self.block_length} is not a whole number of "
                                 f"{mod} symbols ({MODULATION_BITS[mod]} bits each)")
        return self

    def native_budgets(self, symbols: list[int]) -> list[int]:
        """Channel-use budgets (complex symbols per image): each of the system's ``symbols``
        per image times each multiplier of ``budgets``, rounded, sorted, without repeats."""
        return sorted({max(1, round(s * b)) for s in symbols for b in self.budgets})
