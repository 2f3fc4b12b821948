"""``channel_demo``: simulated vs closed-form BER curves, as ``ber.png`` and ``ber.json``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from semdistill.channels.theory import simulate_ber, theoretical_ber
from semdistill.results import Results

CONVENTION = "Es=1, SNR=Es/N0 per complex symbol, N0 per complex symbol, E|h|^2=1, ZF, perfect CSI"


def channel_demo(
    out_dir: Path,
    snr_db: Iterable[float] = range(0, 21, 2),
    constellations: Sequence[str] = ("qpsk", "16qam"),
    channels: Sequence[str] = ("awgn", "rayleigh"),
    num_bits: int = 1_000_000,
    device: str = "cpu",
    seed: int = 0,
) -> dict[str, Any]:
    """Sweep Es/N0, simulate uncoded BER (ZF, perfect CSI) and compare with the closed forms.

    Args:
        out_dir: created if needed; receives ``ber.png`` and ``ber.json``.
        snr_db: Es/N0 points in dB.
        constellations: names from :func:`~semdistill.channels.get_constellation`.
        channels: ``"awgn"``, ``"rayleigh"`` or ``"rayleigh_block"``.
        num_bits: simulated bits per (constellation, channel, SNR) point.
        device: ``"cpu"``, ``"cuda"``...
        seed: RNG seed.

    Returns:
        ``{"records": [...], "png": path, "json": path}``; each record is
        ``{constellation, channel, snr_db, ber_sim, ber_theory, num_bits, num_bit_errors}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from semdistill.figures import save_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    snrs = [float(s) for s in snr_db]
    if not snrs:
        raise ValueError("snr_db is empty")
    gen = torch.Generator(device=device).manual_seed(seed)
    records: list[dict[str, Any]] = []
    fig, ax = plt.subplots(figsize=(7, 5))
    fine = torch.linspace(min(snrs), max(snrs), 200, dtype=torch.float64)
    markers = "osD^v<>"
    for ci, const in enumerate(constellations):
        for hi, chan in enumerate(channels):
            color = f"C{ci * len(channels) + hi}"
            label = f"{const.upper()} / {chan}"
            xs, ys = [], []
            for snr in snrs:
                res = simulate_ber(const, chan, snr, num_bits, generator=gen, device=device)
                th = float(theoretical_ber(const, chan, snr))
                records.append(
                    {
                        "constellation": const,
                        "channel": chan,
                        "snr_db": snr,
                        "ber_sim": res.ber,
                        "ber_theory": th,
                        "num_bits": res.num_bits,
                        "num_bit_errors": res.num_bit_errors,
                    }
                )
                if res.num_bit_errors > 0:  # zero errors cannot be drawn on a log axis
                    xs.append(snr)
                    ys.append(res.ber)
            ax.semilogy(
                fine.numpy(),
                theoretical_ber(const, chan, fine).numpy(),
                "-",
                color=color,
                lw=1.2,
                label=f"{label} (theory)",
            )
            ax.semilogy(
                xs,
                ys,
                markers[(ci * len(channels) + hi) % len(markers)],
                color=color,
                mfc="none",
                ms=6,
                label=f"{label} (simulated)",
            )
    ax.set_ylim(0.5 / max(num_bits, 1), 1.0)
    ax.set_xlim(min(snrs), max(snrs))
    ax.set_xlabel("SNR Es/N0 [dB]")
    ax.set_ylabel("BER")
    ax.set_title(f"Uncoded BER, ZF, perfect CSI ({num_bits:.0e} bits per point)")
    ax.grid(True, which="both", ls=":", lw=0.6)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    png = out_dir / "ber.png"
    save_figure(fig, png, dpi=120)
    results = Results("channels", "ber-vs-snr", records=records,
                      meta={"convention": CONVENTION, "seed": seed, "equalizer": "zf"})
    path = results.save(out_dir / "ber.json")
    return {"records": records, "png": str(png), "json": str(path)}
