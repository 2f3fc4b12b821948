"""The ``dekag`` system's typed config (docs/dekag-cala.md, "The experiment").

Sections: ``edge`` (the edge LDM), ``cloud`` (the generator that plays the cloud), ``alignment``
(G-KA: MAKD of the edge to the subject), ``data`` (the latent datasets), ``codec`` (the latent
JSCC codec), ``adapters`` (:class:`~semdistill.models.adapters.AdapterSpec`), ``base_train`` /
``adapt_train`` (training budgets), ``eval`` (the condition grid, references and the thresholds
of the report's checks) and ``metrics`` (the consistency embedders).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from semdistill.config import SNRdB, StrictModel, TrainConfig
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
METHOD_LABELS = {m: display_name(m) for m in ("base", "shared_lora", "vgsa", "cala", "full_ft")}


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
    digital: DigitalConfig = Field(default_factory=DigitalConfig,
                                   description="the digital baseline (docs/digital.md)")


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
    eval: EvalSpec = Field(default_factory=EvalSpec)
    metrics: MetricSpec = Field(default_factory=MetricSpec)
