"""The docs stay true to the code: the README's Python example runs, the tiny configs are listed,
every paper reading has its section, every link stays inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from semdistill.experiments.checks import REQUIRED_RESULTS
from semdistill.experiments.readings import READINGS, option_value, reading_lines
from semdistill.experiments.registry import load_config_file

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
READINGS_DOC = (ROOT / "docs" / "paper-readings.md").read_text()
#: a shipped config of each system, to resolve the readings' options on
SYSTEM_CONFIGS = {"ltsc": "configs/ltsc/shapes.yaml", "dekag": "configs/dekag/shapes.yaml",
                  "makd": "configs/dekag/makd-shapes.yaml"}


def _python_block(after: str) -> str:
    section = README[README.index(after):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs_an_experiment(tmp_path, monkeypatch, capsys):
    pytest.importorskip("semdistill.data")
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEMDISTILL_CACHE", str(tmp_path / "cache"))
    exec(compile(_python_block("## Run an experiment from Python"), "README.md", "exec"), {})
    run = tmp_path / "runs" / "tiny-from-python"
    report = (run / "report.md").read_text()
    assert REQUIRED_RESULTS in report and "## Readings this run used" in report
    assert "runs/tiny-from-python/report.md" in capsys.readouterr().out


def test_readme_lists_every_tiny_config():
    tiny = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("configs/*/*tiny*.yaml"))
    assert tiny
    for path in tiny:
        assert f"`{path}`" in README, path


def test_every_reading_has_a_section_naming_its_options():
    ids = [r.id for r in READINGS]
    assert len(set(ids)) == len(ids)
    headings = re.findall(r"^### (\S+)$", READINGS_DOC, re.M)
    assert headings == ids  # same readings, same order
    for r in READINGS:
        section = READINGS_DOC.split(f"### {r.id}\n", 1)[1].split("\n### ", 1)[0]
        for path in {p for paths in r.options.values() for p in paths}:
            assert f"`{path}`" in section, (r.id, path)


@pytest.mark.parametrize("system", sorted(SYSTEM_CONFIGS))
def test_every_reading_option_exists_in_its_systems_config(system):
    _, cfg = load_config_file(ROOT / SYSTEM_CONFIGS[system])
    for r in READINGS:
        for path in r.options.get(system, ()):
            option_value(cfg, path)  # AttributeError names a stale option
    lines = reading_lines(cfg, system)
    assert lines and all("This run: " in line for line in lines)
    assert len(lines) == sum(system in r.options for r in READINGS)


def test_docs_link_only_inside_the_repository():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        assert "paper-notes" not in text, doc.name
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+://", target):
                continue  # a web page (a dependency's documentation, an arXiv abstract)
            resolved = (doc.parent / target).resolve()
            assert resolved.is_relative_to(ROOT) and resolved.exists(), (doc.name, target)


def test_data_doc_lists_every_shapes_style():
    from semdistill.data.world.attributes import STYLES

    row = next(line for line in (ROOT / "docs" / "data.md").read_text().splitlines()
               if line.startswith("| style |"))
    assert all(s in row for s in STYLES) and len(STYLES) == 4
