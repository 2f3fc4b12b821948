"""One results schema for every experiment (CompressAI's eval/plot pattern).

A results file is JSON::

    {"schema": "semdistill.results/1", "system": "ltsc", "name": "accuracy-vs-snr",
     "meta": {...}, "records": [{"method": "prestored", "channel": "awgn", "snr_db": 0.0,
                                 "accuracy": 0.91}, ...]}

Records are flat: axis fields (``snr_db``, ``rate``, ``bandwidth_ratio``, ``fraction``,
``step``), grouping fields (``method``, ``channel``, ...) and metric fields (``accuracy``,
``psnr``, ``consistency``, ``bytes``). Any set of such files can be plotted together.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semdistill.errors import UserError
from semdistill.utils.io import atomic_write_json

SCHEMA = "semdistill.results/1"


class ResultsError(UserError, ValueError):
    """A file that is not a readable semdistill results file (the message names it)."""


@dataclass
class Results:
    """A named table of flat records, saved as one JSON file."""

    system: str
    name: str
    records: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, **record: Any) -> None:
        self.records.append({k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()})

    def select(self, **where: Any) -> list[dict[str, Any]]:
        """Records whose fields equal every ``where`` value."""
        return [r for r in self.records if all(r.get(k) == v for k, v in where.items())]

    def series(
        self, x: str, y: str, group_by: Sequence[str] = ("method",), **where: Any
    ) -> dict[tuple[Any, ...], tuple[list[float], list[float]]]:
        """Group records by ``group_by`` and return sorted (xs, ys) for each group."""
        groups: dict[tuple[Any, ...], list[tuple[float, float]]] = defaultdict(list)
        for r in self.select(**where):
            if x in r and y in r and r[y] is not None:
                groups[tuple(r.get(g) for g in group_by)].append((r[x], r[y]))
        return {k: tuple(map(list, zip(*sorted(v), strict=True))) for k, v in groups.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "system": self.system, "name": self.name, "meta": self.meta,
                "records": self.records}

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Results:
        """Read a results file; anything else (no JSON, another schema) is a :class:`ResultsError`."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ResultsError(f"{path}: not a readable results file ({err})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            got = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ResultsError(f"{path}: not a semdistill results file (schema {got!r})")
        records, meta = data.get("records"), data.get("meta", {})
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records) \
                or not isinstance(meta, dict) or not isinstance(data.get("name"), str):
            raise ResultsError(f"{path}: malformed results file (records must be a list of "
                               "objects, meta an object)")
        return cls(system=str(data.get("system")), name=data["name"], records=records,
                   meta=meta)


def load_all(paths: Iterable[str | Path]) -> list[Results]:
    """Load results files; a folder contributes every ``*.json`` results file inside it."""
    out: list[Results] = []
    for p in map(Path, paths):
        files = sorted(p.glob("*.json")) if p.is_dir() else [p]
        for f in files:
            try:
                out.append(Results.load(f))
            except (ValueError, KeyError, json.JSONDecodeError):
                if not p.is_dir():
                    raise
    return out
