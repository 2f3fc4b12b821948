"""The no-alignment baselines: the typed spec, the link and condition the base trains with, and
the fingerprints that keep runs made before ``baselines`` resumable."""

import json
from pathlib import Path

import pytest
import torch

from semdistill.channels import Link
from semdistill.config import ConfigError
from semdistill.experiments.dekag import codec_fingerprint
from semdistill.experiments.dekag.train import (
    _codecs,
    baseline_condition,
    baseline_training,
    stage_tags,
)
from semdistill.experiments.registry import load_config_file

ROOT = Path(__file__).resolve().parents[3]
SHAPES, TINY = ROOT / "configs" / "dekag" / "shapes.yaml", ROOT / "configs" / "dekag" / "tiny.yaml"
#: the values that reproduce every run made before ``baselines`` (the matched base as ``base``)
OLD = ["baselines.base={channel: actual, rates: null, snr_db: null, latents: unaligned}",
       "baselines.matched=null"]


def test_default_reading_is_a_nominal_awgn_base_and_a_matched_one():
    _, cfg = load_config_file(SHAPES, [])
    base = baseline_training(cfg, cfg.baselines.base)
    assert base["channel"]["name"] == "awgn" and base["symbols"] == [256]
    assert base["snr_db"] == 10.0 and base["latents"] == "unaligned"
    matched = baseline_training(cfg, cfg.baselines.matched)
    assert matched["channel"] == cfg.codec.channel.model_dump(mode="json")
    assert stage_tags(cfg)[-1] == "base_matched" and stage_tags(cfg)[0] == "base"


@pytest.mark.parametrize(("override", "words"), [
    ("baselines.base.rates=[48]", "baselines.base.rates: 48 symbols is not one of codec.rates"),
    ("baselines.matched.latents=cloud", "latents"),
    ("baselines.base.snr_db={low: 20, high: -5}", "SNR range reversed"),
    ("baselines.base.snr_db=99", "snr_db"),
    ("baselines.base.channel=ideal", "channel"),
    ("baselines.base.channel={name: awgn, num_blocks: 4}", "num_blocks=1"),
    ("baselines.base.rates=[]", "rates"),
    ("baselines.base.speed=1", "unknown key 'baselines.base.speed'"),
])
def test_a_bad_baseline_is_one_line_naming_the_key(override, words):
    with pytest.raises(ConfigError) as err:
        load_config_file(SHAPES, [override])
    msg = str(err.value)
    assert "\n" not in msg and words in msg and "baselines" in msg


def test_conditions_fixed_or_drawn_over_the_spec():
    _, cfg = load_config_file(SHAPES, ["baselines.base.rates=[32, 128]",
                                       "baselines.base.snr_db={low: 0, high: 5}"])
    torch.manual_seed(0)
    r, s = baseline_condition(cfg, cfg.baselines.base)(4000, torch.device("cpu"))
    assert set(r.tolist()) == {0, 2} and s.min() >= 0.0 and s.max() <= 5.0 and s.std() > 1
    fixed = baseline_condition(cfg, cfg.baselines.matched)
    state = torch.random.get_rng_state()
    r, s = fixed(8, torch.device("cpu"))
    assert r.tolist() == [3] * 8 and s.tolist() == [10.0] * 8
    assert torch.equal(state, torch.random.get_rng_state())  # draws nothing, as before


def _fake_data(cfg):
    z = torch.randn(6, 4, 8, 8)
    return {"base": z, "train": z + 1, "test": z[:2]}


def test_the_nominal_base_trains_over_awgn_and_is_deployed_on_the_actual_channel():
    _, cfg = load_config_file(TINY, ["adapters.methods=[cala]"])
    seen = {}

    def fit(model, tag, latents, train, condition):
        link = model.link if hasattr(model, "link") else model.model.link
        seen[tag] = (type(link.channel).__name__, latents.mean().item(),
                     condition(3, torch.device("cpu")))
        return {}

    models, _, _ = _codecs(cfg, _fake_data(cfg), fit)
    actual = type(Link.from_config(cfg.codec.channel, normalize=False).channel).__name__
    assert seen["base"][0] == type(Link.from_config({"name": "awgn"}).channel).__name__
    assert seen["base"][0] != actual and seen["base_matched"][0] == actual
    assert seen["cala"][0] == actual  # the adapters train over the actual channel
    assert type(models["base"].link.channel).__name__ == actual  # deployed there
    assert seen["base"][2][0].tolist() == [1, 1, 1]  # the highest rate, 10 dB
    assert seen["base"][2][1].tolist() == [10.0] * 3
    assert list(models) == ["base", "base_matched", "cala"]


def test_aligned_latents_when_the_spec_says_so():
    _, cfg = load_config_file(TINY, ["adapters.methods=[]", "baselines.matched.latents=aligned"])
    seen = {}
    data = _fake_data(cfg)
    def fit(model, tag, latents, train, condition):
        seen[tag] = latents
        return {}

    _codecs(cfg, data, fit)
    assert seen["base"] is data["base"] and seen["base_matched"] is data["train"]


def test_the_old_values_give_the_fingerprints_of_runs_made_before_baselines():
    _, old = load_config_file(SHAPES, OLD)
    before = {"codec": old.codec.fingerprint_dump(),
              "adapters": old.adapters.model_dump(mode="json"),
              "data": old.data.model_dump(mode="json")}
    for tag in ("base", "cala", "shared_lora"):  # the code before this change
        assert codec_fingerprint(old, tag) == json.dumps({**before, "extra": tag})
    assert stage_tags(old) == ["base", "shared_lora", "vgsa", "cala", "full_ft"]
    # the same training written out explicitly is the same fingerprint
    _, explicit = load_config_file(SHAPES, ["baselines.base.channel=actual",
                                            "baselines.base.rates=[256]"])
    assert codec_fingerprint(explicit, "base") == codec_fingerprint(old, "base")
    # the nominal-link base moves the base's and every adapter's fingerprint, not the matched's
    _, new = load_config_file(SHAPES, [])
    for tag in ("base", "cala"):
        assert json.loads(codec_fingerprint(new, tag))["baseline"]["channel"]["name"] == "awgn"
    assert "baseline" not in json.loads(codec_fingerprint(new, "base_matched"))
    _, other = load_config_file(SHAPES, ["baselines.matched.snr_db=5"])
    assert codec_fingerprint(other, "base_matched") != codec_fingerprint(new, "base_matched")
    assert codec_fingerprint(other, "cala") == codec_fingerprint(new, "cala")


def test_a_makd_run_dir_gives_the_deliverable_of_the_subject_and_method(tmp_path):
    """alignment.deliverable = a makd run dir: its deliverable for data.subject and
    alignment.method, never another subject's (the first file found)."""
    from semdistill.experiments.dekag.data import resolve_deliverable
    from semdistill.generative.errors import AlignmentError

    d = tmp_path / "deliverables"
    d.mkdir()
    for name in ("blue-star-makd", "red-star-lora", "red-star-makd"):
        (d / f"{name}.safetensors").write_bytes(b"")
    star = {"shape": "star", "color": "red"}
    assert resolve_deliverable(str(tmp_path), star, "makd") == d / "red-star-makd.safetensors"
    assert resolve_deliverable(str(tmp_path), star, "lora") == d / "red-star-lora.safetensors"
    with pytest.raises(AlignmentError, match="no deliverable for the green heart by makd"):
        resolve_deliverable(str(tmp_path), {"shape": "heart", "color": "green"}, "makd")
    assert resolve_deliverable(str(d / "x.safetensors"), star, "makd") == d / "x.safetensors"
