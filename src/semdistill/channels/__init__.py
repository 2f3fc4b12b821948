"""The physical layer: power normalization, constellations, channels, CSI, equalization.

Convention (the same as Sionna 2.x, stated here once and tested in ``tests/channels``):

- Complex baseband. Symbols are complex tensors ``(B, K)``: B samples of K channel uses.
- After :func:`power_normalize`, Es = 1: the mean of ``|x|^2`` over a sample's K symbols is 1.
- SNR = Es/N0 **per complex symbol**, in dB, given per sample as a ``(B,)`` tensor (or a float
  for the whole batch), so one batch can mix channel conditions.
- The noise ``n ~ CN(0, N0)`` has variance N0 = 10^(-SNR/10) per complex symbol, N0/2 per real
  dimension. Channels compute N0 assuming Es = 1: normalize first (:class:`Link` does).
- Fading gains are complex with E|h|^2 = 1; ``y = h x + n``.
- Real features become symbols by pairing consecutive values (:func:`real_to_complex`); the
  bandwidth ratio is K / (number of real source values).

Typical use::

    link = Link(build_channel("rayleigh_block", num_blocks=16, correlation="exponential"))
    out = link(z, snr_db=torch.full((B,), 10.0))   # out.z_hat ≈ power_normalize(z)
"""

from semdistill.channels.base import Channel, ChannelOutput, complex_normal
from semdistill.channels.config import ChannelConfig
from semdistill.channels.constellations import (
    Constellation,
    constellation_names,
    get_constellation,
)
from semdistill.channels.correlation import (
    BlockCorrelation,
    DispersionCorrelation,
    ExponentialCorrelation,
    make_correlation,
)
from semdistill.channels.equalization import (
    estimate_csi,
    get_equalizer,
    mmse_equalize,
    zf_equalize,
)
from semdistill.channels.fading import AWGN, RayleighBlock, RayleighFlat, Rician
from semdistill.channels.link import Link, LinkOutput
from semdistill.channels.normalize import (
    bandwidth_ratio,
    complex_to_real,
    power_normalize,
    real_to_complex,
    snr_db_to_noise_var,
)
from semdistill.channels.registry import build_channel, channel_names
from semdistill.channels.theory import (
    BerResult,
    ber_awgn,
    ber_rayleigh,
    ser_awgn,
    ser_rayleigh,
    simulate_ber,
    theoretical_ber,
    theoretical_ser,
)

__all__ = [
    "AWGN",
    "BerResult",
    "BlockCorrelation",
    "Channel",
    "ChannelConfig",
    "ChannelOutput",
    "Constellation",
    "DispersionCorrelation",
    "ExponentialCorrelation",
    "Link",
    "LinkOutput",
    "RayleighBlock",
    "RayleighFlat",
    "Rician",
    "bandwidth_ratio",
    "ber_awgn",
    "ber_rayleigh",
    "build_channel",
    "channel_names",
    "complex_normal",
    "complex_to_real",
    "constellation_names",
    "estimate_csi",
    "get_constellation",
    "get_equalizer",
    "make_correlation",
    "mmse_equalize",
    "power_normalize",
    "real_to_complex",
    "ser_awgn",
    "ser_rayleigh",
    "simulate_ber",
    "snr_db_to_noise_var",
    "theoretical_ber",
    "theoretical_ser",
    "zf_equalize",
]
