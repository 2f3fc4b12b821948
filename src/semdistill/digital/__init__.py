"""The separate source–channel coding baseline (docs/digital.md): a Pillow image codec, 5G NR
LDPC (Sionna, an optional extra: ``pip install 'semdistill[sionna]'``) and the project's QAM over
the project's :class:`~semdistill.channels.Link`, at the semantic system's channel uses.

| module | job |
|---|---|
| :mod:`.source` | image codecs (JPEG, WebP, AVIF where Pillow has it): image ↔ file bytes |
| :mod:`.fec` | the 5G LDPC code (encoder + BP decoder), the lazy Sionna import |
| :mod:`.demap` | equalizer → effective noise → exact bit LLRs |
| :mod:`.chain` | ``MCS`` (channel-use accounting) and ``DigitalChain`` (bytes → Link → bytes) |
| :mod:`.envelope` | the sweep over configurations and the best-fitting-configuration rule |
| :mod:`.config` | ``DigitalConfig``, the evaluation-only ``eval.digital`` section |
"""

from semdistill.digital.chain import MCS, DigitalChain, Transmission
from semdistill.digital.config import MODULATION_BITS, DigitalConfig
from semdistill.digital.envelope import NO_FIT, envelope, fit_quality, sweep
from semdistill.digital.fec import CODE_RATES, LDPCCode, require_sionna
from semdistill.digital.source import ImageCodec, codec_names, get_codec

__all__ = [
    "CODE_RATES",
    "MCS",
    "MODULATION_BITS",
    "NO_FIT",
    "DigitalChain",
    "DigitalConfig",
    "ImageCodec",
    "LDPCCode",
    "Transmission",
    "codec_names",
    "envelope",
    "fit_quality",
    "get_codec",
    "require_sionna",
    "sweep",
]
