"""The one explanation of a model that cannot be loaded from the hub or from disk.

Teachers, generators and consistency embedders all load weights by hub id or local path; each
goes through :func:`load_or_explain`, so a missing folder or an offline hub is one line
(:class:`ModelNotAvailable`) that says how to fix it, never a download retry loop or a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from semdistill.errors import UserError

T = TypeVar("T")

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


def load_or_explain(load: Callable[[], T], name_or_path: str | Path, what: str,
                    local_hint: str = DIFFUSERS_HINT) -> T:
    """Run ``load()``; turn hub/file failures into one :class:`ModelNotAvailable` line."""
    local = is_local(name_or_path)
    if not local and offline():
        raise ModelNotAvailable(
            f"{what} {str(name_or_path)!r} is not a local folder and the hub is offline "
            "(HF_HUB_OFFLINE=1): run once with internet and HF_HUB_OFFLINE=0 to cache it, "
            "or pass a local path")
    try:
        return load()
    except (OSError, ValueError) as err:
        hint = local_hint if local else ("check the hub id, your internet connection, or pass "
                                         "a local path")
        raise ModelNotAvailable(f"cannot load {what} {str(name_or_path)!r}: "
                                f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                                f"; {hint}") from None
