"""The digital envelope: for each (SNR, channel-use budget), the best configuration that fits.

The rule (docs/digital.md, "Selection rule"): a *configuration* is (image codec, LDPC code rate,
modulation). Under a configuration each image is sent at **the highest quality whose coded
channel uses fit the budget** (``MCS.channel_uses(file bytes) <= budget``); an image for which
no quality fits is a failure. The envelope at (SNR, budget) is the configuration with the best
mean ``primary`` metric over the images (the oracle choice papers plot as "JPEG+LDPC"), ties
broken by the lower failure rate; where no configuration fits any image it is a
``"no configuration fits"`` record. Failed images (no fit, a block error, a file that does not
parse) are scored as the ``fallback`` image.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from semdistill.channels.config import ChannelConfig
from semdistill.digital.chain import MCS, DigitalChain
from semdistill.digital.config import DigitalConfig
from semdistill.digital.source import get_codec
from semdistill.utils.seeds import derive_seed

#: received images ``(N, 3, H, W)`` in [0, 1] → mean metrics over them (``{"psnr": ...}``)
Scorer = Callable[[torch.Tensor], dict[str, float]]
NO_FIT = "no configuration fits"


def fit_quality(sizes: dict[int, int], capacity_bytes: int) -> int | None:
    """The highest quality whose file (``sizes[quality]`` bytes) is at most ``capacity_bytes``;
    ``None`` when none is."""
    fits = [q for q, s in sizes.items() if s <= capacity_bytes]
    return max(fits) if fits else None


def frame_seed(seed: int, budget: int, snr_db: float) -> int:
    """Channel-draw seed of (budget, SNR): the same for every configuration (common draws)."""
    return derive_seed(seed, 8_000_000 + budget * 4_001 + int(round(snr_db * 100)),
                       modulo=2**62)


def mcs_list(cfg: DigitalConfig) -> list[MCS]:
    """Every (code rate, modulation) of ``cfg`` at its codeword length."""
    return [MCS(r, m, cfg.block_length) for m in cfg.modulations for r in cfg.code_rates]


def _files(images: torch.Tensor, cfg: DigitalConfig) -> dict[str, list[dict[int, bytes]]]:
    """codec → per image → quality → file bytes."""
    return {c: [{q: get_codec(c).encode(img, q) for q in cfg.qualities} for img in images]
            for c in cfg.codecs}


def _receive(codec: str, got: dict[int, bytes | None], n: int, fallback: torch.Tensor,
             size: tuple[int, int]) -> tuple[torch.Tensor, int]:
    """Decoded images ``(N, 3, H, W)`` (``fallback`` where nothing arrived or parsed) from the
    files ``got`` per image index, and the count of files that arrived but did not parse."""
    out, unparsed = [], 0
    for i in range(n):
        data = got.get(i)
        img = get_codec(codec).decode(data, size) if data is not None else None
        unparsed += int(data is not None and img is None)
        out.append(fallback if img is None else img)
    return torch.stack(out), unparsed


def _point(chain: DigitalChain, codec: str, sent: dict[int, tuple[int, bytes]], n: int,
           budget: int, snr: float, score: Scorer, fallback: torch.Tensor,
           size: tuple[int, int], seed: int) -> dict[str, Any]:
    """One (configuration, budget, SNR) record; ``sent`` maps image index → (quality, file)."""
    t0 = time.perf_counter()
    files = [f for _, f in sent.values()]
    tx = chain.transmit(files, budget, snr, torch.Generator().manual_seed(
        frame_seed(seed, budget, snr)))
    received, unparsed = _receive(codec, dict(zip(sent, tx.payloads, strict=True)), n,
                                  fallback, size)
    delivered = sum(p is not None for p in tx.payloads) - unparsed
    mcs = chain.mcs
    return {"method": "digital", "codec": codec, "code_rate": mcs.rate,
            "modulation": mcs.modulation, "config": f"{codec} + {mcs.name}", "budget": budget,
            "snr_db": snr, "fit_rate": len(sent) / n,
            "quality": sum(q for q, _ in sent.values()) / len(sent),
            "bytes": sum(map(len, files)) / len(sent),
            "symbols": sum(mcs.channel_uses(len(f)) for f in files) / len(sent),
            "block_error_rate": sum(tx.block_errors) / sum(tx.codewords),
            "failure_rate": 1 - delivered / n, "seconds": time.perf_counter() - t0,
            **score(received)}


def sweep(images: torch.Tensor, cfg: DigitalConfig, channel: ChannelConfig,
          snr_db: Sequence[float], budgets: Sequence[int], score: Scorer,
          fallback: torch.Tensor, seed: int) -> list[dict[str, Any]]:
    """One record per (budget, codec, code rate, modulation, SNR) under which at least one image
    fits: the mean quality, bytes and channel uses of what was sent, block-error, fit and
    failure rates, and ``score`` of the received images. ``images`` ``(N, 3, H, W)`` in [0, 1];
    ``fallback`` ``(3, H, W)``; ``budgets`` in complex channel uses per image."""
    files = _files(images, cfg)
    size, n = (images.shape[-2], images.shape[-1]), images.shape[0]
    records: list[dict[str, Any]] = []
    for mcs in mcs_list(cfg):
        chain: DigitalChain | None = None  # built (codes, demapper) only when something fits
        for codec, per_image in files.items():
            for budget in budgets:
                cap = mcs.capacity_bytes(budget)
                sent = {}
                for i, f in enumerate(per_image):
                    q = fit_quality({k: len(v) for k, v in f.items()}, cap)
                    if q is not None:
                        sent[i] = (q, f[q])
                if not sent:
                    continue
                chain = chain or DigitalChain(channel, mcs, cfg.iterations)
                records += [_point(chain, codec, sent, n, budget, float(snr), score, fallback,
                                   size, seed) for snr in snr_db]
    return records


def envelope(records: Sequence[dict[str, Any]], snr_db: Sequence[float],
             budgets: Sequence[int], primary: str) -> list[dict[str, Any]]:
    """The best record of each (budget, SNR) by ``primary`` (ties: lower failure rate), marked
    ``method="digital-envelope"``; ``status="no configuration fits"`` where none fits."""
    out: list[dict[str, Any]] = []
    for budget in budgets:
        for snr in snr_db:
            cands = [r for r in records if r["budget"] == budget and r["snr_db"] == float(snr)]
            if not cands:
                out.append({"method": "digital-envelope", "budget": budget,
                            "snr_db": float(snr), "status": NO_FIT})
                continue
            best = max(cands, key=lambda r: (r[primary], -r["failure_rate"]))
            out.append({**best, "method": "digital-envelope", "status": "ok"})
    return out
