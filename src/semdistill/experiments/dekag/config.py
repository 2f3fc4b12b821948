"""The ``dekag`` system's typed config (docs/dekag-cala.md, "The experiment").

Sections: ``edge`` (the edge LDM), ``cloud`` (the generator that plays the cloud), ``alignment``
(G-KA: MAKD of the edge to the subject), ``data`` (the latent datasets), ``codec`` (the latent
JSCC codec), ``adapters`` (:class:`~semdistill.models.adapters.AdapterSpec`), ``base_train`` /
``adapt_train`` (training budgets), ``baselines`` (what the no-alignment codecs were trained
on), ``eval`` (the condition grid, references and the thresholds
of the report's checks) and ``metrics`` (the consistency embedders).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRdB, SNRRange, StrictModel, TrainConfig
from semdistill.digital.config import DigitalConfig
from semdistill.experiments.registry import ExperimentConfig
from semdistill.figures import display_name
from semdistill.generative.edge import EdgeSpec
from semdistill.generative.generators import GeneratorConfig
from semdistill.generative.makd import MAKDConfig
from semdistill.metrics.consistency import MetricSpec
from semdistill.models.adapters import AdapterSpec
from semdistill.models.latent_jscc import LatentJSCCConfig

#: the methods of the system and their display names (semdistill.figures.METHOD_STYLES).
METHOD_LABELS = {m: display_name(m) for m in ("base", "base_matched", "shared_lora", "vgsa", "cala", "full_ft")}


class AlignmentSpec(StrictModel):
    """How the edge is aligned to the subject (G-KA) before the codec is adapted.

    ``deliverable``: a MAKD deliverable file (or a ``makd`` run dir holding ``*.safetensors``
    deliverables); empty runs MAKD here with ``steps`` on ``teacher_images`` cloud images.
    """

    deliverable: str = ""
    method: str = "makd"
    steps: int = Field(100, ge=1)
    teacher_images: int = Field(32, ge=1)
    makd: MAKDConfig = Field(default_factory=MAKDConfig)


class DataSpec(StrictModel):
    """Prompts and sizes of the latent datasets."""

    subject: dict[str, str] = Field(default_factory=lambda: {"shape": "triangle", "color": "red"})
    world_seed: int = Field(0, ge=0)
    base_prompts: int = Field(512, ge=1, description="general prompts, unaligned edge (base)")
    train_prompts: int = Field(512, ge=1, description="subject prompts, aligned edge (adapters)")
    test_prompts: int = Field(128, ge=1, description="held-out subject prompts (evaluation)")
    gen_steps: int | None = Field(None, ge=1, description="sampler steps for the datasets")


class EvalSpec(StrictModel):
    """The condition grid, the references and the thresholds of the report's checks."""

    ADDED_LATER: ClassVar[dict[str, Any]] = {"reference": ""}

    snr_db: list[SNRdB] = Field(default_factory=lambda: [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0])
    nominal_snr_db: SNRdB = 10.0
    low_snr_db: SNRdB = Field(0.0, description="'low SNR' = conditions at or below this")
    batch_size: int = Field(256, ge=1)
    grid_images: int = Field(8, ge=1)
    jpeg_qualities: list[Annotated[int, Field(ge=1, le=95)]] = Field(
        default_factory=lambda: [5, 10, 20, 30, 50, 75, 90],
        description="JPEG qualities of the edge image's rate-consistency curve (q75 always)")
    min_gain_db: float = 6.5
    max_fraction: float = 0.05
    reference: str = Field("", description="reference results folder the single-seed claims "
                           "are placed against (empty: none)")
    digital: DigitalConfig = Field(default_factory=DigitalConfig,
                                   description="the digital baseline (docs/digital.md)")


class BaselineSpec(StrictModel):
    """What a no-alignment codec was trained on (docs/dekag-cala.md, "The no-alignment
    baseline").

    ``channel``: a channel config (as ``codec.channel``) or ``"actual"`` (= ``codec.channel``);
    ``rates``: the K_r values [symbols] it trained at, each one of ``codec.rates``, drawn
    uniformly per sample (None: the highest rate); ``snr_db``: one SNR [dB] (fixed), a
    ``{low, high}`` range drawn uniformly per sample, or None (``eval.nominal_snr_db``);
    ``latents``: the unaligned edge's latents (``data.base_prompts``) or the aligned edge's
    (``data.train_prompts``, the adapters' training set).
    """

    channel: Literal["actual"] | ChannelConfig = "actual"
    rates: list[Annotated[int, Field(ge=1)]] | None = Field(None, min_length=1)
    snr_db: SNRdB | SNRRange | None = None
    latents: Literal["unaligned", "aligned"] = "unaligned"


def _nominal_link() -> BaselineSpec:
    return BaselineSpec(channel=ChannelConfig(name="awgn"), snr_db=10.0)


class BaselinesSpec(StrictModel):
    """The two no-alignment codecs. ``base``: the deployed codec every adapter method starts
    from (default: trained for a nominal link, AWGN at the highest rate and 10 dB);
    ``matched``: a second one evaluated next to it, reported as ``base_matched`` (default: the
    actual channel at the highest rate and ``eval.nominal_snr_db``; None: not trained)."""

    base: BaselineSpec = Field(default_factory=_nominal_link)
    matched: BaselineSpec | None = Field(default_factory=BaselineSpec)


class DekagConfig(ExperimentConfig):
    """The ``dekag`` system's config."""

    system: Literal["dekag"] = "dekag"
    edge: EdgeSpec = Field(default_factory=EdgeSpec)
    cloud: GeneratorConfig = Field(default_factory=lambda: GeneratorConfig(kind="shapes",
                                                                           style="textured"))
    alignment: AlignmentSpec = Field(default_factory=AlignmentSpec)
    data: DataSpec = Field(default_factory=DataSpec)
    codec: LatentJSCCConfig = Field(default_factory=LatentJSCCConfig)
    adapters: AdapterSpec = Field(default_factory=AdapterSpec)
    base_train: TrainConfig = Field(default_factory=lambda: TrainConfig(
        steps=600, batch_size=64, lr=2e-3, log_every=50, checkpoint_every=300))
    adapt_train: TrainConfig = Field(default_factory=lambda: TrainConfig(
        steps=600, batch_size=64, lr=3e-3, log_every=50, checkpoint_every=300))
    baselines: BaselinesSpec = Field(default_factory=BaselinesSpec)
    eval: EvalSpec = Field(default_factory=EvalSpec)
    metrics: MetricSpec = Field(default_factory=MetricSpec)

    @model_validator(mode="after")
    def _baseline_rates(self) -> DekagConfig:
        for name in ("base", "matched"):
            spec = getattr(self.baselines, name)
            bad = [k for k in (spec.rates or []) if k not in self.codec.rates] if spec else []
            if bad:
                raise ValueError(f"baselines.{name}.rates: {bad[0]} symbols is not one of "
                                 f"codec.rates {self.codec.rates}")
        return self
