"""Model complexity: parameters, size in MB, FLOPs per sample and latency (pure measurements)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(module: nn.Module, trainable_only: bool = False,
                     exclude: str | None = None) -> int:
    """Number of parameters (all, or only those with ``requires_grad``); names containing
    ``exclude`` (e.g. ``"lora_"``: an adapter injected into the module) are left out."""
    return sum(p.numel() for n, p in module.named_parameters()
               if (p.requires_grad or not trainable_only) and not (exclude and exclude in n))


def model_megabytes(module: nn.Module, dtype_bytes: int | None = None) -> float:
    """Size of parameters + buffers in MB (10⁶ bytes), at their dtype or ``dtype_bytes`` each."""
    total = 0
    for t in list(module.parameters()) + list(module.buffers()):
        total += t.numel() * (dtype_bytes or t.element_size())
    return total / 1e6


@torch.no_grad()
def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of ``fn`` (torch's FlopCounterMode: 2 per multiply-add)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


@torch.no_grad()
def latency_ms(fn: Callable[[], object], *, warmup: int = 3, repeats: int = 20) -> float:
    """Median wall time of ``fn()`` in milliseconds (CUDA synchronized when available)."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)
