"""CLI commands of the channels package: ``semdistill channel-demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``channel-demo`` to ``app``."""

    @app.command("channel-demo")
    def channel_demo_cmd(
        out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/channel-demo"),
        snr: Annotated[str, typer.Option(help="Es/N0 grid in dB, START:STOP:STEP.")] = "0:20:2",
        bits: Annotated[int, typer.Option(min=1, help="Simulated bits per point.")] = 1_000_000,
        device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1...")] = "cpu",
    ) -> None:
        """Simulate uncoded QPSK/16-QAM BER over AWGN and Rayleigh and plot it against theory."""
        from semdistill.channels.demo import channel_demo
        from semdistill.utils.grid import grid_option

        result = channel_demo(out, snr_db=grid_option(snr), num_bits=bits, device=device)
        typer.echo(f"BER plot: {result['png']}")
        typer.echo(f"records:  {result['json']}")
