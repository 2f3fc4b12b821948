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


@pytest.fixture
def endpoint(monkeypatch):
    """Point the hub at a local address; forget earlier reachability answers."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def set_to(url: str) -> None:
        monkeypatch.setattr(constants, "ENDPOINT", url)
        hub._connects.cache_clear()

    yield set_to
    hub._connects.cache_clear()


def test_reachable_asks_the_endpoint_once_and_fast(endpoint, monkeypatch):
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        endpoint(f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub.reachable() and not hub.local_only()
    finally:
        server.close()
    endpoint("http://127.0.0.1:9")  # nothing listens on the discard port
    t0 = time.perf_counter()
    assert not hub.reachable() and hub.local_only()
    assert time.perf_counter() - t0 < hub.REACH_TIMEOUT_S + 0.5
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not hub.reachable()  # offline: not even asked


def test_an_unreachable_hub_refuses_uncached_ids_before_loading(endpoint, tmp_path,
                                                                monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    endpoint("http://127.0.0.1:9")
    called = []
    with pytest.raises(hub.ModelNotAvailable) as err:
        hub.load_or_explain(lambda: called.append(1), "org/model", "edge model")
    assert not called and "does not answer" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "models--org--model").mkdir()  # cached: the loader gets its chance
    assert hub.cached("org/model")
    hub.load_or_explain(lambda: called.append(1), "org/model", "edge model")
    assert called == [1]
