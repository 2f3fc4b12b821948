"""Typed configs: overrides, one-line errors naming the key, and a property test on random YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from semdistill.config import (
    ConfigError,
    SNRRange,
    StrictModel,
    TrainConfig,
    apply_overrides,
    parse_override,
    read_yaml,
    stable_dump,
    validate,
)
from semdistill.experiments.registry import load_config_file


class Section(StrictModel):
    width: int = 8
    snr: SNRRange = SNRRange()


class Top(StrictModel):
    system: str = "toy"
    train: TrainConfig = TrainConfig()
    model: Section = Section()


def test_override_parses_yaml_values_and_nested_keys():
    assert parse_override("train.lr=3e-4") == (["train", "lr"], 3e-4)
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])
    data = apply_overrides({"train": {"steps": 5}}, ["train.steps=9", "model.width=4"])
    assert data == {"train": {"steps": 9}, "model": {"width": 4}}
    cfg = validate(Top, data)
    assert cfg.train.steps == 9 and cfg.model.width == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": {"widht": 3}}, "unknown key 'model.widht'"),
        ({"train": {"steps": "many"}}, "train.steps"),
        ({"train": {"lr": -1}}, "train.lr"),
        ({"model": {"snr": {"low": 20, "high": -5}}}, "SNR range reversed"),
        ({"model": {"snr": {"low": 500}}}, "model.snr.low"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(data, message):
    with pytest.raises(ConfigError) as err:
        validate(Top, data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


class Tuned(StrictModel):
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(steps=3000, lr=2e-3,
                                                                  warmup_steps=20))
    model: Section = Section(width=16, snr=SNRRange(low=0.0, high=10.0))


def test_a_partial_section_keeps_the_fields_own_defaults():
    cfg = validate(Tuned, apply_overrides({}, ["train.steps=10", "model.snr.high=5"]))
    assert (cfg.train.steps, cfg.train.lr, cfg.train.warmup_steps) == (10, 2e-3, 20)
    assert (cfg.model.width, cfg.model.snr.low, cfg.model.snr.high) == (16, 0.0, 5.0)
    assert validate(Tuned, {}).train == Tuned().train


def test_override_into_a_scalar_is_an_error():
    with pytest.raises(ConfigError, match="train.steps is not a section"):
        apply_overrides({"train": {"steps": 3}}, ["train.steps.x=1"])
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("no-equals-sign")


def test_read_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        read_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        read_yaml(lst)


keys = st.sampled_from(["system", "train", "model", "steps", "lr", "width", "snr", "low", "bogus"])
leaves = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=8),
                   st.booleans(), st.none())
trees = st.recursive(leaves, lambda children: st.dictionaries(keys, children, max_size=4),
                     max_leaves=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=st.dictionaries(keys, trees, max_size=5))
def test_random_yaml_either_validates_or_raises_config_error(tmp_path_factory, tree):
    """Whatever YAML a user writes, the loader returns a valid config or one ConfigError line."""
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump(tree))
    try:
        cfg = validate(Top, read_yaml(path))
    except ConfigError as err:
        assert "\n" not in str(err) and str(err).startswith("config")
    else:
        assert cfg.train.steps >= 1 and cfg.model.snr.low <= cfg.model.snr.high


REAL_CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*/*.yaml"))


def _key_paths(tree: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in tree.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += _key_paths(v, (*prefix, k))
    return out


edits = st.one_of(leaves, st.lists(leaves, max_size=4), st.dictionaries(keys, leaves, max_size=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_shipped_config_under_random_edits_validates_or_fails_in_one_line(tmp_path_factory,
                                                                                data):
    """The real loader on the shipped configs with random values at random keys (or new keys):
    it returns a config or raises one ConfigError line, never another exception."""
    source = data.draw(st.sampled_from(REAL_CONFIGS), label="config")
    tree = read_yaml(source)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        path = data.draw(st.sampled_from(_key_paths(tree)), label="key")
        node = tree
        for k in path[:-1]:
            node = node[k]
        key = data.draw(st.sampled_from([path[-1], "bogus"]), label="replace or add")
        node[key] = data.draw(edits, label="value")
    file = tmp_path_factory.mktemp("cfg") / "c.yaml"
    file.write_text(yaml.safe_dump(tree))
    try:
        load_config_file(file)
    except ConfigError as err:
        assert "\n" not in str(err) and str(err), err


@pytest.mark.parametrize("model, key, new", [
    ("semdistill.models.student:StudentConfig", "adaptive_rescale", True),
    ("semdistill.generative.makd:MAKDConfig", "prior_weight", 1.0),
    ("semdistill.models.latent_jscc:LatentJSCCConfig", "distortion", "log_mse"),
    ("semdistill.experiments.ltsc.config:StoreSection", "transfer_size", 4096),
])
def test_options_added_later_leave_the_fingerprint_of_older_runs_unchanged(model, key, new):
    import importlib

    mod, name = model.split(":")
    cls = importlib.import_module(mod).__dict__[name]
    assert set(cls.ADDED_LATER) <= set(cls.model_fields)
    old = cls()  # the class default is the behaviour of runs made before the option
    assert cls.ADDED_LATER[key] == getattr(old, key)
    dump = old.model_dump(mode="json")
    assert old.fingerprint_dump() == {k: v for k, v in dump.items() if k != key}
    assert cls(**{key: new}).fingerprint_dump()[key] == new


def test_stable_dump_leaves_out_nested_options_added_later_at_their_old_value():
    _, cfg = load_config_file(LTSC_TINY)
    dump = stable_dump(cfg)
    assert "transfer_size" not in dump["store"] and "adaptive_rescale" not in dump["student"]
    assert {k: v for k, v in dump.items() if k not in ("store", "student")} == {
        k: v for k, v in cfg.model_dump(mode="json").items() if k not in ("store", "student")}
    cfg.store.transfer_size = 8
    assert stable_dump(cfg)["store"]["transfer_size"] == 8


# ---- strict types: finite floats, no bool or string for an int -------------------------------
LTSC_TINY = Path(__file__).resolve().parents[1] / "configs" / "ltsc" / "tiny.yaml"


@pytest.mark.parametrize("override, key", [
    ("train.lr=.inf", "train.lr"), ("train.lr=1e400", "train.lr"),
    ("train.grad_clip=.inf", "train.grad_clip"), ("loss.beta=.inf", "loss.beta"),
    ("train.weight_decay=.nan", "train.weight_decay"), ("train.steps=true", "train.steps"),
    ("student.widths=[8, '8']", "student.widths.1"), ("train.steps=2.5", "train.steps"),
    ("channel.csi_error_var=.inf", "channel.csi_error_var"),
    ("channel.num_blocks=true", "channel.num_blocks"),
])
def test_lax_values_are_refused_in_one_line_naming_the_key(override, key):
    from semdistill.experiments.registry import load_config_file

    with pytest.raises(ConfigError) as err:
        load_config_file(LTSC_TINY, [override])
    assert f": {key}:" in str(err.value) and "\n" not in str(err.value)


def test_a_correlation_on_flat_rayleigh_is_refused_not_ignored():
    from semdistill.channels.config import ChannelConfig

    with pytest.raises(ValueError, match="needs block fading"):
        ChannelConfig(name="rayleigh", correlation="exponential")
    ChannelConfig(name="rayleigh_block", num_blocks=2, correlation="exponential")


def test_the_superseded_latency_repeats_still_loads_and_the_new_latency_keys_are_checked(
        tmp_path):
    from semdistill.experiments.registry import load_config_file

    old = read_yaml(LTSC_TINY)
    old["eval"] = {**old.get("eval", {}), "latency_repeats": 20}  # an older run's config.yaml
    older = tmp_path / "config.yaml"
    older.write_text(yaml.safe_dump(old))
    _, cfg = load_config_file(older)
    assert "latency_repeats" not in cfg.eval.model_dump() and cfg.eval.latency_threads == 1
    with pytest.raises(ConfigError) as err:  # set by hand it would do nothing: refused
        load_config_file(LTSC_TINY, ["eval.latency_repeats=20"])
    assert "eval.latency_repeats" in str(err.value) and "no longer exists" in str(err.value)
    for override, key in (("eval.latency_threads=0", "eval.latency_threads"),
                          ("eval.latency_seconds=0", "eval.latency_seconds"),
                          ("eval.latency_repeat=2", "eval.latency_repeat")):
        with pytest.raises(ConfigError) as err:
            load_config_file(LTSC_TINY, [override])
        assert key in str(err.value) and "\n" not in str(err.value)
