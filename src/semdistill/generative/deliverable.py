"""The MAKD deliverable: what the cloud ships to the edge (LoRA weights + one metaword).

One safetensors file (``lora.<peft key>`` tensors, ``metaword`` (D,), string metadata with the
format tag ``semdistill.makd/1`` and the fingerprint and origin of the base edge it was made
for, ``edge_fingerprint`` / ``edge_origin``); :meth:`MAKDDeliverable.export_diffusers` also
writes the two files that diffusers' ``load_lora_weights`` and ``load_textual_inversion`` read. The LoRA config
of the distillation and of every load is :func:`lora_config`, so both build the same adapter.

Applying it to an edge whose :meth:`~semdistill.generative.edge.EdgeLDM.fingerprint` differs is
refused before anything changes; a file from before fingerprints is applied with a warning.

The edge is duck-typed (``tokenizer``, ``text_encoder``, ``unet``, ``metaword``,
``fingerprint()``, ``origin``): this module
does not import :mod:`semdistill.generative.edge`, which imports it to load alignments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig
from peft.utils import set_peft_model_state_dict
from safetensors import SafetensorError, safe_open

from semdistill.generative.errors import AlignmentError
from semdistill.generative.metaword import add_metaword
from semdistill.metrics.complexity import count_parameters
from semdistill.utils.io import SHA256_HEX, save_tensors

ADAPTER = "makd"
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
FORMAT = "semdistill.makd/1"

log = logging.getLogger(__name__)


def lora_config(rank: int, alpha: float, targets: Sequence[str]) -> LoraConfig:
    """The peft LoRA config of MAKD's UNet adapter (Gaussian init: B = 0, so no change yet)."""
    return LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(targets),
                      init_lora_weights="gaussian")


@dataclass
class MAKDDeliverable:
    """What the cloud ships to the edge: LoRA weights and/or one metaword embedding.

    ``lora`` maps peft state-dict keys (adapter name stripped) to tensors; ``embedding`` is (D,).
    ``edge_fingerprint`` / ``edge_origin``: the base edge it was made for (its
    ``fingerprint()`` and ``origin``; None / "" for files from before fingerprints); ``file``:
    where it was loaded from (for messages).
    """

    token: str | None = None
    class_word: str | None = None
    placement: str = "end"
    embedding: torch.Tensor | None = None
    lora: dict[str, torch.Tensor] = field(default_factory=dict)
    rank: int = 0
    alpha: float = 0.0
    targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    edge_fingerprint: str | None = None
    edge_origin: str = ""
    file: Path | None = None

    @property
    def num_params(self) -> int:
        n = sum(v.numel() for v in self.lora.values())
        return n + (self.embedding.numel() if self.embedding is not None else 0)

    @property
    def num_bytes(self) -> int:
        """Payload bytes: every tensor's elements × element size (what is sent, fp32)."""
        ts = list(self.lora.values()) + ([self.embedding] if self.embedding is not None else [])
        return sum(t.numel() * t.element_size() for t in ts)

    def _meta(self) -> dict[str, str]:
        return {"format": FORMAT, "token": self.token or "", "class_word": self.class_word or "",
                "placement": self.placement,
                "rank": str(self.rank), "alpha": str(self.alpha),
                "targets": json.dumps(self.targets),
                "edge_fingerprint": self.edge_fingerprint or "", "edge_origin": self.edge_origin}

    def save(self, path: str | Path) -> Path:
        """One safetensors file: ``lora.<key>`` tensors, ``metaword`` (D,), metadata."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {f"lora.{k}": v.detach().cpu().contiguous() for k, v in self.lora.items()}
        if self.embedding is not None:
            tensors["metaword"] = self.embedding.detach().cpu().contiguous()
        save_tensors(tensors, str(path), metadata=self._meta())
        return path

    @classmethod
    def load(cls, path: str | Path) -> MAKDDeliverable:
        path = Path(path)
        if not path.is_file():
            raise AlignmentError(f"no MAKD deliverable at {path}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("format") != FORMAT:
                    raise AlignmentError(f"{path} is not a MAKD deliverable "
                                         f"({meta.get('format')!r})")
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
            fp = meta.get("edge_fingerprint") or None
            if fp is not None and not SHA256_HEX.fullmatch(fp):
                raise ValueError(f"edge_fingerprint {fp[:20]!r} is not a SHA-256 hex digest")
            return cls(token=meta["token"] or None, class_word=meta["class_word"] or None,
                       # files written before placements existed used "before_class"
                       placement=meta.get("placement", "before_class"),
                       embedding=tensors.get("metaword"),
                       lora={k[5:]: v for k, v in tensors.items() if k.startswith("lora.")},
                       rank=int(meta["rank"]), alpha=float(meta["alpha"]),
                       targets=list(json.loads(meta["targets"])),
                       edge_fingerprint=fp, file=path,
                       edge_origin=" ".join(meta.get("edge_origin", "").split()))  # one line
        except (SafetensorError, OSError, KeyError, ValueError, TypeError) as err:
            if isinstance(err, AlignmentError):
                raise
            raise AlignmentError(f"{path}: damaged MAKD deliverable ({type(err).__name__}: "
                                 f"{err})") from None

    def export_diffusers(self, folder: str | Path) -> dict[str, Path]:
        """Files for diffusers loaders: ``pytorch_lora_weights.safetensors`` (keys
        ``unet.<peft key>``, for ``pipe.load_lora_weights``) and ``learned_embeds.safetensors``
        (``{token: (D,)}``, for ``pipe.load_textual_inversion``)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        if self.lora:
            out["lora"] = folder / "pytorch_lora_weights.safetensors"
            save_tensors({f"unet.{k}": v.contiguous() for k, v in self.lora.items()},
                         str(out["lora"]))
        if self.embedding is not None and self.token:
            out["metaword"] = folder / "learned_embeds.safetensors"
            save_tensors({self.token: self.embedding.contiguous()}, str(out["metaword"]))
        return out

    def lora_config(self) -> LoraConfig:
        return lora_config(self.rank, self.alpha, self.targets)

    def check_edge(self, edge: Any) -> None:
        """Refuse, in one :class:`AlignmentError` line, an ``edge`` other than the base this
        deliverable was made for; without a recorded fingerprint (an older file) log a warning."""
        name = self.file or "MAKD deliverable"
        if self.edge_fingerprint is None:
            log.warning("%s records no edge fingerprint (written before fingerprints): applied "
                        "to the edge at %s unchecked", name, edge.origin)
            return
        own = edge.fingerprint()
        if own != self.edge_fingerprint:
            raise AlignmentError(
                f"{name}: made for the edge {self.edge_fingerprint[:12]} "
                f"({self.edge_origin or 'origin not recorded'}), not for this edge {own[:12]} "
                f"({edge.origin}); apply it to the edge it was made for, or align this edge")

    def apply_to(self, edge: Any) -> None:
        """Add the metaword and LoRA adapter to ``edge`` (in place), after :meth:`check_edge`."""
        self.check_edge(edge)
        if self.embedding is not None and self.token:
            dim = edge.text_encoder.get_input_embeddings().weight.shape[1]
            if self.embedding.numel() != dim:
                raise AlignmentError(f"metaword has {self.embedding.numel()} dims, the edge text "
                                     f"encoder {dim}: deliverable made for another edge model")
            add_metaword(edge.tokenizer, edge.text_encoder, self.token, self.embedding)
            edge.metaword = self.token
        if self.lora:
            if ADAPTER not in getattr(edge.unet, "peft_config", {}):
                edge.unet.add_adapter(self.lora_config(), adapter_name=ADAPTER)
            res = set_peft_model_state_dict(edge.unet, self.lora, adapter_name=ADAPTER)
            bad = [k for k in getattr(res, "unexpected_keys", []) if "lora" in k]
            if bad:
                raise AlignmentError(f"LoRA keys do not fit this edge UNet (e.g. {bad[0]})")
            edge.unet.eval()


def lora_param_fraction(deliverable: MAKDDeliverable, edge: Any) -> float:
    """Deliverable parameters / base edge-UNet parameters (LoRA layers excluded)."""
    return deliverable.num_params / count_parameters(edge.unet, exclude="lora_")


def deliverable_summary(d: MAKDDeliverable, edge: Any) -> dict[str, Any]:
    return {"bytes": d.num_bytes, "params": d.num_params,
            "fraction_of_unet": lora_param_fraction(d, edge), "rank": d.rank,
            "token": d.token}
