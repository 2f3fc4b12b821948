"""Deployable parts: transmitters and receivers with real inputs and outputs only.

A complex channel symbol ``z`` travels as the real pair ``(Re z, Im z)`` in a trailing
dimension of size 2 (``torch.view_as_real``): ONNX has no complex tensors, and the exported
graphs are meant for any runtime. Inside a graph the models keep their complex arithmetic (the
dynamo exporter lowers it to real pairs); only the boundaries are real.

| part | inputs | outputs |
|---|---|---|
| :class:`TaskTransmitter` | images ``(B, 3, H, W)`` [0, 1], snr_db ``(B,)`` dB | symbols ``(B, k, 2)``, weights ``(B, C)`` |
| :class:`TaskReceiver` | symbols ``(B, k, 2)`` (equalized), snr_db ``(B,)`` dB | logits ``(B, classes)`` |
| :class:`CodecEncoder` | latents ``(B, C, h, w)``, rate_index ``(B,)`` | symbols ``(B, K_max, 2)`` |
| :class:`CodecDecoder` | symbols ``(B, K_max, 2)`` (equalized), rate_index ``(B,)`` | latents ``(B, C, h, w)`` |

The CALA-type codecs (CALA, VGSA, shared LoRA) add ``snr_db`` ``(B,)`` dB to the codec's
inputs: their gate mixes the experts per sample from (rate, SNR) (:class:`Gated`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from semdistill.models.cala import CALAModel
from semdistill.models.latent_jscc import LatentJSCC, rate_mask
from semdistill.models.student import TaskStudent

#: the name of the dynamic batch axis in shapes and manifests.
BATCH = "batch"
#: the SNR range random verification inputs are drawn from, dB (the training range's default).
SNR_RANGE_DB = (-5.0, 20.0)


@dataclass(frozen=True)
class Tensor:
    """One named input or output of a part.

    Attributes:
        name: the graph's input/output name.
        shape: sizes, :data:`BATCH` for the dynamic batch axis.
        dtype: ``"float32"`` or ``"int64"``.
        units: what the values mean, with their unit.
        low, high: the range random verification inputs are drawn from (integers: inclusive;
            None: standard normal values).
        discrete: the values are constellation points (a tie at a decision boundary may pick
            the neighbouring point in another runtime; compared by the fraction that differs).
    """

    name: str
    shape: tuple[int | str, ...]
    dtype: str
    units: str
    low: float | None = None
    high: float | None = None
    discrete: bool = False

    def draw(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """A random value of this input for ``batch`` samples."""
        shape = tuple(batch if s == BATCH else int(s) for s in self.shape)
        if self.dtype == "int64":
            return torch.randint(int(self.low or 0), int(self.high or 0) + 1, shape,
                                 generator=generator)
        if self.low is None or self.high is None:
            return torch.randn(shape, generator=generator)
        return torch.rand(shape, generator=generator) * (self.high - self.low) + self.low

    def describe(self) -> dict[str, object]:
        """The manifest's entry: name, shape, dtype, units."""
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "units": self.units}


@dataclass
class Part:
    """A transmitter or receiver ready for export: ``module(*inputs) -> outputs``.

    Attributes:
        name: the file stem (``<name>.onnx``).
        module: the part, in eval mode.
        inputs, outputs: the graph's tensors, in call / return order.
        description: one line for the manifest.
        meta: more facts the manifest carries (the codec's rates, constellation, quantizer).
    """

    name: str
    module: nn.Module
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    description: str
    meta: dict[str, object] = field(default_factory=dict)

    def example(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Seeded random inputs for ``batch`` samples, in call order."""
        g = torch.Generator().manual_seed(seed)
        return tuple(t.draw(batch, g) for t in self.inputs)


def _snr() -> Tensor:
    return Tensor("snr_db", (BATCH,), "float32", "SNR Es/N0 per complex symbol, dB",
                  *SNR_RANGE_DB)


# ---- the task-oriented student (LTSC) -------------------------------------------------------
class TaskTransmitter(nn.Module):
    """:meth:`TaskStudent.transmit` with the symbols as real pairs ``(B, k, 2)``."""

    def __init__(self, student: TaskStudent) -> None:
        super().__init__()
        self.student = student

    def forward(self, images: torch.Tensor, snr_db: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        z, w = self.student.transmit(images, snr_db)
        return torch.view_as_real(z), w


class TaskReceiver(nn.Module):
    """:meth:`TaskStudent.receive` of equalized symbols given as real pairs ``(B, k, 2)``."""

    def __init__(self, student: TaskStudent) -> None:
        super().__init__()
        self.student = student

    def forward(self, symbols: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        return self.student.receive(torch.view_as_complex(symbols.contiguous()), snr_db)


def task_parts(student: TaskStudent, image_size: int, num_classes: int,
               variant: str = "student") -> list[Part]:
    """The student's ``<variant>-transmitter`` and ``<variant>-receiver`` (the channel-adaptive
    module reads the SNR at the transmitter)."""
    student = student.eval()
    k, c = student.num_symbols, student.channels
    symbols = Tensor("symbols", (BATCH, k, 2), "float32",
                     "complex channel symbols as (re, im), Es <= 1 per symbol")
    images = Tensor("images", (BATCH, 3, image_size, image_size), "float32",
                    "RGB in [0, 1]", 0.0, 1.0)
    weights = Tensor("weights", (BATCH, c), "float32",
                     "channel-adaptive weight of each feature channel, (0, 1)")
    logits = Tensor("logits", (BATCH, num_classes), "float32", "class logits (softmax: probs)")
    return [
        Part(f"{variant}-transmitter", TaskTransmitter(student).eval(), (images, _snr()), (symbols, weights),
             f"LTSC {variant} transmitter: encoder, channel-adaptive module, power constraint"),
        Part(f"{variant}-receiver", TaskReceiver(student).eval(), (symbols, _snr()), (logits,),
             f"LTSC {variant} receiver: equalized symbols to class logits"),
    ]


# ---- the latent JSCC codec and its CALA-type adaptations (DeKA-g) ----------------------------
def sent_symbols(codec: LatentJSCC, s: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:meth:`LatentJSCC.quantize` of ``s`` ``(B, K)`` complex as real pairs ``(B, K, 2)``.

    The hard quantizer picks the points from their real pairs: indexing a complex tensor has no
    ONNX lowering.
    """
    if codec.config.quantize != "hard":
        return torch.view_as_real(codec.quantize(s, mask))
    points = torch.view_as_real(codec.constellation.points.to(s.device))
    return points[codec.constellation.nearest_index(s)] * mask[..., None]


class CodecEncoder(nn.Module):
    """Latents ``(B, C, h, w)`` + rate index ``(B,)`` → the sent constellation points as real
    pairs ``(B, K_max, 2)`` (power-normalized over the first ``K_r``, zero after)."""

    def __init__(self, codec: LatentJSCC) -> None:
        super().__init__()
        self.codec = codec

    def forward(self, latents: torch.Tensor, rate_index: torch.Tensor) -> torch.Tensor:
        s, mask = self.codec.encode(latents, rate_index)
        return sent_symbols(self.codec, s, mask)


class CodecDecoder(nn.Module):
    """Equalized symbols as real pairs ``(B, K_max, 2)`` + rate index ``(B,)`` → latents
    ``(B, C, h, w)``; symbols ``K_r …`` are zeroed first (they were not sent)."""

    def __init__(self, codec: LatentJSCC) -> None:
        super().__init__()
        self.codec = codec

    def forward(self, symbols: torch.Tensor, rate_index: torch.Tensor) -> torch.Tensor:
        mask = rate_mask(rate_index, self.codec.rates_t, self.codec.k_max)
        s_hat = torch.view_as_complex(symbols.contiguous()) * mask
        return self.codec.decode(s_hat, rate_index)


class Gated(nn.Module):
    """A codec part of a CALA-type codec: ``forward(x, rate_index, snr_db (B,) dB)`` runs
    ``part(x, rate_index)`` with the experts mixed per sample from (rate index, SNR)."""

    def __init__(self, part: CodecEncoder | CodecDecoder, model: CALAModel) -> None:
        super().__init__()
        self.part, self.adapted = part, model

    def forward(self, x: torch.Tensor, rate_index: torch.Tensor, snr_db: torch.Tensor
                ) -> torch.Tensor:
        with self.adapted.condition(rate_index, snr_db):
            return self.part(x, rate_index)


def codec_parts(model: nn.Module, method: str) -> list[Part]:
    """The encoder and decoder of a trained codec: a :class:`LatentJSCC` (base, full
    fine-tuning) or a :class:`CALAModel` (CALA, VGSA, shared LoRA: with ``snr_db``)."""
    gated = isinstance(model, CALAModel)
    codec: LatentJSCC = model.model if gated else model
    model.eval()
    c, h, w = codec.latent_shape
    latents = Tensor("latents", (BATCH, c, h, w), "float32", "edge diffusion latents")
    rate = Tensor("rate_index", (BATCH,), "int64",
                  f"index into rates {codec.rates} (K_r symbols sent)", 0, codec.num_rates - 1)
    kind = f"{codec.config.constellation} points" if codec.config.quantize == "hard" else "symbols"
    symbols = Tensor("symbols", (BATCH, codec.k_max, 2), "float32",
                     f"complex {kind} as (re, im), Es = 1 over the first K_r, zero after",
                     discrete=codec.config.quantize == "hard")
    cond = (rate, _snr()) if gated else (rate,)
    enc, dec = CodecEncoder(codec), CodecDecoder(codec)
    if gated:
        enc, dec = Gated(enc, model), Gated(dec, model)
    what = f"{method} latent JSCC" + (" (experts gated by rate and SNR)" if gated else "")
    rx_symbols = Tensor("symbols", symbols.shape, "float32",
                        "equalized complex symbols as (re, im); those after K_r are ignored")
    meta = {"rates": codec.rates, "constellation": codec.config.constellation,
            "quantize": codec.config.quantize}
    return [Part(f"{method}-encoder", enc.eval(), (latents, *cond), (symbols,),
                 f"{what} encoder", meta),
            Part(f"{method}-decoder", dec.eval(), (rx_symbols, *cond), (latents,),
                 f"{what} decoder", meta)]

