"""Typed, validated configuration: YAML files plus ``--set key.sub=value`` overrides.

Every experiment is a YAML file whose ``system`` key names a registered experiment; the
experiment's pydantic model validates the rest. Unknown keys, wrong types and out-of-range values
raise :class:`ConfigError` with one line that names the offending key.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_serializer,
    model_validator,
)

from semdistill.errors import UserError

M = TypeVar("M", bound=BaseModel)
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


class ConfigError(UserError, ValueError):
    """A configuration problem, phrased as one line that names the key."""


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, assignments are validated.

    ``ADDED_LATER`` names options that joined a section after runs existed, each with the value
    that reproduces the earlier behaviour; :meth:`fingerprint_dump` leaves them out at that
    value, so checkpoints made before the option still match their fingerprint and resume.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, strict=True,
                              allow_inf_nan=False)
    ADDED_LATER: ClassVar[dict[str, Any]] = {}

    def fingerprint_dump(self) -> dict[str, Any]:
        """``model_dump(mode="json")`` without the ``ADDED_LATER`` options at their old value,
        in this section and every section nested in it (:func:`stable_dump`)."""
        return stable_dump(self)

    def _without_added_later(self, dump: dict[str, Any]) -> dict[str, Any]:
        """``dump`` (this section's, top level) minus the ``ADDED_LATER`` keys at their old value."""
        return {k: v for k, v in dump.items()
                if k not in self.ADDED_LATER or v != self.ADDED_LATER[k]}


class TrainConfig(StrictModel):
    """Optimisation settings shared by every trainer in the library.

    ``optimizer``: ``adamw`` (decoupled weight decay) or ``sgd`` (SGD with Nesterov momentum
    ``momentum`` and L2 weight decay). Both joined as ``ADDED_LATER`` keys, and every dump of a
    ``TrainConfig`` leaves them out at their old value, so the fingerprints of shipped assets and
    earlier checkpoints, which hash dumps of nested sections, do not move.
    """

    ADDED_LATER: ClassVar[dict[str, Any]] = {"optimizer": "adamw", "momentum": 0.9}

    steps: int = Field(200, ge=1, description="optimizer steps")
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    grad_clip: float | None = Field(1.0, gt=0)
    warmup_steps: int = Field(0, ge=0)
    schedule: Literal["constant", "cosine"] = "cosine"
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    gradient_accumulation_steps: int = Field(1, ge=1)
    log_every: int = Field(20, ge=1)
    checkpoint_every: int = Field(100, ge=1)
    num_workers: int = Field(0, ge=0)
    cpu: bool = Field(False, description="force CPU even when an accelerator is present")
    optimizer: Literal["adamw", "sgd"] = "adamw"
    momentum: float = Field(0.9, ge=0, lt=1, description="Nesterov momentum of optimizer: sgd")

    @model_serializer(mode="wrap")
    def _omit_added_later(self, handler: Any) -> dict[str, Any]:
        return self._without_added_later(handler(self))


SNR_MIN_DB, SNR_MAX_DB = -50.0, 60.0
SNRdB = Annotated[float, Field(ge=SNR_MIN_DB, le=SNR_MAX_DB)]
"""An SNR in dB within what the simulation supports (float32 noise stays meaningful)."""


class SNRRange(StrictModel):
    """A closed SNR interval in dB, drawn uniformly per sample during training."""

    low: SNRdB = -5.0
    high: SNRdB = 20.0

    @model_validator(mode="after")
    def _ordered(self) -> SNRRange:
        if self.low > self.high:
            raise ValueError(f"SNR range reversed: low={self.low} dB > high={self.high} dB")
        return self


def parse_override(item: str) -> tuple[list[str], Any]:
    """Parse ``"a.b.c=value"`` into (["a","b","c"], value); value is read as YAML."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key.sub=value")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError(f"override {key}: value {raw!r} is not valid YAML ({err})") from None
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value)  # YAML 1.1 reads "3e-4" as a string; users mean a number
    return parts, value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``key.sub=value`` override applied."""
    out = copy.deepcopy(data)
    for item in overrides:
        parts, value = parse_override(item)
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ConfigError(f"override {'.'.join(parts)}: {where} is not a section")
            node = child
        node[parts[-1]] = value
    return out


def refuse_superseded(model: type[BaseModel], overrides: Sequence[str]) -> None:
    """Refuse an override of a key that a section lists in its ``SUPERSEDED`` class variable.

    Such keys are still read (and ignored) in a saved ``config.yaml`` so that older run
    directories load; set from the command line they would silently do nothing.
    """
    for item in overrides:
        parts, _ = parse_override(item)
        node: Any = model
        for part in parts[:-1]:
            field = node.model_fields.get(part) if isinstance(node, type) and issubclass(
                node, BaseModel) else None
            node = field.annotation if field is not None else None
        if parts[-1] in getattr(node, "SUPERSEDED", ()):
            raise ConfigError(f"override {'.'.join(parts)}: this option no longer exists (still "
                              "read, and ignored, in older run directories' config.yaml); see "
                              "docs/configs.md")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with one-line errors for missing files and bad syntax."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return dict(data)


def format_validation_error(err: ValidationError, source: str = "config") -> str:
    """Turn pydantic's multi-line error into one line per problem (the first is the message)."""
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(root)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{key}'")
        elif e["type"] == "missing":
            lines.append(f"{source}: missing required key '{key}'")
        else:
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {key}: {msg}{shown}")
    return "; ".join(lines)


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``top``, section by section (``top`` wins on leaves)."""
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(
            out.get(k), Mapping) else v
    return out


def fill_section_defaults(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """Complete each partial nested section from *that field's* default, not the section class's.

    A section such as ``train`` may default to ``TrainConfig(steps=3000, lr=2e-3)``; a file or
    ``--set train.steps=10`` that names only ``steps`` keeps ``lr=2e-3`` instead of silently
    falling back to ``TrainConfig``'s own ``lr``.
    """
    out = dict(data)
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None or not isinstance(value, Mapping):
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            out[key] = fill_section_defaults(type(default),
                                             _deep_merge(default.model_dump(), value))
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            out[key] = fill_section_defaults(field.annotation, value)
    return out


def validate(model: type[M], data: Mapping[str, Any], source: str = "config") -> M:
    """Validate ``data`` against ``model``, raising :class:`ConfigError` on any problem.

    Partial sections are completed from the field's default (:func:`fill_section_defaults`).
    """
    try:
        return model.model_validate(fill_section_defaults(model, data))
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def stable_dump(model: BaseModel) -> dict[str, Any]:
    """``model_dump(mode="json")`` with the ``ADDED_LATER`` options of ``model`` and of every
    section nested in it left out at their old value: what fingerprints hash, and what a
    comparison of two configs goes through, so neither sees an option that joined after a run
    or a reference was made (``StrictModel.fingerprint_dump``)."""
    dump = model.model_dump(mode="json")
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel) and isinstance(dump.get(name), dict):
            dump[name] = stable_dump(value)
    return model._without_added_later(dump) if isinstance(model, StrictModel) else dump


def to_yaml(model: BaseModel) -> str:
    """Serialize a config model to YAML (the resolved config saved in every run directory)."""
    return yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False)
