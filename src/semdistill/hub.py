"""The one explanation of a model that cannot be loaded from the hub or from disk.

Teachers, generators and consistency embedders all load weights by hub id or local path; each
goes through :func:`load_or_explain`, so a missing folder or an offline hub is one line
(:class:`ModelNotAvailable`) that says how to fix it, never a download retry loop or a traceback.

Without ``HF_HUB_OFFLINE=1``, :func:`reachable` asks the hub endpoint once per process for a TCP
connection (``REACH_TIMEOUT_S``): on a machine without network, loaders then read the local
cache only (:func:`local_only`) and fail in a second instead of retrying for half a minute.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from semdistill.errors import UserError

T = TypeVar("T")

#: seconds :func:`reachable` waits for the hub endpoint to accept a connection
REACH_TIMEOUT_S = 2.0

#: what a local folder should hold, for diffusers pipelines (the default hint).
DIFFUSERS_HINT = "check the folder holds a diffusers-format model (model_index.json)"


class ModelNotAvailable(UserError, OSError):
    """A model given by hub id or path cannot be loaded (offline, missing folder, bad files)."""


def is_local(name_or_path: str | Path) -> bool:
    """True when ``name_or_path`` names an existing folder or file on disk."""
    return Path(name_or_path).expanduser().exists()


def offline() -> bool:
    """Whether the Hugging Face hub is switched off (``HF_HUB_OFFLINE=1``)."""
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() in {"1", "true", "yes", "on"}


def endpoint() -> str:
    """The hub's URL (``HF_ENDPOINT``, as huggingface_hub reads it)."""
    from huggingface_hub import constants

    return constants.ENDPOINT


@functools.cache
def _connects(url: str, timeout_s: float) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout_s).close()
    except OSError:
        return False
    return True


#: proxy variables that huggingface_hub's client honours; a direct TCP probe would not
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def reachable() -> bool:
    """Whether the hub endpoint accepts a TCP connection within ``REACH_TIMEOUT_S`` (asked once
    per process and endpoint; False when :func:`offline`, without asking). Behind a proxy
    (``HTTPS_PROXY`` and friends) the hub is taken as reachable: only the client knows the way."""
    if offline():
        return False
    return any(os.environ.get(v) for v in PROXY_VARS) or _connects(endpoint(), REACH_TIMEOUT_S)


def local_only() -> bool:
    """Whether loaders must read the local cache only: the hub is off or does not answer."""
    return not reachable()


def cached(repo_id: str) -> bool:
    """Whether the Hugging Face cache holds a folder for model ``repo_id``."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    return (Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model")
            ).is_dir()


def unreachable_message(what: str, repo_id: str) -> str:
    """One line: the hub does not answer and ``repo_id`` is not cached; how to fix it."""
    return (f"{what} {repo_id!r} is not a local folder or in the local cache, and the hub "
            f"({endpoint()}) does not answer: run once with internet access to cache it, or pass "
            "a local path")


def load_or_explain(load: Callable[[], T], name_or_path: str | Path, what: str,
                    local_hint: str = DIFFUSERS_HINT) -> T:
    """Run ``load()``; turn hub/file failures into one :class:`ModelNotAvailable` line."""
    local = is_local(name_or_path)
    if not local and offline():
        raise ModelNotAvailable(
            f"{what} {str(name_or_path)!r} is not a local folder and the hub is offline "
            "(HF_HUB_OFFLINE=1): run once with internet and HF_HUB_OFFLINE=0 to cache it, "
            "or pass a local path")
    if not local and not reachable() and not cached(str(name_or_path)):
        raise ModelNotAvailable(unreachable_message(what, str(name_or_path)))
    try:
        return load()
    except (OSError, ValueError) as err:
        hint = local_hint if local else ("check the hub id, your internet connection, or pass "
                                         "a local path")
        raise ModelNotAvailable(f"cannot load {what} {str(name_or_path)!r}: "
                                f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                                f"; {hint}") from None
