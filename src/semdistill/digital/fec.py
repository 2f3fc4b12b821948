"""Channel coding for the digital baseline: Sionna's 5G NR LDPC code (TS 38.212), BP decoding.

Sionna is an optional extra, imported only when a code is built; without it
:func:`require_sionna` raises one :class:`~semdistill.errors.MissingDependency` line naming
``pip install 'semdistill[sionna]'``.
"""

from __future__ import annotations

import importlib
from fractions import Fraction
from functools import lru_cache
from types import ModuleType

import torch

from semdistill.errors import MissingDependency

#: the code rates a config may name (5G NR's LDPC supports 1/5 <= R <= 0.95 after rate matching)
CODE_RATES: dict[str, Fraction] = {r: Fraction(r) for r in ("1/3", "1/2", "2/3", "3/4", "5/6")}


def require_sionna(module: str = "sionna.phy.fec.ldpc") -> ModuleType:
    """Sionna's ``module``, or a one-line error saying how to install Sionna."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            "the digital baseline needs Sionna's 5G LDPC code: pip install 'semdistill[sionna]' "
            "(or switch it off with eval.digital.enabled=false)") from None


def info_bits(block_length: int, rate: str) -> int:
    """k, the information bits of an ``block_length``-bit codeword at code rate ``rate``."""
    return int(block_length * CODE_RATES[rate])


class LDPCCode:
    """A 5G NR LDPC code with ``k`` information and ``n`` coded bits per codeword.

    Args:
        n: coded bits per codeword (12 < k <= 8448, n <= 316·384).
        rate: one of :data:`CODE_RATES` (k = ⌊n·R⌋).
        bits_per_symbol: the modulation's bits per symbol (enables 38.212's bit interleaver).
        iterations: belief-propagation iterations (flooding schedule, boxplus-phi check nodes:
            Sionna's defaults).
    """

    def __init__(self, n: int, rate: str, bits_per_symbol: int, iterations: int = 20) -> None:
        ldpc = require_sionna()
        self.n, self.k, self.rate = n, info_bits(n, rate), rate
        self._encoder = ldpc.LDPC5GEncoder(self.k, n, num_bits_per_symbol=bits_per_symbol,
                                           device="cpu")
        self._decoder = ldpc.LDPC5GDecoder(self._encoder, num_iter=iterations, hard_out=True,
                                           return_infobits=True, device="cpu")

    def encode(self, bits: torch.Tensor) -> torch.Tensor:
        """Information bits ``(N, k)`` (0/1) → codewords ``(N, n)`` float32 0/1."""
        if bits.shape[0] == 0:
            return torch.zeros(0, self.n)
        return self._encoder(bits.float().cpu())

    def decode(self, llr: torch.Tensor) -> torch.Tensor:
        """Channel LLRs ``(N, n)``, log p(b=1)/p(b=0) (Sionna's logit convention) → hard
        information bits ``(N, k)`` int64 after BP decoding."""
        if llr.shape[0] == 0:
            return torch.zeros(0, self.k, dtype=torch.long)
        return self._decoder(llr.float().cpu()).round().long()


@lru_cache(maxsize=64)
def ldpc_code(n: int, rate: str, bits_per_symbol: int, iterations: int = 20) -> LDPCCode:
    """A cached :class:`LDPCCode` (building one computes its parity-check structure)."""
    return LDPCCode(n, rate, bits_per_symbol, iterations)
