"""Reference results of system ``dekag``: its
:class:`~semdistill.experiments.reference.ReferenceSpec` (the shipped folder
``results/reference/dekag/cala/``; docs/dekag-cala.md, "Claims and seeds").

A dekag run is one seed; ``semdistill reference RUN RUN RUN`` merges runs of the same config that
differ only in ``seed`` (every grid and bytes record carries its seed).
"""

from __future__ import annotations

from semdistill.experiments.dekag.claims import FILES, claims
from semdistill.experiments.dekag.config import DekagConfig
from semdistill.experiments.reference import ReferenceSpec, register_reference

#: config keys that change no seed's figures: where the run went, which reference it is placed
#: against, how many images its sample grids show, and two stages that only add their own
#: figures (``make demo`` leaves them out): the matched-channel baseline, trained after every
#: other codec (``baselines.matched``), and the digital baseline run after the grid
#: (``eval.digital``).
NOT_COMPARED = {"": ("seed", "name", "output_dir", "description", "tracker", "device"),
                "baselines": ("matched",),
                "eval": ("reference", "grid_images", "digital")}

SPEC = register_reference(ReferenceSpec(
    "dekag", DekagConfig, FILES, NOT_COMPARED, claims, lambda cfg: [cfg.seed],
    reference_key="eval.reference"))
