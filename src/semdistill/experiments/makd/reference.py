"""Reference results of system ``makd``: its
:class:`~semdistill.experiments.reference.ReferenceSpec` (the shipped folder
``results/reference/dekag/makd/``; docs/dekag-makd.md, "Claims and seeds").

A makd run is one seed; ``semdistill reference RUN RUN RUN`` merges runs of the same config that
differ only in ``seed`` (every record carries its seed).
"""

from __future__ import annotations

from semdistill.experiments.makd.claims import FILES, claims
from semdistill.experiments.makd.config import MAKDExperimentConfig
from semdistill.experiments.reference import ReferenceSpec, register_reference

#: config keys that change no seed's figures: where the run went, which reference it is placed
#: against, how many images its sample grids show.
NOT_COMPARED = {"": ("seed", "name", "output_dir", "description", "tracker", "device",
                     "reference", "grid_images")}

SPEC = register_reference(ReferenceSpec(
    "makd", MAKDExperimentConfig, FILES, NOT_COMPARED, claims, lambda cfg: [cfg.seed],
    reference_key="reference"))
