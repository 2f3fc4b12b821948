"""``build_channel(name, **kwargs)``: channels by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from semdistill.channels.base import Channel
from semdistill.channels.correlation import BlockCorrelation, make_correlation
from semdistill.channels.fading import AWGN, RayleighBlock, RayleighFlat, Rician
from semdistill.registry import Registry

CHANNELS: Registry[Callable[..., Channel]] = Registry("channel")


@CHANNELS.register("awgn")
def _awgn() -> Channel:
    return AWGN()


@CHANNELS.register("rayleigh")
def _rayleigh() -> Channel:
    return RayleighFlat()


@CHANNELS.register("rayleigh_block")
def _rayleigh_block(
    num_blocks: int = 1,
    correlation: BlockCorrelation | str | None = None,
    rho: float = 0.9,
    omega: float = 0.05,
    spacing: float = 1.0,
) -> Channel:
    return RayleighBlock(num_blocks, make_correlation(correlation, rho, omega, spacing))


@CHANNELS.register("rician")
def _rician(
    k_factor: float = 1.0,
    num_blocks: int = 1,
    correlation: BlockCorrelation | str | None = None,
    rho: float = 0.9,
    omega: float = 0.05,
    spacing: float = 1.0,
) -> Channel:
    return Rician(k_factor, num_blocks, make_correlation(correlation, rho, omega, spacing))


def build_channel(name: str, **kwargs: Any) -> Channel:
    """A channel by name.

    - ``"awgn"``: :class:`AWGN`, no arguments.
    - ``"rayleigh"``: :class:`RayleighFlat`, no arguments.
    - ``"rayleigh_block"``: ``num_blocks``, ``correlation`` (None/instance/``"none"``/
      ``"exponential"``/``"dispersion"``), ``rho``, ``omega``, ``spacing``.
    - ``"rician"``: ``k_factor`` plus the block arguments.

    Raises:
        ValueError: unknown name or unexpected argument.
    """
    if name not in CHANNELS:
        raise ValueError(f"unknown channel {name!r}; valid: {', '.join(CHANNELS.names())}")
    factory = CHANNELS.get(name)
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad arguments for channel {name!r}: {err}") from None
    return factory(**kwargs)


def channel_names() -> list[str]:
    """Registered channel names."""
    return CHANNELS.names()
