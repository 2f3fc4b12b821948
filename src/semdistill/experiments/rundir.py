"""The run directory: one folder per experiment run, with a fixed layout.

    runs/<id>/
      config.yaml          resolved config (what actually ran)
      metrics.jsonl        one JSON object per logged step
      results/*.json       evaluation results (schema: semdistill.results)
      checkpoints/<tag>/   atomic checkpoints (semdistill.engine.checkpoint)
      tensorboard/         TensorBoard event files of every metrics row (``--tracker``)
      plots/*.png
      report.md
      run.json             the system and the fingerprint of config.yaml at creation
      run.lock             held (flock) by the process writing the run

A run directory is created atomically (a name already taken goes to ``<name>-2``, ...), and one
process at a time writes it: ``run``, ``run --resume`` and ``eval`` hold ``run.lock``, and a
second writer is refused with a line naming the holder. ``--resume`` and ``eval`` check
``run.json`` first, so a ``config.yaml`` of another system, or one edited after the run
started, is refused before any work (see docs/scaling.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from semdistill.config import ConfigError, to_yaml
from semdistill.engine.processes import is_main_process
from semdistill.engine.tracking import FOLDERS, WALL_CLOCK_KEYS, Tracker
from semdistill.errors import UserError
from semdistill.results import Results
from semdistill.utils.io import atomic_write_json, atomic_write_text
from semdistill.utils.lock import folder_lock

RUN_INFO, RUN_FORMAT, LOCK = "run.json", "semdistill.run/1", "run.lock"
#: what a system records of a run besides its results (its wall time, ``device``, ...)
RESULTS_INFO = "results/run-info.json"
#: what a run directory holds before its first stage has written anything
STARTUP_FILES = frozenset({"config.yaml", RUN_INFO, LOCK, "metrics.jsonl"})
TRACKER_DIRS = frozenset(FOLDERS.values())


class MissingCheckpoints(UserError, FileNotFoundError):
    """A command that only reads trained weights (``eval``) found a stage that never finished."""


class RunDir:
    """Handle on a run directory. Create new ones with :meth:`create`, reopen with :meth:`open`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._logged: set[tuple[Any, Any]] | None = None  # (tag, step) rows in metrics.jsonl
        self.tracker: Tracker | None = None  # started inside :meth:`tracking`
        self._tracker_kind: str | None = None

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, config: BaseModel, name: str | None = None) -> RunDir:
        """Make a fresh run directory under ``root`` and save the resolved ``config`` in it.

        The folder is claimed with an exclusive ``mkdir``, so two runs started together with
        the same name never share a directory.
        """
        root = Path(root)
        system = getattr(config, "system", "run")
        base = name or f"{system}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            path, n = root / base, 1
            while True:
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    n += 1
                    path = root / f"{base}-{n}"
            for sub in ("checkpoints", "plots", "results"):
                (path / sub).mkdir()
            text = to_yaml(config)
            atomic_write_text(path / "config.yaml", text)
        except (FileExistsError, NotADirectoryError) as err:
            raise UserError(f"cannot create a run directory under {root}: {err.filename} is a "
                            "file, not a folder") from None
        except OSError as err:
            raise UserError(f"cannot create a run directory under {root}: "
                            f"{err.strerror or err}") from None
        run = cls(path)
        atomic_write_json(path / RUN_INFO, {"format": RUN_FORMAT, "system": system,
                                            "config_sha256": _sha(text)})
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Reopen an existing run directory (for resume, eval and report)."""
        run = cls(path)
        if not (run.path / "config.yaml").is_file():
            raise ConfigError(f"{run.path} is not a run directory (no config.yaml)")
        return run

    # ---- layout -------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def require_finished(self, tags: Iterable[str]) -> None:
        """Refuse (one line naming them) when any of ``tags`` has no ``checkpoints/<tag>/final``.

        Commands that evaluate a run call this first: they never train a missing stage.
        """
        missing = [t for t in tags if not (self.checkpoints / t / "final").is_dir()]
        if missing:
            raise MissingCheckpoints(
                f"{self.path}: no finished checkpoint for {', '.join(missing)}; finish the run "
                f"first with `semdistill run --resume {self.path}`")

    @property
    def plots(self) -> Path:
        p = self.path / "plots"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def results(self) -> Path:
        p = self.path / "results"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def report_path(self) -> Path:
        return self.path / "report.md"

    def config_data(self) -> dict[str, Any]:
        """The saved config as a mapping (YAML read safely: no tags, no code)."""
        path = self.path / "config.yaml"
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"{path}: unreadable config ({first})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: not a config (a mapping with 'system' expected)")
        return data

    def check_identity(self, system: str) -> None:
        """Refuse a run directory whose ``config.yaml`` is of another system than ``run.json``
        records, or changed since the run was created. Run directories made before ``run.json``
        existed get one now (they are trusted as they are)."""
        info_path, text = self.path / RUN_INFO, (self.path / "config.yaml").read_text()
        if not info_path.is_file():
            atomic_write_json(info_path, {"format": RUN_FORMAT, "system": system,
                                          "config_sha256": _sha(text)})
            return
        try:
            info = json.loads(info_path.read_text())
            ok = isinstance(info, dict) and info.get("format") == RUN_FORMAT
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"{info_path}: not a semdistill run record; {self.path} is not a "
                              "run directory of this library (or it is damaged)")
        if info.get("system") != system:
            raise ConfigError(f"{self.path} is a {info.get('system')!r} run, but its config.yaml "
                              f"is of system {system!r}: refusing to mix two systems in one run "
                              "directory; start a new run instead")
        if info.get("config_sha256") != _sha(text):
            raise ConfigError(f"{self.path / 'config.yaml'} was changed after the run started; "
                              "restore it, or start a new run with the new config (give "
                              "changes to a resume with --set)")

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the run's lock for the block (main process only; other ranks share its work)."""
        if not is_main_process():
            yield
            return
        with folder_lock(self.path / LOCK, what="run directory"):
            yield

    def remove_if_unstarted(self) -> bool:
        """Delete the run directory when no stage has written anything in it yet: only what
        :meth:`create` wrote, the lock, the logs (``metrics.jsonl``, tracker folders) and empty
        folders are there. Returns whether it was removed (a failed first stage leaves nothing
        behind; anything a stage made stays, for ``--resume``)."""
        for p in self.path.rglob("*"):
            rel = p.relative_to(self.path)
            folder = p.is_dir() and not p.is_symlink()
            if folder or rel.parts[0] in TRACKER_DIRS or str(rel) in STARTUP_FILES:
                continue
            return False
        shutil.rmtree(self.path, ignore_errors=True)
        return True

    # ---- logging ------------------------------------------------------------------------
    @contextmanager
    def tracking(self, kind: str) -> Iterator[None]:
        """Mirror every metrics row written in the block into an accelerate tracker (``kind``
        = ``tensorboard`` or ``wandb``; ``none`` mirrors nothing). Main process only."""
        if kind == "none" or not is_main_process():
            yield
            return
        self._tracker_kind = kind  # the tracker starts at the first row (engine.tracking)
        try:
            yield
        finally:
            if self.tracker is not None:
                self.tracker.close()
            self.tracker, self._tracker_kind = None, None

    def log_metrics(self, step: int, tag: str, **metrics: float) -> None:
        """Append one line to ``metrics.jsonl``: {"step", "tag", "time", **metrics}, and give
        the same scalars to the tracker (if any).

        Under a multi-process launch only the main rank appends (the others hold the same rows).
        A resumed stage recomputes the steps after its last checkpoint with bitwise identical
        values; a row equal to one already in the file (tag, step and every value but the
        wall-clock ones) is not written again, so a resume never repeats rows.
        """
        if not is_main_process():
            return
        values = {k: float(v) for k, v in metrics.items()}
        if self._logged is None:
            self._logged = {_row_key(r) for r in self.read_metrics()}
        key = _row_key({"step": step, "tag": tag, **values})
        if key in self._logged:
            return
        self._logged.add(key)
        row = {"step": step, "tag": tag, "time": round(time.time(), 3)}
        row.update(values)
        with open(self.path / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        if self.tracker is None and self._tracker_kind is not None:
            self.tracker = Tracker(self._tracker_kind, self.path, self.path.name,
                                   self.config_data())
        if self.tracker is not None:
            self.tracker.log(tag, step, values)

    def log_results(self, results: Results) -> None:
        """Log an evaluation results table as metrics rows (and tracker scalars).

        Each record goes to tag ``eval/<results name>/<its text fields, joined by />`` (e.g.
        ``eval/accuracy-vs-snr/prestored/awgn``; characters other than letters, digits and
        ``-_.+`` become ``_``), step = the next step of that tag (each evaluation continues
        the tag's axis: an ``eval`` after the run appends after the run's rows), values = its
        numeric fields (axes such as ``snr_db`` included, so each row says where it was
        measured); a field named like a row key (``step``, ``tag``, ``time``) is logged as
        ``record_<name>``.
        """
        if not is_main_process():
            return
        index = Counter(r.get("tag") for r in self.read_metrics())
        for rec in results.records:
            group = "/".join(_TAG_UNSAFE.sub("_", v) for v in rec.values() if isinstance(v, str))
            tag = f"eval/{results.name}" + (f"/{group}" if group else "")
            values = {(f"record_{k}" if k in _ROW_KEYS else k): float(v) for k, v in rec.items()
                      if isinstance(v, int | float)}  # flags (``adaptive``) as 0/1
            if values:
                self.log_metrics(index[tag], tag, **values)
                index[tag] += 1

    def read_metrics(self, tag: str | None = None) -> list[dict[str, Any]]:
        path = self.path / "metrics.jsonl"
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(errors="replace").splitlines():  # a garbled line: skipped
            try:
                rows.append(json.loads(line))
            except ValueError:  # blank, or the torn last line of a killed process
                continue
        return [r for r in rows if isinstance(r, dict) and (tag is None or r.get("tag") == tag)]

    def write_json(self, relpath: str, obj: Any) -> Path:
        return atomic_write_json(self.path / relpath, obj)

    def read_json(self, relpath: str) -> Any:
        return json.loads((self.path / relpath).read_text())

    def update_info(self, **fields: Any) -> Path:
        """Merge ``fields`` into ``results/run-info.json`` (created when missing); e.g.
        ``wall_seconds_before_report``, the run's wall time (s) that a reference sums."""
        path = self.path / RESULTS_INFO
        info = self.read_json(RESULTS_INFO) if path.is_file() else {}
        return self.write_json(RESULTS_INFO, {**info, **fields})

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"


_ROW_KEYS = frozenset({"step", "tag", "time"})
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """A metrics row without its wall-clock fields (what a recomputed step reproduces)."""
    return tuple(sorted((k, v) for k, v in row.items() if k not in WALL_CLOCK_KEYS))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

