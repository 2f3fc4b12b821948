"""Experiment tracking through accelerate's trackers (TensorBoard, Weights & Biases).

A :class:`Tracker` mirrors every row of a run's ``metrics.jsonl`` (a tag, a step and named
scalars) into one accelerate ``GeneralTracker``: scalar ``<tag>/<key>`` at step ``step``, so
TensorBoard shows one curve per stage and key on that stage's own step axis. W&B requires one
increasing step for the whole run, so there each row also carries ``<tag>/step`` and that is
declared the x axis of the tag's curves (``define_metric``).

Only the main process creates a tracker (the caller decides, see ``RunDir.tracking``), so the
trackers' own main-process gate is switched off on the instance. accelerate's trackers log
through accelerate's logger, which needs its process-wide state: a tracker is made at the first
row, when a :class:`~semdistill.engine.loop.Trainer` has normally created that state already;
otherwise (``eval``, which trains nothing) it is created here as the first ``Accelerator``
would create it.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from semdistill.engine.processes import use_cpu
from semdistill.errors import UserError
from semdistill.utils.io import atomic_write_text

#: ``--tracker`` choices; ``auto`` = TensorBoard when installed, else none.
TRACKERS = ("auto", "tensorboard", "wandb", "none")
#: the PyPI package each tracker needs
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}
#: the folder of the run directory each tracker writes
FOLDERS = {"tensorboard": "tensorboard", "wandb": "wandb"}
#: metrics that measure wall-clock time: they differ between a run and its resume, so they are
#: left out when a resumed stage's recomputed rows are compared with the logged ones
WALL_CLOCK_KEYS = frozenset({"time", "samples_per_s"})


def installed(kind: str) -> bool:
    return importlib.util.find_spec(PACKAGES[kind]) is not None


def resolve_tracker(kind: str) -> str:
    """``auto`` → ``tensorboard`` when installed, else ``none``; an explicit tracker whose
    package is missing is one line naming the install command."""
    if kind not in TRACKERS:
        raise UserError(f"--tracker {kind!r}: unknown tracker; valid: {', '.join(TRACKERS)}")
    if kind == "auto":
        return "tensorboard" if installed("tensorboard") else "none"
    if kind != "none" and not installed(kind):
        raise UserError(f"--tracker {kind} needs the {PACKAGES[kind]!r} package: "
                        f"pip install 'semdistill[track]' (or pip install {PACKAGES[kind]}), "
                        "or use --tracker none")
    return kind


def _tensorboard(folder: Path, run_name: str) -> Any:
    from accelerate.tracking import TensorBoardTracker

    return TensorBoardTracker(FOLDERS["tensorboard"], folder)  # events in <folder>/tensorboard


def _wandb(folder: Path, run_name: str) -> Any:
    from accelerate.tracking import WandBTracker

    # W&B adds the folder FOLDERS["wandb"] under ``dir``; a resumed run continues its curves
    return WandBTracker("semdistill", dir=str(folder), name=run_name, id=wandb_id(folder),
                        resume="allow")


_RUN_ID = re.compile(r"[0-9a-f]{16}")


def wandb_id(folder: Path) -> str:
    """The W&B run id of the run directory ``folder``: drawn at random the first time and kept
    in ``wandb/semdistill-run-id``, so a resume continues the same W&B run and two run
    directories of the same name (every ``make demo``) never share one."""
    path = folder / FOLDERS["wandb"] / "semdistill-run-id"
    if path.is_file():
        run_id = path.read_text(errors="replace").strip()
        if not _RUN_ID.fullmatch(run_id):
            raise UserError(f"{path}: not a W&B run id written by semdistill (16 hex digits); "
                            "delete the file to start a new W&B run")
        return run_id
    run_id = uuid.uuid4().hex[:16]
    atomic_write_text(path, run_id + "\n")
    return run_id


#: tracker name → factory(run folder, run name) of an accelerate ``GeneralTracker``
FACTORIES: dict[str, Callable[[Path, str], Any]] = {"tensorboard": _tensorboard,
                                                    "wandb": _wandb}


class Tracker:
    """One started accelerate tracker of kind ``kind`` writing under ``folder``.

    ``folder`` is the run directory: TensorBoard event files go to ``<folder>/tensorboard/``,
    W&B files to ``<folder>/wandb/`` (``WANDB_MODE=offline`` is honoured by W&B itself).
    """

    def __init__(self, kind: str, folder: str | Path, run_name: str,
                 config: Mapping[str, Any] | None = None) -> None:
        from accelerate import PartialState

        PartialState(cpu=use_cpu())  # a no-op once an Accelerator exists
        self.kind = kind
        self._tracker = FACTORIES[kind](Path(folder), run_name)
        self._tracker.main_process_only = False  # the caller only builds one on the main rank
        if callable(getattr(self._tracker, "start", None)):  # accelerate < 1.3 starts in __init__
            self._tracker.start()
        self._tags: set[str] = set()
        if config:
            self._tracker.store_init_configuration(flat_config(config))

    def log(self, tag: str, step: int, values: Mapping[str, float]) -> None:
        """Record scalars ``values`` of stage ``tag`` at its ``step``."""
        scalars = {f"{tag}/{k}": float(v) for k, v in values.items()}
        if self.kind == "wandb":
            if tag not in self._tags:
                self._tracker.run.define_metric(f"{tag}/*", step_metric=f"{tag}/step")
            self._tracker.log({**scalars, f"{tag}/step": step})
        else:
            self._tracker.log(scalars, step=step)
        self._tags.add(tag)

    def close(self) -> None:
        self._tracker.finish()


def flat_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"train.lr": 1e-3, ...}`` with values a tracker's hyper-parameter
    table accepts (bool, int, float, str; lists and None as their text)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_config(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            out[name] = value
        else:
            out[name] = str(value)
    return out
