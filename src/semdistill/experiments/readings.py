"""The details the two papers leave open, the reading the library takes, and the config option
that changes it (docs/paper-readings.md, one section per :class:`Reading` ``id``).

Every report lists the readings of its system with the values its run used
(:func:`reading_lines`), so a figure is never separated from the assumptions behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

#: where docs/paper-readings.md lives, relative to a run's report (named, not linked: a run
#: directory is not inside the repository).
DOC = "docs/paper-readings.md"


@dataclass(frozen=True)
class Reading:
    """One open detail: ``id`` (the docs section), ``topic``, the ``reading`` the library takes,
    and per system the config options (dotted paths) that change it (empty: fixed in code)."""

    id: str
    topic: str
    reading: str
    options: Mapping[str, tuple[str, ...]]


READINGS: tuple[Reading, ...] = (
    # ---- LTSC, arXiv 2506.13243 --------------------------------------------------------------
    Reading("ltsc-store", "what the pre-stored knowledge is",
            "the teacher's top-K probabilities per (training image, augmented view), fp16, with "
            "the view's augmentation regenerated from its seed (TinyViT-style)",
            {"ltsc": ("store.k", "store.views")}),
    Reading("ltsc-ib-loss", "the information-bottleneck loss",
            "τ²·soft cross-entropy to the teacher + λ·cross-entropy to the label + β·(1/k)·KL "
            "rate term (a variational bound on I(image; received symbols), closed form)",
            {"ltsc": ("loss.temperature", "loss.ce_weight", "loss.beta")}),
    Reading("ltsc-adaptive-module", "the channel-adaptive module",
            "SNR-conditioned channel attention on the encoder features (ADJSCC-style); its "
            "weights rescale the feature channels (optionally at unit RMS) and drop a channel "
            "only below a threshold",
            {"ltsc": ("student.adaptive_hidden", "student.drop_threshold",
                      "student.adaptive_rescale")}),
    Reading("ltsc-decoder-snr", "whether the receiver sees the SNR",
            "the decoder is not SNR-aware; only the transmitter's module is",
            {"ltsc": ("student.snr_aware_decoder",)}),
    Reading("ltsc-power", "power normalization",
            "an average-power constraint Es ≤ 1 per symbol (max), so the encoder can trade energy "
            "for rate; or Es = 1 exactly (equal)",
            {"ltsc": ("student.power",)}),
    Reading("ltsc-channel", "fading, CSI and equalization",
            "trained on AWGN, evaluated on AWGN and Rayleigh fading with perfect receiver CSI "
            "and an MMSE equalizer",
            {"ltsc": ("channel.name", "channel.equalizer", "eval.channels")}),
    Reading("ltsc-snr-range", "training SNR",
            "drawn uniformly per sample in [low, high] dB and fed to the module and the channel",
            {"ltsc": ("snr.low", "snr.high")}),
    Reading("ltsc-bandwidth", "channel uses per image",
            "complex symbols k = bandwidth ratio × 3·H·W",
            {"ltsc": ("student.bandwidth_ratio",)}),
    # ---- DeKA-g, arXiv 2506.19893 ------------------------------------------------------------
    Reading("dekag-block-correlation", "correlation between fading blocks",
            "a valid Hermitian covariance in place of the printed formula (whose diagonal "
            "exceeds the gain power)", {"dekag": ("codec.channel.correlation",
                                                  "codec.channel.omega", "codec.channel.rho",
                                                  "codec.channel.num_blocks")}),
    Reading("dekag-equalizer", "the equalizer", "MMSE with perfect CSI",
            {"dekag": ("codec.channel.equalizer",)}),
    Reading("dekag-quantizer", "quantization and the commitment loss",
            "nearest constellation point with a straight-through gradient, commitment weight β",
            {"dekag": ("codec.constellation", "codec.quantize", "codec.beta")}),
    Reading("dekag-distortion", "the codec's distortion",
            "the batch latent MSE (or its logarithm, which weighs conditions alike)",
            {"dekag": ("codec.distortion",)}),
    Reading("dekag-rates", "variable rate", "the first K_r of K_max symbols are sent",
            {"dekag": ("codec.k_max", "codec.rates")}),
    Reading("dekag-cala-gate", "CALA's soft gate",
            "a softmax mixture of E LoRA experts per layer, gated by an MLP of (rate, SNR)",
            {"dekag": ("adapters.cala.num_experts", "adapters.cala.rank",
                       "adapters.cala.temperature", "adapters.cala.snr_scale_db")}),
    Reading("dekag-cala-layers", "which codec layers CALA adapts",
            "every linear and convolution layer of the encoder and decoder",
            {"dekag": ("adapters.cala.target_modules",)}),
    Reading("dekag-vgsa-groups", "VGSA's SNR groups",
            "a hard partition of the training SNR range, one LoRA per group",
            {"dekag": ("adapters.vgsa_groups",)}),
    Reading("dekag-psnr", "where PSNR is measured",
            "on decoded images in [0, 1] against the aligned edge's own image (latent PSNR is "
            "reported too)", {"dekag": ()}),
    Reading("dekag-no-alignment-baseline", "the no-alignment baseline",
            "the base codec deployed as trained for a nominal link (AWGN, the highest rate, "
            "10 dB) on the unaligned edge's latents, evaluated like every method on the aligned "
            "latents over the actual channel; every adapter starts from it. A second one, "
            "trained over the actual channel (base_matched), is reported next to it",
            {"dekag": ("baselines.base", "baselines.matched")}),
    Reading("makd-metaword", "what the metaword is",
            "a continuous learnable token embedding (textual-inversion style), trained on the "
            "first part of the budget, then the LoRA on the rest", {"makd": ("makd.metaword_placement",
                                                     "makd.metaword_fraction"),
                                            "dekag": ("alignment.makd.metaword_placement",
                                                      "alignment.makd.metaword_fraction")}),
    Reading("makd-lora-targets", "where MAKD's LoRA goes", "the edge UNet's attention projections",
            {"makd": ("makd.targets", "makd.rank"),
             "dekag": ("alignment.makd.targets", "alignment.makd.rank")}),
    Reading("makd-consistency", "how consistency is measured",
            "DreamBooth protocol: mean pairwise cosine of image embeddings between the edge's "
            "and the cloud's images of a subject; the gain is relative to no alignment",
            {"makd": ("metrics.embedders", "min_gain"), "dekag": ("metrics.embedders",)}),
)


def option_value(cfg: BaseModel, path: str) -> Any:
    """The value of the dotted config ``path`` (``"codec.channel.equalizer"``) in ``cfg``."""
    value: Any = cfg
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _fmt(value: Any) -> str:
    """A config value as report text: a section with a ``describe()`` (a channel) as its
    description, any other section as ``{field: value, ...}``."""
    if isinstance(value, BaseModel):
        if callable(getattr(value, "describe", None)):
            return str(value.describe())
        return "{" + ", ".join(f"{k}: {_fmt(getattr(value, k))}"
                               for k in type(value).model_fields) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return format(value, "g") if isinstance(value, float) else str(value)


def reading_lines(cfg: BaseModel, system: str) -> list[str]:
    """Report bullets: each reading of ``system`` with the option values of ``cfg``."""
    out = []
    for r in READINGS:
        if system not in r.options:
            continue
        opts = ", ".join(f"`{p}` = {_fmt(option_value(cfg, p))}" for p in r.options[system])
        out.append(f"**{r.topic}** ({r.id}): library default: {r.reading}. This run: "
                   + (opts or "fixed in the code"))
    return out


def readings_section(report: Any, cfg: BaseModel, system: str) -> None:
    """Append the "Readings this run used" section to a :class:`MarkdownReport`."""
    report.section("Readings this run used")
    report.text(f"Details the paper leaves open, the reading taken and the value this run "
                f"used (each is explained, with its alternatives, in {DOC} of the repository).")
    report.bullets(reading_lines(cfg, system))
