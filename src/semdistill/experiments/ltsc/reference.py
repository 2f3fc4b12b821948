"""Reference results of system ``ltsc``: a finished run's results files in a shipped folder
(``results/reference/ltsc/``) with a ``reference.json`` manifest, and the claims table rebuilt
from them (docs/ltsc.md, "Claims and seeds").

Layout of a reference folder::

    reference.json          format "semdistill.reference/1", system, claims_fingerprint (the
                            config without the keys that do not change one seed's figures),
                            config_sha256 (the run's config.yaml, as run.json and export
                            manifests record it), config (the run's config as JSON), seeds,
                            command, machine, wall_seconds, date, files {name: sha256}
    accuracy-vs-snr.json    the run's results files (results schema, a ``seed`` per record)
    accuracy-vs-fraction.json, distill-time.json, complexity.json

Only JSON is read; file names are plain ``<name>.json`` inside the folder (no path, no link);
every file's SHA-256 is checked. Any problem is one :class:`ReferenceError` line.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from semdistill.config import ConfigError, stable_dump, validate
from semdistill.errors import UserError
from semdistill.experiments.checks import Check
from semdistill.experiments.ltsc.claims import claims
from semdistill.experiments.ltsc.config import SYSTEM, LTSCConfig, run_config, seeds_of
from semdistill.experiments.rundir import RunDir
from semdistill.results import Results, ResultsError
from semdistill.utils.io import atomic_write_json, fingerprint, make_temp_dir, sha256_file

FORMAT = "semdistill.reference/1"
MANIFEST = "reference.json"
#: the results files a reference keeps: everything the claims are computed from.
FILES = ("accuracy-vs-snr.json", "accuracy-vs-fraction.json", "distill-time.json",
         "complexity.json")
#: config keys that do not change any one student's figures (where the run went, how many
#: seeds, which students it trains, which reference it is compared with; every student is
#: seeded, trained and evaluated on its own): a reference of N seeds serves the 1-seed config,
#: and the demo's run without the fraction students.
NOT_COMPARED = {"": ("seed", "name", "output_dir", "description", "tracker", "device"),
                "runs": ("seeds", "extra_seeds", "online", "scratch", "non_adaptive", "fractions",
                         "fraction_methods"),
                "eval": ("reference",)}
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*\.json")
#: the repository root, against which a relative ``eval.reference`` is resolved.
REPO_ROOT = Path(__file__).resolve().parents[4]


class ReferenceError(UserError, ValueError):
    """A reference folder that is unreadable, corrupt, escapes its folder or was made for
    another config (the message names the folder and the problem)."""


class ReferenceMismatch(ReferenceError):
    """A sound reference folder made for another config (the message names the keys)."""


def compared_config(cfg: LTSCConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The config (a mapping is validated first) as JSON without :data:`NOT_COMPARED` keys
    and without options added since at their old value (:func:`~semdistill.config.stable_dump`)."""
    if not isinstance(cfg, LTSCConfig):
        cfg = validate(LTSCConfig, cfg, source="reference config")
    data = stable_dump(cfg)
    for section, keys in NOT_COMPARED.items():
        node = data.get(section, {}) if section else data
        for k in keys:
            node.pop(k, None)
    return data


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train.steps": 1000, ...}``: the leaves of a nested mapping by dotted key."""
    if not isinstance(d, dict) or not d:
        return {prefix: d}
    return {k2: v2 for k, v in d.items()
            for k2, v2 in _flat(v, f"{prefix}.{k}" if prefix else str(k)).items()}


def make_reference(rd: RunDir, out: Path, command: str | None = None,
                   machine: str | None = None) -> Path:
    """Copy run ``rd``'s results into a reference folder ``out`` (written whole, then renamed
    into place; an existing reference folder ``out`` is replaced only once the new one is
    complete; any other existing ``out`` is refused)."""
    cfg = run_config(rd)
    missing = [f for f in FILES if not (rd.results / f).is_file()]
    if missing:
        raise ReferenceError(f"{rd.path}: not a finished ltsc run (no results/{missing[0]})")
    if out.exists() and not (out / MANIFEST).is_file():
        raise ReferenceError(f"{out} exists and is not a reference folder (no {MANIFEST}): "
                             "refusing to replace it")
    info = rd.read_json("results/run-info.json")
    run_json = rd.read_json("run.json") if (rd.path / "run.json").is_file() else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}-")
    files = {}
    for name in FILES:
        data = (rd.results / name).read_bytes()
        (tmp / name).write_bytes(data)
        files[name] = sha256_file(tmp / name)
    seeds = seeds_of(cfg)
    atomic_write_json(tmp / MANIFEST, {
        "format": FORMAT, "system": SYSTEM,
        "claims_fingerprint": fingerprint(compared_config(cfg)),
        "config_sha256": run_json.get("config_sha256"), "config": cfg.model_dump(mode="json"),
        "seeds": seeds,
        "command": command or f"semdistill run {rd.path / 'config.yaml'}",
        "machine": machine or f"{platform.node()} ({platform.processor() or platform.machine()}"
                              f", device {info.get('device', '?')})",
        "wall_seconds": info.get("wall_seconds_before_report"),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                              time.gmtime((rd.results / "run-info.json").stat().st_mtime)),
        "files": files})
    if out.exists():
        old = out.with_name(f".{out.name}-old")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
    return out


def load_reference(folder: Path) -> dict[str, Any]:
    """The validated manifest of reference ``folder``: JSON, this format and system, plain file
    names inside the folder, every checksum right and every file a results file."""
    path = folder / MANIFEST
    try:
        man = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReferenceError(f"{path}: not a readable reference manifest ({err})") from None
    if not isinstance(man, dict) or man.get("format") != FORMAT or man.get("system") != SYSTEM:
        raise ReferenceError(f"{path}: not an ltsc reference manifest (format {FORMAT!r})")
    files = man.get("files")
    if not isinstance(files, dict) or not isinstance(man.get("config"), dict) \
            or not isinstance(man.get("seeds"), list):
        raise ReferenceError(f"{path}: malformed (files, config and seeds are required)")
    for name, digest in files.items():
        file = folder / str(name)
        if not (isinstance(name, str) and _NAME.fullmatch(name)) or file.is_symlink():
            raise ReferenceError(f"{path}: file {name!r} is not a plain name inside the folder")
        if not file.is_file():
            raise ReferenceError(f"{folder}: {name} is missing")
        if sha256_file(file) != digest:
            raise ReferenceError(f"{folder}: {name} does not match its checksum in {MANIFEST}")
        try:
            Results.load(file)
        except ResultsError as err:
            raise ReferenceError(str(err)) from None
    if set(files) != set(FILES):
        raise ReferenceError(f"{path}: lists {sorted(files)}; a reference holds exactly "
                             f"{', '.join(FILES)} (every file the claims read is checksummed)")
    return man


def check_matches(man: Mapping[str, Any], cfg: LTSCConfig, folder: Path) -> None:
    """Refuse a reference made for another config, naming the first keys that differ."""
    if man.get("claims_fingerprint") == fingerprint(compared_config(cfg)):
        return
    try:
        ref = _flat(compared_config(man["config"]))
    except ConfigError as err:  # a config this version no longer reads: another config
        raise ReferenceMismatch(f"reference {folder} was made for another config ({err})"
                                ) from None
    here = _flat(compared_config(cfg))
    diff = [k for k in sorted(ref.keys() | here.keys()) if ref.get(k) != here.get(k)]
    if not diff:  # the same compared keys, hashed under older comparison rules
        return
    shown = "; ".join(f"{k}: {ref.get(k)!r} there, {here.get(k)!r} here" for k in diff[:3])
    raise ReferenceMismatch(f"reference {folder} was made for another config "
                            f"({shown}{'; …' if len(diff) > 3 else ''})")


def reference_checks(folder: Path) -> list[Check]:
    """The claims table rebuilt from reference ``folder`` alone (its own config's thresholds)."""
    man = load_reference(folder)
    cfg = validate(LTSCConfig, man["config"], source=f"{folder / MANIFEST}: config")
    return claims(cfg, folder)


def resolve(path: str) -> Path:
    """``eval.reference`` as a folder: absolute, or relative to the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def reference_for(cfg: LTSCConfig) -> tuple[dict[str, Check] | None, str]:
    """The reference checks for ``cfg`` (by name) and a sentence for the report.

    No ``eval.reference``, a folder that does not exist yet, or one made for another config:
    None and a note naming why (the single seeds are then not placed). A corrupt reference or
    one with a path escape: :class:`ReferenceError`.
    """
    if cfg.eval.reference is None:
        return None, ""
    folder = resolve(cfg.eval.reference)
    if not (folder / MANIFEST).is_file():
        return None, f"no reference results at {folder} yet (eval.reference)"
    man = load_reference(folder)
    try:
        check_matches(man, cfg, folder)
    except ReferenceMismatch as err:
        return None, f"{err}: not used (eval.reference)"
    return ({c.name: c for c in reference_checks(folder)},
            f"reference: {folder} ({len(man['seeds'])} seeds, {man.get('machine')}, "
            f"{man.get('date')}; `{man.get('command')}`)")
