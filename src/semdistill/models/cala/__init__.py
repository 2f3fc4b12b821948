"""CALA: condition-aware low-rank adaptation (peft's config / layer / model split).

- :mod:`.config`: :class:`CALAConfig`.
- :mod:`.layer`: :class:`GatedLoRALinear`, :class:`GatedLoRAConv2d` (batched experts, merge).
- :mod:`.model`: :class:`CALAModel` (injection, condition gate, merge, accounting, files).
"""

from semdistill.models.cala.config import CALAConfig
from semdistill.models.cala.layer import GatedLoRAConv2d, GatedLoRALayer, GatedLoRALinear
from semdistill.models.cala.model import (
    AdapterFileError,
    CALAModel,
    ConditionGate,
    ConstantGate,
    ParameterCount,
    build_cala,
    build_shared_lora,
    condition_vector,
    inject_adapters,
)

__all__ = [
    "AdapterFileError",
    "CALAConfig",
    "CALAModel",
    "ConditionGate",
    "ConstantGate",
    "GatedLoRAConv2d",
    "GatedLoRALayer",
    "GatedLoRALinear",
    "ParameterCount",
    "build_cala",
    "build_shared_lora",
    "condition_vector",
    "inject_adapters",
]
