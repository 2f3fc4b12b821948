"""The Markdown report builder every system uses."""

from __future__ import annotations

from semdistill.experiments import MarkdownReport


def test_markdown_report(tmp_path):
    rep = MarkdownReport("Run").section("Numbers").table([{"m": "a", "acc": 0.91234}])
    rep.image("plots/p.png", "plot").save(tmp_path / "report.md")
    text = (tmp_path / "report.md").read_text()
    assert "# Run" in text and "| a | 0.9123 |" in text and "![plot](plots/p.png)" in text
