"""Deployment stage of system ``dekag``: the trained codecs' encoders and decoders.

``semdistill export RUN`` writes, per exported method (default: ``base``, the latent JSCC
codec, and ``cala`` when the run trained it), ``<method>-encoder.onnx`` (edge latents and
rate index → constellation symbols) and ``<method>-decoder.onnx`` (equalized symbols and rate
index → latents); the CALA-type methods (CALA, VGSA, shared LoRA) also take the SNR their gate
reads. The edge diffusion model and the fading channel are not part of the graphs
(docs/export.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from semdistill.deploy import Part
from semdistill.deploy.parts import codec_parts
from semdistill.errors import UserError
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.experiments.dekag.data import require_datasets
from semdistill.experiments.dekag.train import load_trained_all, stage_tags
from semdistill.experiments.rundir import RunDir

#: the methods exported when none is named (those the run has).
DEFAULT_METHODS = ("base", "cala")


def deploy_parts(cfg: DekagConfig, rd: RunDir, names: Sequence[str] = ()) -> list[Part]:
    """The parts of the methods ``names`` (default :data:`DEFAULT_METHODS`), loaded from the
    run's finished checkpoints; an unknown method or an unfinished run is refused in one line."""
    tags = stage_tags(cfg)
    names = list(names) or [m for m in DEFAULT_METHODS if m in tags]
    unknown = [n for n in names if n not in tags]
    if unknown:
        raise UserError(f"--method: {unknown[0]!r} is not a codec of this run; "
                        f"choose from {', '.join(tags)}")
    rd.require_finished(tags)
    models, _, _ = load_trained_all(cfg, rd, require_datasets(rd))
    return [p for name in names for p in codec_parts(models[name], name)]
