"""A user's real setup end to end: an ImageFolder of mixed-size photos without a test folder and
a timm teacher saved with timm's own save_for_hf, through the CLI."""

from __future__ import annotations

from pathlib import Path

import timm
from timm.models import save_for_hf

from semdistill.cli import main

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "ltsc" / "tiny.yaml"


def test_imagefolder_and_a_timm_export_run_and_the_report_states_the_split(image_tree, tmp_path,
                                                                          monkeypatch, capsys):
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    image_tree(tmp_path / "photos")
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=3, img_size=32,
                            patch_size=8, embed_dim=32, depth=1, num_heads=2)
    save_for_hf(vit, tmp_path / "vit", safe_serialization=True)
    args = ["run", str(CONFIG), "--output-dir", str(tmp_path / "runs"), "--name", "r"]
    for o in ("data.name=imagefolder", f"data.root={tmp_path / 'photos'}", "data.train_size=40",
              "data.test_size=12", f"teacher.spec=local:{tmp_path / 'vit'}"):
        args += ["--set", o]
    assert main(args) == 0
    report = (tmp_path / "runs" / "r" / "report.md").read_text()
    assert "teacher: local:" in report
    assert "test data: ImageFolder" in report and "held out for testing" in report
    assert "40 of 48 images in a seeded stratified order" in report
    for f in (tmp_path / "photos" / "bee").iterdir():  # broken files: one line, no traceback
        f.write_bytes(b"not an image")
    capsys.readouterr()
    assert main([*args[:5], "broken", *args[6:]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unreadable image" in err and "/bee/" in err
