"""The ``makd`` system's config (docs/dekag-makd.md, "Running")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from semdistill.experiments.registry import ExperimentConfig
from semdistill.generative.edge import EdgeSpec
from semdistill.generative.generators import GeneratorConfig
from semdistill.generative.makd import MAKDConfig
from semdistill.generative.pretrain_edge import DEFAULT_HELD_OUT
from semdistill.metrics.consistency import MetricSpec


class MAKDExperimentConfig(ExperimentConfig):
    """The ``makd`` system's config."""

    system: Literal["makd"] = "makd"
    edge: EdgeSpec = Field(default_factory=EdgeSpec)
    cloud: GeneratorConfig = Field(default_factory=lambda: GeneratorConfig(kind="shapes",
                                                                           style="textured"))
    subjects: list[dict[str, str]] = Field(
        default_factory=lambda: [dict(s) for s in DEFAULT_HELD_OUT])
    world_seed: int = Field(0, ge=0)
    teacher_images: int = Field(32, ge=1, description="cloud images per subject")
    eval_prompts: int = Field(16, ge=1, description="evaluation prompts per subject")
    methods: list[str] = Field(default_factory=lambda: ["none", "metaword", "lora", "makd"])
    budgets: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [50, 100, 200, 400], min_length=1,
        description="distillation step budgets (equal for all methods)")
    makd: MAKDConfig = Field(default_factory=MAKDConfig)
    metrics: MetricSpec = Field(default_factory=MetricSpec)
    grid_images: int = Field(8, ge=1)
    min_gain: float = Field(0.44, description="required relative consistency gain (report)")
    min_headroom: float = Field(
        0.60, description="required relative gain of the cloud's images through the edge VAE "
                          "over the unaligned edge: the scenario's room for alignment (report)")
    claim_budget: int | None = Field(
        None, ge=1, description="the step budget the claims compare methods at (None: the "
                                "largest of budgets)")
    reference: str = Field(
        "", description="a reference folder (results/reference/dekag/makd) whose intervals a "
                        "single seed's checks are placed against; empty: none")
    max_deliverable_fraction: float = Field(
        0.01, gt=0, le=1,
        description="the MAKD deliverable must hold fewer parameters than this fraction of the "
                    "edge UNet's (report)")

    @model_validator(mode="after")
    def _budget_is_run(self) -> MAKDExperimentConfig:
        if self.claim_budget is not None and self.claim_budget not in self.budgets:
            raise ValueError(f"claim_budget {self.claim_budget} is not one of budgets "
                             f"{self.budgets}")
        return self

    @field_validator("metrics")
    @classmethod
    def _has_embedder(cls, metrics: MetricSpec) -> MetricSpec:
        if not metrics.embedders:
            raise ValueError("metrics.embedders is empty; the makd system scores consistency "
                             "with at least one embedder (e.g. [world-encoder])")
        return metrics
