"""The digital chain: bytes → 5G LDPC → QAM → the project's Link → LLRs → BP → bytes.

Each image's file is cut into LDPC codewords of ``k`` information bits (the last one
zero-padded), mapped onto the modulation and sent in one frame of ``budget`` complex channel
uses: the same frame, fading blocks and equalizer the semantic system's symbols get (unused
channel uses stay silent). A codeword whose decoded bits differ from the sent ones is a block
error (an ideal CRC: docs/digital.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from semdistill.channels import Link, get_constellation
from semdistill.channels.config import ChannelConfig
from semdistill.digital.config import MODULATION_BITS
from semdistill.digital.demap import SoftDemapper, unbiased
from semdistill.digital.fec import info_bits, ldpc_code


@dataclass(frozen=True)
class MCS:
    """A modulation and coding scheme: LDPC code rate, modulation and codeword length n."""

    rate: str
    modulation: str
    block_length: int

    @property
    def name(self) -> str:
        return f"{self.modulation} R={self.rate}"

    @property
    def bits_per_symbol(self) -> int:
        return MODULATION_BITS[self.modulation]

    @property
    def k(self) -> int:
        """Information bits per codeword."""
        return info_bits(self.block_length, self.rate)

    def codewords(self, payload_bytes: int) -> int:
        """Codewords that carry ``payload_bytes`` bytes."""
        return math.ceil(8 * payload_bytes / self.k)

    def channel_uses(self, payload_bytes: int) -> int:
        """Complex symbols that carry ``payload_bytes``: codewords · n / bits per symbol."""
        return self.codewords(payload_bytes) * self.block_length // self.bits_per_symbol

    def capacity_bytes(self, budget: int) -> int:
        """The largest payload (bytes) whose channel uses fit in ``budget`` symbols."""
        blocks = budget * self.bits_per_symbol // self.block_length
        return blocks * self.k // 8


@dataclass
class Transmission:
    """What the receiver got for each payload: bytes (``None`` after a block error) and the
    number of codewords sent and in error."""

    payloads: list[bytes | None]
    codewords: list[int]
    block_errors: list[int]


def _bits(payload: bytes, blocks: int, k: int) -> torch.Tensor:
    """A payload as ``(blocks, k)`` bits, MSB first, zero-padded."""
    bits = np.zeros(blocks * k, dtype=np.uint8)
    raw = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))
    bits[: raw.size] = raw
    return torch.from_numpy(bits.reshape(blocks, k)).long()


class DigitalChain:
    """Transmits byte payloads with one :class:`MCS` over ``channel`` (the system's own).

    Args:
        channel: the system's :class:`~semdistill.channels.config.ChannelConfig` (channel,
            fading blocks, correlation, CSI error, equalizer).
        mcs: the code rate, modulation and codeword length.
        iterations: BP decoding iterations.
    """

    def __init__(self, channel: ChannelConfig, mcs: MCS, iterations: int = 20) -> None:
        self.mcs = mcs
        self.channel = channel
        self.link = Link.from_config(channel, normalize=False)  # QAM has Es = 1 on average
        self.constellation = get_constellation(mcs.modulation)
        self.code = ldpc_code(mcs.block_length, mcs.rate, mcs.bits_per_symbol, iterations)
        self.demapper = SoftDemapper(self.constellation)

    def transmit(self, payloads: Sequence[bytes], budget: int, snr_db: float,
                 generator: torch.Generator | None = None) -> Transmission:
        """Send each payload in its own frame of ``budget`` channel uses at Es/N0 = ``snr_db``.

        Raises:
            ValueError: a payload needs more than ``budget`` channel uses (check with
                :meth:`MCS.capacity_bytes` first).
        """
        mcs, n, k = self.mcs, self.mcs.block_length, self.mcs.k
        blocks = [mcs.codewords(len(p)) for p in payloads]
        if any(mcs.channel_uses(len(p)) > budget for p in payloads):
            raise ValueError(f"a payload does not fit in {budget} channel uses with {mcs.name}")
        if not payloads:
            return Transmission([], [], [])
        sent = torch.cat([_bits(p, b, k) for p, b in zip(payloads, blocks, strict=True)])
        symbols = self.constellation.map_bits(self.code.encode(sent).long())  # (blocks, n/m)
        per_block = n // mcs.bits_per_symbol
        frames = torch.zeros(len(payloads), budget, dtype=torch.complex64)
        rows = torch.repeat_interleave(torch.arange(len(payloads)), torch.tensor(blocks))
        starts = torch.cat([torch.arange(b) for b in blocks]) * per_block
        cols = starts[:, None] + torch.arange(per_block)
        frames[rows[:, None], cols] = symbols
        with torch.no_grad():
            out = self.link(frames, snr_db, generator=generator)
        x_tilde, var = unbiased(out, self.channel.equalizer, self.channel.csi_error_var)
        llr = self.demapper(x_tilde[rows[:, None], cols], var[rows[:, None], cols])
        decoded = self.code.decode(llr.reshape(-1, n))
        wrong = (decoded != sent).any(dim=1)
        out_payloads: list[bytes | None] = []
        errors: list[int] = []
        first = 0
        for p, b in zip(payloads, blocks, strict=True):
            errors.append(int(wrong[first : first + b].sum()))
            bits = decoded[first : first + b].reshape(-1)[: 8 * len(p)]
            out_payloads.append(None if errors[-1] else
                                np.packbits(bits.numpy().astype(np.uint8)).tobytes())
            first += b
        return Transmission(out_payloads, blocks, errors)
