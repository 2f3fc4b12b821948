"""``semdistill data preview`` writes a captioned PNG grid."""

from semdistill.cli import main


def test_preview_command_writes_png(tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["data", "preview", "--out", str(out), "--n", "4", "--size", "32"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(out) in capsys.readouterr().out
