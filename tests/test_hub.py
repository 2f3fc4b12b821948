"""The hub/offline explanation shared by teachers, generators and consistency metrics."""

from __future__ import annotations

import pytest

from semdistill import hub


def test_offline_reads_hf_hub_offline(monkeypatch):
    for value, expected in [("1", True), ("true", True), ("ON", True), ("0", False), ("", False)]:
        monkeypatch.setenv("HF_HUB_OFFLINE", value)
        assert hub.offline() is expected


def test_a_hub_id_offline_fails_before_any_download_with_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    called = []
    with pytest.raises(hub.ModelNotAvailable, match="HF_HUB_OFFLINE=0") as err:
        hub.load_or_explain(lambda: called.append(1), "org/model", "edge model")
    assert not called and "\n" not in str(err.value)


def test_a_broken_local_folder_gets_the_folder_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def load():
        raise OSError("no file named config.json\nmore detail")

    with pytest.raises(hub.ModelNotAvailable) as err:
        hub.load_or_explain(load, tmp_path, "DINO model", "check the folder holds config.json")
    msg = str(err.value)
    assert "no file named config.json" in msg and "more detail" not in msg
    assert msg.endswith("check the folder holds config.json")
    with pytest.raises(hub.ModelNotAvailable, match="model_index.json"):
        hub.load_or_explain(load, tmp_path, "edge model")
