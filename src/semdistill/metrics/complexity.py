"""Model complexity: parameters, size in MB, FLOPs per sample and latency (pure measurements)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from semdistill.utils.stats import t_interval


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


#: the thread count latency is measured at unless told otherwise (batch-1 edge inference).
LATENCY_THREADS = 1


def latency_ms(fn: Callable[[], object], *, threads: int = LATENCY_THREADS,
               min_run_time: float = 0.2) -> float:
    """Median time of one ``fn()`` call in milliseconds, at ``threads`` torch threads.

    ``torch.utils.benchmark.Timer(...).blocked_autorange``: calls are grouped into blocks long
    enough for the timer's resolution, blocks run for at least ``min_run_time`` seconds, and the
    median block time per call is returned; the timer synchronizes CUDA and restores the thread
    count afterwards. (ONNX Runtime sets its own threads per session.)
    """
    return latency_blocks_ms(fn, threads=threads, min_run_time=min_run_time)["median"]


@torch.no_grad()
def latency_blocks_ms(fn: Callable[[], object], *, threads: int = LATENCY_THREADS,
                      min_run_time: float = 0.2) -> dict[str, float]:
    """:func:`latency_ms` with its spread: ``{"median", "low", "high", "blocks"}`` in ms, where
    ``[low, high]`` is the 95% t-interval of the mean per-call time over the timing blocks
    (``blocks`` of them; one block gives low = high = its time). Timed under ``no_grad``, so a
    module whose parameters require gradients builds no graph (as at inference)."""
    from torch.utils import benchmark  # imported when used: it logs a note on CUDA-less hosts

    timer = benchmark.Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    m = timer.blocked_autorange(min_run_time=min_run_time)
    low, _, high = t_interval([t * 1e3 for t in m.times])
    return {"median": m.median * 1e3, "low": low, "high": high, "blocks": len(m.times)}
