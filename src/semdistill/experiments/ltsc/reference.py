"""Reference results of system ``ltsc``: its
:class:`~semdistill.experiments.reference.ReferenceSpec` (the shipped folders
``results/reference/ltsc/`` and ``results/reference/ltsc-flat/``; docs/ltsc.md, "Claims and
seeds"). Folders, manifests, checksums and config comparison are generic
(:mod:`semdistill.experiments.reference`).

An ltsc run trains ``runs.seeds`` seeds itself (:func:`~.config.seeds_of`) and its records carry
them, so one finished multi-seed run makes a reference; runs of other seeds merge into it.
"""

from __future__ import annotations

from semdistill.experiments.ltsc.claims import claims
from semdistill.experiments.ltsc.config import SYSTEM, LTSCConfig, seeds_of
from semdistill.experiments.reference import ReferenceSpec, register_reference

#: the results files a reference keeps: everything the claims are computed from.
FILES = ("accuracy-vs-snr.json", "accuracy-vs-fraction.json", "distill-time.json",
         "complexity.json")
#: config keys that do not change any one student's figures (where the run went, how many
#: seeds, which students it trains, which reference it is compared with; every student is
#: seeded, trained and evaluated on its own): a reference of N seeds serves the 1-seed config,
#: and the demo's run without the fraction students.
NOT_COMPARED = {"": ("seed", "name", "output_dir", "description", "tracker", "device"),
                "runs": ("seeds", "extra_seeds", "online", "scratch", "non_adaptive", "fractions",
                         "fraction_methods"),
                "eval": ("reference",)}

SPEC = register_reference(ReferenceSpec(
    SYSTEM, LTSCConfig, FILES, NOT_COMPARED, claims, seeds_of, reference_key="eval.reference"))
