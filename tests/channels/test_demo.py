"""The BER demo and the ``channel-demo`` command."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from semdistill.channels.commands import register
from semdistill.channels.demo import channel_demo


def test_channel_demo_writes_plot_and_records(tmp_path):
    result = channel_demo(tmp_path, snr_db=[0, 10], num_bits=20_000)
    records = result["records"]
    assert len(records) == 2 * 2 * 2
    assert {r["constellation"] for r in records} == {"qpsk", "16qam"}
    assert {r["channel"] for r in records} == {"awgn", "rayleigh"}
    for r in records:
        assert set(r) >= {"constellation", "channel", "snr_db", "ber_sim", "ber_theory", "num_bits"}
        assert r["num_bits"] >= 20_000 and 0 <= r["ber_sim"] <= 1 and r["ber_theory"] > 0
    png = tmp_path / "ber.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "ber.json").read_text())
    assert saved["records"] == records


def test_channel_demo_command(tmp_path):
    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command, so typer keeps command names
        """Placeholder."""

    out = tmp_path / "demo"
    res = CliRunner().invoke(
        app, ["channel-demo", "--out", str(out), "--snr", "0:10:10", "--bits", "4000"]
    )
    assert res.exit_code == 0, res.output
    assert str(out / "ber.png") in res.output
    assert len(json.loads((out / "ber.json").read_text())["records"]) == 8
