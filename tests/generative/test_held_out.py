"""A subject given as held out must be one the edge's denoiser never saw (its pretrain summary)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from semdistill.config import ConfigError
from semdistill.experiments.registry import load_config_file
from semdistill.generative.edge import EdgeLDM, default_edge_path
from semdistill.generative.errors import EdgeFileError
from semdistill.generative.pretrain_edge import (
    SUMMARY,
    EdgePretrainConfig,
    denoiser_exclude,
    held_out,
    require_held_out,
)

ROOT = Path(__file__).resolve().parents[2]
STAR_HEART = [{"shape": "star"}, {"shape": "heart"}]


@pytest.mark.parametrize("subject, exclude, expected", [
    ({"shape": "star", "color": "red"}, STAR_HEART, True),             # a wildcard entry
    ({"shape": "star"}, STAR_HEART, True),
    ({"shape": "circle", "color": "red"}, STAR_HEART, False),
    ({"shape": "triangle", "color": "red", "style": "textured"},
     [{"shape": "triangle", "color": "red"}], True),                    # more keys: still inside
    ({"shape": "triangle"}, [{"shape": "triangle", "color": "red"}], False),  # blue ones seen
    ({"shape": "square", "color": "red"}, [{"shape": "triangle", "color": "red"}], False),
    ({"shape": "ring"}, [{}], True),                                   # nothing was seen
    ({"shape": "ring"}, [], False),
])
def test_held_out_means_inside_some_exclude_entry(subject, exclude, expected):
    assert held_out(subject, exclude) is expected


def _at(edge: EdgeLDM, folder: Path, exclude=None) -> EdgeLDM:
    """``edge`` as if loaded from ``folder`` (only the folder is read); with ``exclude``, the
    folder's summary records it as pretrain-edge writes it (the whole EdgePretrainConfig)."""
    if exclude is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SUMMARY).write_text(json.dumps(
            {"config": EdgePretrainConfig(exclude=exclude).model_dump()}))
    edge.source = str(folder)
    return edge


def test_a_seen_subject_given_as_held_out_is_one_config_error(tmp_path, tiny_edge):
    edge = _at(tiny_edge, tmp_path / "edge", STAR_HEART)
    with pytest.raises(ConfigError) as err:
        require_held_out(edge, {"subjects[0]": {"shape": "star", "color": "red"},
                                "subjects[1]": {"shape": "circle", "color": "red"}})
    assert str(err.value) == (
        f"config: subjects[1]: subject red circle: the edge at {tmp_path / 'edge'} was trained on "
        "it (its denoiser excluded only: star, heart); choose a held-out subject")


def test_covered_subjects_pass(tmp_path, tiny_edge):
    edge = _at(tiny_edge, tmp_path / "edge", [{"shape": "triangle", "color": "red"},
                                              {"shape": "star"}])
    require_held_out(edge, {"data.subject": {"shape": "triangle", "color": "red"},
                            "b": {"color": "blue", "shape": "star", "size": "large"}})
    with pytest.raises(ConfigError, match="excluded only: red triangle, star\\)"):
        require_held_out(edge, {"data.subject": {"shape": "triangle"}})


def test_an_edge_without_summary_is_not_checked(tmp_path, caplog, tiny_edge):
    with caplog.at_level(logging.INFO, logger="semdistill.generative.pretrain_edge"):
        require_held_out(tiny_edge, {"s": {"shape": "circle"}})  # built in memory
        require_held_out(_at(tiny_edge, tmp_path), {"s": {"shape": "circle"}})  # a user's folder
        require_held_out(_at(tiny_edge, Path("stabilityai/stable-diffusion-2-1-base")),
                         {"s": {"shape": "circle"}})  # a hub id
    lines = [r.getMessage() for r in caplog.records if r.name.endswith("pretrain_edge")]
    assert len(lines) == 3 and all("held-out subjects not checked" in m for m in lines)
    assert "built in memory" in lines[0] and str(tmp_path) in lines[1]


@pytest.mark.parametrize("text", [
    "{not json",
    json.dumps([1, 2]),
    json.dumps({"config": {}}),
    json.dumps({"config": {"exclude": {"shape": "star"}}}),
    json.dumps({"config": {"exclude": ["star"]}}),
    json.dumps({"config": {"exclude": [{"shape": "dodecahedron"}]}}),
    json.dumps({"config": {"exclude": [{"flavour": "sweet"}]}}),
    json.dumps({"config": {"exclude": [{"shape": 3}]}}),
    b"\xff\xfe\x00garbage",
])
def test_a_damaged_summary_is_one_line_naming_it(tmp_path, text):
    path = tmp_path / SUMMARY
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(EdgeFileError) as err:
        denoiser_exclude(tmp_path)
    assert str(err.value).startswith(f"{path}: damaged edge summary") and "\n" not in str(err.value)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs" / "dekag").glob("*.yaml")))
def test_the_shipped_configs_hold_out_what_the_shipped_edge_never_saw(name):
    """A shipped makd/dekag config on the shipped edge names only held-out subjects."""
    exclude = denoiser_exclude(default_edge_path())
    assert exclude, "the shipped edge records what its denoiser never saw"
    _, cfg = load_config_file(ROOT / "configs" / "dekag" / name)
    assert not cfg.edge.model, "every shipped DeKA-g config runs on the shipped edge"
    subjects = cfg.subjects if cfg.system == "makd" else [cfg.data.subject]
    assert [s for s in subjects if not held_out(s, exclude)] == []
