"""``CALAModel``: inject gated LoRA experts into a codec and drive them with a condition gate.

Every target layer (``nn.Linear`` / ``nn.Conv2d`` by default) of a deep copy of the codec is
wrapped by a :class:`~semdistill.models.cala.layer.GatedLoRALayer`; the codec's own weights are
frozen. For each batch the gate maps the per-sample condition ``(rate index, SNR dB)`` to expert
weights ``g`` ``(B, E)``, which are handed to every wrapped layer before the codec runs (the
context :meth:`CALAModel.condition`), so the codec code itself never changes. The same
machinery serves the baselines: VGSA is a one-hot gate over SNR groups
(:mod:`semdistill.models.vgsa`) and the shared LoRA is one expert with a constant gate.

Adapter files record the fingerprint of the frozen base codec they were trained on
(:meth:`CALAModel.base_identity`); loading them into a model on another base is refused before
anything changes.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from semdistill.config import stable_dump
from semdistill.errors import UserError
from semdistill.metrics.complexity import count_parameters
from semdistill.models.cala.config import CALAConfig
from semdistill.models.cala.layer import LAYER_TYPES, GatedLoRALayer
from semdistill.utils.io import SHA256_HEX, fingerprint_tensors, save_tensors

FORMAT = "semdistill.cala/1"

log = logging.getLogger(__name__)


class AdapterFileError(UserError, ValueError):
    """An adapter file does not match the model it is loaded into."""


def condition_vector(rate_index: torch.Tensor, snr_db: torch.Tensor, num_rates: int,
                     snr_scale_db: float = 20.0) -> torch.Tensor:
    """``c = (one-hot(rate), SNR_dB / snr_scale_db)``: ``(B,)``, ``(B,)`` dB → ``(B, R + 1)``."""
    onehot = F.one_hot(rate_index.long(), num_rates).to(torch.get_default_dtype())
    snr = snr_db.to(onehot.dtype).reshape(-1, 1) / snr_scale_db
    return torch.cat([onehot.to(snr.device), snr], dim=1)


class ConditionGate(nn.Module):
    """CALA's soft gate ``g(c) = softmax(MLP(c) / τ)``: ``(rate (B,), SNR dB (B,))`` → ``(B, E)``.

    The MLP has two layers (``R + 1 → hidden → E``, SiLU); rows of the output sum to 1.
    """

    def __init__(self, num_rates: int, num_experts: int, hidden: int = 64,
                 temperature: float = 1.0, snr_scale_db: float = 20.0) -> None:
        super().__init__()
        self.num_rates, self.num_experts = int(num_rates), int(num_experts)
        self.temperature, self.snr_scale_db = float(temperature), float(snr_scale_db)
        self.mlp = nn.Sequential(nn.Linear(num_rates + 1, hidden), nn.SiLU(),
                                 nn.Linear(hidden, num_experts))

    def logits(self, rate_index: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Gate logits before the temperature and softmax ``(B, E)``."""
        c = condition_vector(rate_index, snr_db, self.num_rates, self.snr_scale_db)
        return self.mlp(c.to(self.mlp[0].weight))

    def forward(self, rate_index: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(rate_index, snr_db) / self.temperature, dim=-1)


class ConstantGate(nn.Module):
    """A gate with no parameters that gives every sample the same uniform weights ``(B, E)``."""

    def __init__(self, num_experts: int = 1) -> None:
        super().__init__()
        self.num_experts = int(num_experts)

    def forward(self, rate_index: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        b = rate_index.shape[0]
        return torch.full((b, self.num_experts), 1.0 / self.num_experts,
                          device=rate_index.device)


@dataclass(frozen=True)
class ParameterCount:
    """Trainable-parameter accounting of an adapted codec.

    Attributes:
        trainable: parameters that receive gradients (experts + gate).
        base: parameters of the original codec (frozen).
        total: all parameters of the adapted model (base + adapters + gate).
    """

    trainable: int
    base: int
    total: int

    @property
    def fraction(self) -> float:
        """Trainable parameters as a fraction of the codec's own parameters."""
        return self.trainable / self.base


def inject_adapters(model: nn.Module, config: CALAConfig) -> dict[str, GatedLoRALayer]:
    """Replace every target layer of ``model`` in place by its gated LoRA wrapper.

    Returns the wrapped layers by their dotted module path. Layers are found before any are
    replaced, so wrappers are never wrapped again.
    """
    kinds = {LAYER_TYPES[t][0]: LAYER_TYPES[t][1] for t in config.target_modules}
    targets = [(name, mod) for name, mod in model.named_modules()
               if type(mod) in kinds and not isinstance(mod, GatedLoRALayer)]
    if not targets:
        raise ValueError(f"no {', '.join(config.target_modules)} layer to adapt in the model")
    wrapped: dict[str, GatedLoRALayer] = {}
    for name, mod in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = kinds[type(mod)](mod, config.num_experts, config.rank, config.alpha)
        setattr(parent, child, layer)
        wrapped[name] = layer
    return wrapped


class CALAModel(nn.Module):
    """A frozen codec with gated LoRA experts in every target layer, driven by a gate.

    ``forward(x, rate_index, snr_db, **kw)`` computes ``g = gate(rate_index, snr_db)`` ``(B, E)``,
    hands it to every adapted layer and calls ``model(x, rate_index, snr_db, **kw)``.

    Args:
        model: the codec to adapt; it is deep-copied (the original is left untouched) and its
            parameters are frozen. Its ``forward(x, rate_index, snr_db, ...)`` takes the per-sample
            condition as ``(B,)`` tensors.
        config: the :class:`CALAConfig`.
        num_rates: R, the number of rate indices of the condition.
        gate: the gate module; default the soft :class:`ConditionGate` from ``config``.
    """

    def __init__(self, model: nn.Module, config: CALAConfig, num_rates: int,
                 gate: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.num_rates = int(num_rates)
        self.model = copy.deepcopy(model)
        self.base_parameters = count_parameters(self.model)
        self.model.requires_grad_(False)
        self.adapters = inject_adapters(self.model, config)
        self.gate = gate if gate is not None else ConditionGate(
            num_rates, config.num_experts, config.gate_hidden, config.temperature,
            config.snr_scale_db)
        self._merged_condition: tuple[int, float] | None = None

    # ---- gates ---------------------------------------------------------------------------
    def gate_weights(self, rate_index: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Expert weights ``(B, E)`` for the per-sample condition."""
        return self.gate(rate_index, snr_db)

    @contextmanager
    def condition(self, rate_index: torch.Tensor, snr_db: torch.Tensor) -> Iterator[torch.Tensor]:
        """Within the block, every adapted layer uses the gate of this per-sample condition.

        Use it to run parts of the codec separately (the encoder at the edge, the decoder at the
        user). When merged, no gate is set and the merged weights are used.
        """
        g = None if self.merged else self.gate_weights(rate_index, snr_db)
        g_rank = None if g is None else g.repeat_interleave(self.config.rank, dim=1)
        for layer in self.adapters.values():
            layer.set_gate(g, g_rank if layer.rank == self.config.rank else None)
        try:
            yield g
        finally:
            for layer in self.adapters.values():
                layer.set_gate(None)

    def forward(self, x: torch.Tensor, rate_index: torch.Tensor, snr_db: torch.Tensor,
                **kwargs: Any) -> Any:
        with self.condition(rate_index, snr_db):
            return self.model(x, rate_index, snr_db, **kwargs)

    # ---- merge ---------------------------------------------------------------------------
    @property
    def merged(self) -> bool:
        """True while the experts of one fixed condition are folded into the base weights."""
        return self._merged_condition is not None

    @torch.no_grad()
    def merge(self, rate_index: int, snr_db: float) -> torch.Tensor:
        """Fold the mixture for the fixed condition into the base weights; returns ``g`` (E,).

        While merged the adapted layers cost exactly what the base layers cost, and the model
        serves only this condition (the per-sample condition passed to forward is ignored).
        """
        if self.merged:
            raise RuntimeError(f"already merged for {self._merged_condition}; unmerge() first")
        device = self.adapters_first().lora_A.device
        g = self.gate_weights(torch.tensor([rate_index], device=device),
                              torch.tensor([float(snr_db)], device=device))[0]
        for layer in self.adapters.values():
            layer.merge(g)
        self._merged_condition = (int(rate_index), float(snr_db))
        return g

    @torch.no_grad()
    def unmerge(self) -> None:
        """Restore the frozen base weights exactly."""
        if not self.merged:
            raise RuntimeError("not merged")
        for layer in self.adapters.values():
            layer.unmerge()
        self._merged_condition = None

    def adapters_first(self) -> GatedLoRALayer:
        return next(iter(self.adapters.values()))

    # ---- accounting ----------------------------------------------------------------------
    def parameter_count(self) -> ParameterCount:
        """Trainable (experts + gate), base-codec and total parameter counts."""
        return ParameterCount(trainable=count_parameters(self, trainable_only=True),
                              base=self.base_parameters, total=count_parameters(self))

    # ---- files ---------------------------------------------------------------------------
    def base_state_dict(self) -> dict[str, torch.Tensor]:
        """The frozen base codec's state dict as before the adapters were injected (a wrapped
        layer's ``<name>.base.<leaf>`` as ``<name>.<leaf>``; its ``lora_A`` / ``lora_B`` left out)."""
        out = {}
        for key, value in self.model.state_dict().items():
            head, _, leaf = key.rpartition(".")
            layer, _, child = head.rpartition(".")
            if head in self.adapters:  # <name>.lora_A / <name>.lora_B
                continue
            out[f"{layer}.{leaf}" if child == "base" and layer in self.adapters else key] = value
        return out

    def base_identity(self) -> tuple[str, str]:
        """``(fingerprint, origin)`` of the frozen base codec: the hex SHA-256
        (:func:`~semdistill.utils.io.fingerprint_tensors`) of :meth:`base_state_dict` with the
        codec's class name and config (``model.config``, a pydantic model: its stable dump), and
        a line naming it for messages (``describe()`` of the codec if it has one). Unmerged
        weights only: while merged the base weights hold an expert mixture."""
        if self.merged:
            raise RuntimeError("unmerge() before fingerprinting the base codec")
        config = getattr(self.model, "config", None)
        extra = {"class": type(self.model).__name__,
                 "config": stable_dump(config) if isinstance(config, BaseModel) else None}
        describe = getattr(self.model, "describe", None)
        name = describe() if callable(describe) else type(self.model).__name__
        return (fingerprint_tensors(self.base_state_dict(), extra),
                f"{name}, {self.base_parameters:,} parameters")

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """The trainable tensors only (``model.*.lora_A/B`` and ``gate.*``)."""
        return {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()
                if ".lora_" in k or k.startswith("gate.")}

    def save_adapters(self, path: str | Path) -> Path:
        """Write the experts and the gate to a safetensors file (config in its metadata)."""
        if self.merged:
            raise RuntimeError("unmerge() before saving adapters")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fingerprint, origin = self.base_identity()
        meta = {"format": FORMAT, "config": self.config.model_dump_json(),
                "num_rates": str(self.num_rates), "gate": type(self.gate).__name__,
                "codec_fingerprint": fingerprint, "codec": origin}
        save_tensors(self.adapter_state_dict(), str(path), metadata=meta)
        return path

    def load_adapters(self, path: str | Path) -> None:
        """Load experts and gate saved by :meth:`save_adapters` (keys and shapes must match,
        and the file's base codec must be this model's: :meth:`check_base`)."""
        if self.merged:
            raise RuntimeError("unmerge() before loading adapters")
        path = Path(path)
        if not path.is_file():
            raise AdapterFileError(f"adapter file not found: {path}")
        self.check_base(path, self.read_adapter_metadata(path))
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise AdapterFileError(f"{path}: not a readable adapter file ({err})") from None
        own = self.adapter_state_dict()
        missing, extra = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
        if missing or extra:
            raise AdapterFileError(f"{path}: adapter keys do not match this model "
                                   f"(missing {missing[:3]}, unexpected {extra[:3]})")
        bad = [k for k in own if own[k].shape != tensors[k].shape]
        if bad:
            raise AdapterFileError(f"{path}: shape mismatch for {bad[:3]}")
        self.load_state_dict(tensors, strict=False)

    def check_base(self, path: Path, meta: dict[str, Any]) -> None:
        """Refuse, in one :class:`AdapterFileError` line, an adapter file trained on another
        base codec (its ``codec_fingerprint``); a file without one (written before
        fingerprints) is loaded with a warning."""
        made_for = meta.get("codec_fingerprint")
        own, own_origin = self.base_identity()
        if not made_for:
            log.warning("%s records no codec fingerprint (written before fingerprints): loaded "
                        "onto %s unchecked", path, own_origin)
            return
        if not SHA256_HEX.fullmatch(str(made_for)):
            raise AdapterFileError(f"{path}: not a readable adapter file (codec_fingerprint "
                                   f"{str(made_for)[:20]!r} is not a SHA-256 hex digest)")
        if made_for != own:
            origin = " ".join(str(meta.get("codec", "origin not recorded")).split())
            raise AdapterFileError(
                f"{path}: adapters trained on the codec {made_for[:12]} ({origin}), not on "
                f"this model's base codec {own[:12]} ({own_origin}); load them onto the codec "
                "they were trained on")

    @staticmethod
    def read_adapter_metadata(path: str | Path) -> dict[str, Any]:
        """The metadata of an adapter file (config as a dict, num_rates, gate class name)."""
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = dict(fh.metadata() or {})
            if "config" in meta:
                meta["config"] = json.loads(meta["config"])
        except (SafetensorError, OSError, ValueError) as err:
            raise AdapterFileError(f"{path}: not a readable adapter file ({err})") from None
        return meta


def build_cala(model: nn.Module, config: CALAConfig, num_rates: int) -> CALAModel:
    """CALA: E soft-gated experts per layer, ``g(c) = softmax(MLP(c)/τ)``."""
    return CALAModel(model, config, num_rates)


def build_shared_lora(model: nn.Module, rank: int, alpha: float, num_rates: int,
                      target_modules: tuple[str, ...] = ("Linear", "Conv2d")) -> CALAModel:
    """The shared-LoRA baseline: one LoRA of ``rank`` used for every condition (constant gate)."""
    cfg = CALAConfig(num_experts=1, rank=rank, alpha=alpha, target_modules=target_modules)
    return CALAModel(model, cfg, num_rates, gate=ConstantGate(1))
