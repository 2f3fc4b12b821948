"""Experiments: a ``system`` name → (typed config, run function, optional eval, report and
deployable parts).

Systems live in their own modules and register themselves on import with
:func:`register_experiment`. :data:`SYSTEM_MODULES` says which module defines which system, so
that the CLI imports only what a config asks for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from semdistill.config import (
    ConfigError,
    StrictModel,
    apply_overrides,
    read_yaml,
    refuse_superseded,
    validate,
)
from semdistill.experiments.rundir import RunDir
from semdistill.registry import Registry

#: system name → module that registers it (imported on demand).
SYSTEM_MODULES: dict[str, str] = {
    "ltsc": "semdistill.experiments.ltsc",
    "makd": "semdistill.experiments.makd",
    "dekag": "semdistill.experiments.dekag",
}


class ExperimentConfig(StrictModel):
    """Fields every experiment config has; systems subclass it and add their sections."""

    system: str
    seed: int = Field(0, ge=0)
    output_dir: str = "runs"
    name: str | None = None
    description: str = ""
    tracker: Literal["auto", "tensorboard", "wandb", "none"] = Field(
        "auto", description="experiment tracker of the metrics rows (docs/tracking.md); "
                            "auto = TensorBoard when installed")


RunFn = Callable[[Any, RunDir], dict[str, Any]]


@dataclass(frozen=True)
class Experiment:
    name: str
    config: type[ExperimentConfig]
    run: RunFn
    evaluate: Callable[..., Any] | None = None
    report: Callable[[RunDir], Path] | None = None
    #: ``parts(cfg, run_dir, names) -> list[Part]``: the run's transmitters and receivers.
    parts: Callable[..., list[Any]] | None = None


EXPERIMENTS: Registry[Experiment] = Registry("system")


def register_experiment(
    name: str,
    config: type[ExperimentConfig],
    *,
    evaluate: Callable[..., Any] | None = None,
    report: Callable[[RunDir], Path] | None = None,
    parts: Callable[..., list[Any]] | None = None,
) -> Callable[[RunFn], RunFn]:
    """Decorator: register ``run(cfg, run_dir) -> summary`` as system ``name``."""

    def deco(fn: RunFn) -> RunFn:
        EXPERIMENTS.register(name, Experiment(name, config, fn, evaluate, report, parts))
        return fn

    return deco


def get_experiment(system: str) -> Experiment:
    if system not in EXPERIMENTS and system in SYSTEM_MODULES:
        importlib.import_module(SYSTEM_MODULES[system])
    if system not in EXPERIMENTS:
        valid = ", ".join(sorted(set(SYSTEM_MODULES) | set(EXPERIMENTS.names())))
        raise ConfigError(f"config: system: unknown system {system!r}; valid: {valid}")
    return EXPERIMENTS.get(system)


def with_device(cfg: StrictModel, device: str) -> StrictModel:
    """Set every ``device`` field of ``cfg`` (any section) to ``device``, in place; returns it.

    ``device`` is what ``--device`` gave (``cpu``, ``cuda``, ``cuda:1``); ``auto`` changes
    nothing, so each section keeps its own setting.
    """
    if device == "auto":
        return cfg
    for key, field in type(cfg).model_fields.items():
        value = getattr(cfg, key)
        if isinstance(value, StrictModel):
            with_device(value, device)
        elif key == "device" and field.annotation is str:
            setattr(cfg, key, device)
    return cfg


def load_config(data: dict[str, Any], overrides: Sequence[str] = (), source: str = "config"):
    """Validate a raw config mapping (after overrides) against its system's model."""
    data = apply_overrides(data, overrides)
    system = data.get("system")
    if not isinstance(system, str):
        raise ConfigError(f"{source}: missing required key 'system' (one of {sorted(SYSTEM_MODULES)})")
    exp = get_experiment(system)
    refuse_superseded(exp.config, overrides)
    return exp, validate(exp.config, data, source)


def load_config_file(path: str | Path, overrides: Sequence[str] = ()):
    """Read, override and validate a YAML config file; returns (experiment, config)."""
    return load_config(read_yaml(path), overrides, source=str(path))
