"""``semdistill data preview`` writes a captioned PNG grid."""

from PIL import Image

from semdistill.cli import main


def test_preview_command_writes_png(tmp_path, capsys):
    out = tmp_path / "grid.png"
    args = ["data", "preview", "--out", str(out), "--n", "4", "--size", "32", "--split", "val",
            "--style", "outlined", "--style", "gradient"]
    assert main(args) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(out).size[0] >= 4 * 200  # 4 columns, room for a caption under each image
    assert str(out) in capsys.readouterr().out


def test_preview_rejects_an_unknown_style_in_one_line(tmp_path, capsys):
    assert main(["data", "preview", "--out", str(tmp_path / "x.png"), "--style", "sketch"]) == 2
    err = capsys.readouterr().err
    assert "unknown style 'sketch'" in err and "gradient" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()
