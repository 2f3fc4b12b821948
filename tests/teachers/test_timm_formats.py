"""timm teachers from timm's own formats: save_for_hf folders, hub repos (through a local hub
cache), registry names with published weights; pickles and hostile configs are refused."""

from __future__ import annotations

import inspect
import json
import pickle
import time
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file
from timm.models import save_for_hf

from semdistill import hub
from semdistill.experiments.ltsc.config import TeacherSection
from semdistill.teachers import TeacherNotAvailable, load_teacher
from semdistill.teachers.sources import load_timm

VIT = {"img_size": 32, "patch_size": 8, "embed_dim": 32, "depth": 1, "num_heads": 2}


def _vit(num_classes=3):
    torch.manual_seed(0)
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=num_classes,
                             **VIT).eval()


@pytest.fixture
def exported(tmp_path):
    """A tiny ViT saved by timm's own save_for_hf (config.json + model.safetensors)."""
    model = _vit()
    save_for_hf(model, tmp_path / "vit", safe_serialization=True)
    return model, tmp_path / "vit"


def _one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


class _Sentinel:
    """Unpickling this touches a file: proof that a pickle was (or was not) opened."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path(self.path).touch, ())


def _hostile_pickle(path: Path, sentinel: Path) -> None:
    path.write_bytes(pickle.dumps(_Sentinel(sentinel)))


def test_a_save_for_hf_folder_loads_by_its_files_with_timms_preprocessing(exported):
    model, folder = exported
    teacher = load_teacher(f"local:{folder}")
    assert teacher.info.source == "timm" and teacher.info.extra["arch"] == "vit_tiny_patch16_224"
    cfg = teacher.preprocess.cfg
    assert (cfg.input_size, cfg.mean, cfg.std, cfg.interpolation) == (32, (0.5,) * 3, (0.5,) * 3,
                                                                       "bicubic")
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(teacher(x), model((x - 0.5) / 0.5), atol=1e-6)
    same = load_teacher(f"timm:local-dir:{folder}")
    assert torch.allclose(same(x), teacher(x), atol=0)
    with pytest.raises(TeacherNotAvailable, match="has 3 classes, 5 were asked for"):
        load_teacher(f"local:{folder}", num_classes=5)


def test_the_test_time_input_size_is_used(tmp_path):
    model = timm.create_model("test_resnet", pretrained=False, num_classes=2)
    save_for_hf(model, tmp_path / "r", safe_serialization=True,
                data_config={"input_size": (3, 48, 48), "test_input_size": (3, 64, 64)})
    assert load_teacher(f"local:{tmp_path / 'r'}").preprocess.cfg.input_size == 64


def test_a_pickle_only_folder_is_refused_and_never_unpickled(exported, tmp_path):
    _, folder = exported
    (folder / "model.safetensors").unlink()
    sentinel = tmp_path / "unpickled"
    _hostile_pickle(folder / "pytorch_model.bin", sentinel)
    for spec in (f"local:{folder}", f"timm:local-dir:{folder}"):
        with pytest.raises(TeacherNotAvailable) as err:
            load_teacher(spec)
        assert "pytorch_model.bin" in _one_line(err) and "pickle" in str(err.value)
    (folder / "config.json").unlink()  # no config at all: still refused by its files
    with pytest.raises(TeacherNotAvailable, match="pickle files are not loaded"):
        load_teacher(f"local:{folder}")
    assert not sentinel.exists()


@pytest.mark.parametrize(("edit", "words"), [
    (lambda c: "{not json", "not a JSON file"),
    (lambda c: json.dumps([1, 2]), "no timm config.json ('architecture')"),
    (lambda c: json.dumps(c | {"architecture": "../../outside"}), "is not a timm model"),
    (lambda c: json.dumps(c | {"architecture": "local-dir:../x"}), "is not a timm model"),
    (lambda c: json.dumps(c | {"model_args": c["model_args"] | {"checkpoint_path": "../w.bin"}}),
     "may not set checkpoint_path"),
    (lambda c: json.dumps(c | {"model_args": {"pretrained_cfg_overlay": {"file": "/etc/x"}}}),
     "may not set pretrained_cfg_overlay"),
    (lambda c: json.dumps(c | {"num_classes": "3"}), "num_classes must be an int"),
    (lambda c: json.dumps(c | {"model_args": c["model_args"] | {"depth": 2}}), "does not build"),
    (lambda c: json.dumps(c | {"model_args": c["model_args"] | {"no_such_arg": 1}}),
     "does not build"),
], ids=["garbage", "list", "traversal", "source-prefix", "checkpoint-path", "overlay",
        "num-classes", "wrong-shapes", "unknown-arg"])
def test_hostile_or_broken_configs_are_one_line(exported, tmp_path, edit, words):
    _, folder = exported
    sentinel = tmp_path / "unpickled"
    _hostile_pickle(tmp_path / "w.bin", sentinel)
    path = folder / "config.json"
    path.write_text(edit(json.loads(path.read_text())))
    with pytest.raises(TeacherNotAvailable) as err:
        load_teacher(f"local:{folder}")
    assert words in _one_line(err)
    assert not sentinel.exists()


def test_broken_weights_are_one_line(exported):
    _, folder = exported
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(TeacherNotAvailable) as err:
        load_teacher(f"local:{folder}")
    assert "not a readable safetensors file" in _one_line(err)


def test_a_folder_that_is_neither_timm_nor_clip_does_not_fall_through_to_clip(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(TeacherNotAvailable) as err:
        load_teacher(f"local:{tmp_path / 'm'}", class_names=["a", "b"])
    assert "no timm config.json ('architecture')" in _one_line(err)


def _cache_repo(cache: Path, repo_id: str, files: dict[str, Path]) -> None:
    """Place files in the Hugging Face cache layout, as a finished download leaves them."""
    org, name = repo_id.split("/")
    base = cache / f"models--{org}--{name}"
    snap = base / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text("0" * 40)
    for fname, src in files.items():
        (snap / fname).write_bytes(src.read_bytes())


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf"


def test_an_hf_hub_repo_loads_from_the_cache(exported, hub_cache):
    model, folder = exported
    _cache_repo(hub_cache, "me/tiny-vit", {f: folder / f for f in ("config.json",
                                                                   "model.safetensors")})
    teacher = load_teacher("timm:hf-hub:me/tiny-vit")
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(teacher(x), model((x - 0.5) / 0.5), atol=1e-6)
    assert teacher.info.extra["weights"] == "hf-hub:me/tiny-vit"
    with pytest.raises(TeacherNotAvailable) as err:
        load_teacher("timm:hf-hub:me/not-cached")
    assert "HF_HUB_OFFLINE=1" in _one_line(err)


def test_a_registry_name_loads_its_published_weights_by_default(tmp_path, hub_cache):
    """``timm:test_resnet`` means pretrained weights (as the config default does), read from
    the name's hub repo; another ``num_classes`` keeps the body and draws a new head."""
    assert inspect.signature(load_timm).parameters["pretrained"].default is True
    assert TeacherSection().pretrained is True
    with pytest.raises(TeacherNotAvailable) as err:
        load_teacher("timm:test_resnet", num_classes=4)
    assert "HF_HUB_OFFLINE=1" in _one_line(err)
    torch.manual_seed(1)
    published = timm.create_model("test_resnet", pretrained=False)
    save_file(published.state_dict(), str(tmp_path / "model.safetensors"))
    _cache_repo(hub_cache, "timm/test_resnet.r160_in1k",
                {"model.safetensors": tmp_path / "model.safetensors"})
    full = load_teacher("timm:test_resnet")
    ref = published.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in full.model.state_dict().items())
    head4 = load_teacher("timm:test_resnet", num_classes=4)
    body = {k: v for k, v in head4.model.state_dict().items() if not k.startswith("fc.")}
    assert all(torch.equal(v, ref[k]) for k, v in body.items())
    assert head4.num_classes == 4 and head4.info.extra["new_head"] is True
    random = load_teacher("timm:test_resnet", pretrained=False, num_classes=4)
    assert not torch.equal(random.model.conv1[0].weight, ref["conv1.0.weight"])


def test_an_unreachable_hub_fails_in_a_second_without_hf_hub_offline(monkeypatch, hub_cache):
    """Without HF_HUB_OFFLINE the hub client would retry a refused connection for ~23 s; the
    loaders ask once (hub.reachable) and read the cache only."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # as in a fresh, online process
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    hub._connects.cache_clear()
    t0 = time.perf_counter()
    for spec in ("timm:test_resnet", "timm:hf-hub:me/tiny-vit"):
        with pytest.raises(TeacherNotAvailable) as err:
            load_teacher(spec)
        assert "does not answer" in _one_line(err) and "127.0.0.1:9" in str(err.value)
    with pytest.raises(TeacherNotAvailable) as err:
        load_teacher("hf:openai/clip-vit-base-patch32", class_names=["a", "b"])
    assert "local:PATH" in _one_line(err)
    assert time.perf_counter() - t0 < 5
    hub._connects.cache_clear()


def test_our_teacher_json_gets_the_same_checks(tiny_teacher, tmp_path):
    from semdistill.teachers import save_teacher

    folder = save_teacher(tiny_teacher, tmp_path / "t")
    meta = json.loads((folder / "teacher.json").read_text())
    sentinel = tmp_path / "unpickled"
    _hostile_pickle(tmp_path / "w.bin", sentinel)
    for edit, words in ((
            {"model_kwargs": {"checkpoint_path": str(tmp_path / "w.bin")}},
            "may not set checkpoint_path"), ({"arch": "local-dir:../elsewhere"},
                                             "is not a timm model")):
        (folder / "teacher.json").write_text(json.dumps(meta | edit))
        with pytest.raises(TeacherNotAvailable) as err:
            load_teacher(f"local:{folder}")
        assert words in _one_line(err)
    for broken in ([1], {k: v for k, v in meta.items() if k != "num_classes"},
                   meta | {"preprocess": {"mean": 3}}):
        (folder / "teacher.json").write_text(json.dumps(broken))
        with pytest.raises(TeacherNotAvailable) as err:
            load_teacher(f"local:{folder}")
        assert "teacher.json" in _one_line(err)
    (folder / "teacher.json").write_text(json.dumps(meta))
    (folder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(TeacherNotAvailable, match="not a readable safetensors file"):
        load_teacher(f"local:{folder}")
    assert not sentinel.exists()
