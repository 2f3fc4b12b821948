"""Pickle-free storage of training state: a nested Python value as JSON plus safetensors.

Optimizer and scheduler state dicts, RNG states (Python, NumPy, torch, CUDA) and a trainer's
extras are trees of dicts, lists, tuples, scalars, strings, tensors and NumPy arrays.
:func:`encode` splits such a tree into a JSON-able skeleton and a flat ``{key: tensor}`` dict
(saved with safetensors); :func:`decode` rebuilds it. Reading either file runs no code, unlike
``torch.load``/``pickle``, so a run directory from someone else cannot execute anything.

Skeleton markers (a dict with one of these keys stands for a non-JSON value):

- ``{"__tensor__": key}``: a torch tensor stored under ``key``;
- ``{"__ndarray__": key}``: a NumPy array stored as a tensor under ``key``;
- ``{"__tuple__": [...]}``: a tuple (``random.setstate`` needs tuples);
- ``{"__items__": [[k, v], ...]}``: a dict whose keys are not all strings (optimizer state is
  keyed by parameter index);
- ``{"__float__": "nan" | "inf" | "-inf"}``: a non-finite float (strict JSON has none).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

_MARKERS = ("__tensor__", "__ndarray__", "__tuple__", "__items__", "__float__")
_SCALARS = (bool, int, str, type(None))


class StateFormatError(ValueError):
    """A state skeleton that :func:`decode` cannot rebuild (foreign or damaged file)."""


def encode(value: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """Split ``value`` into (JSON-able skeleton, ``{key: tensor}``); see the module docstring."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            key = f"t{len(tensors)}"
            tensors[key] = v.detach().to("cpu").contiguous()  # written before it can change
            return {"__tensor__": key}
        if isinstance(v, np.ndarray):
            if v.dtype == object:
                raise TypeError("object arrays cannot be stored without pickle")
            key = f"t{len(tensors)}"
            tensors[key] = torch.from_numpy(np.ascontiguousarray(v))
            return {"__ndarray__": key}
        if isinstance(v, np.generic):
            return walk(v.item())
        if isinstance(v, float):
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, _SCALARS):
            return v
        if isinstance(v, tuple):
            return {"__tuple__": [walk(x) for x in v]}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            if all(isinstance(k, str) and k not in _MARKERS for k in v):
                return {k: walk(x) for k, x in v.items()}
            return {"__items__": [[walk(k), walk(x)] for k, x in v.items()]}
        raise TypeError(f"cannot store a {type(v).__name__} without pickle")

    return walk(value), tensors


def decode(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Rebuild what :func:`encode` split; raises :class:`StateFormatError` on a bad skeleton."""

    def tensor(key: Any) -> torch.Tensor:
        if not isinstance(key, str) or key not in tensors:
            raise StateFormatError(f"state refers to a missing tensor {key!r}")
        return tensors[key]

    def walk(v: Any) -> Any:
        if isinstance(v, list):
            return [walk(x) for x in v]
        if not isinstance(v, dict):
            if isinstance(v, (float, *_SCALARS)):
                return v
            raise StateFormatError(f"unexpected value of type {type(v).__name__}")
        if len(v) == 1:
            (marker, inner), = v.items()
            if marker == "__tensor__":
                return tensor(inner)
            if marker == "__ndarray__":
                return tensor(inner).numpy()
            if marker == "__tuple__":
                return tuple(walk(x) for x in _list(inner))
            if marker == "__items__":
                return {_hashable(walk(_pair(kv)[0])): walk(_pair(kv)[1]) for kv in _list(inner)}
            if marker == "__float__":
                if inner not in ("nan", "inf", "-inf"):
                    raise StateFormatError(f"bad float marker {inner!r}")
                return float(inner)
        return {k: walk(x) for k, x in v.items()}

    return walk(skeleton)


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise StateFormatError(f"expected a list, got {type(v).__name__}")
    return v


def _pair(v: Any) -> list[Any]:
    if not isinstance(v, list) or len(v) != 2:
        raise StateFormatError("expected a [key, value] pair")
    return v


def _hashable(k: Any) -> Any:
    if isinstance(k, (list, dict)):
        raise StateFormatError("a dict key must be a scalar or a tuple")
    return k
