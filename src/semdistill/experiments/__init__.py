"""Experiment plumbing shared by every system: the system registry, run directories, checks, reports.

Results files and figures live on the ground floor (:mod:`semdistill.results`,
:mod:`semdistill.figures`) so that channels, data and metrics can use them too.
"""

from semdistill.experiments.registry import (
    ExperimentConfig,
    get_experiment,
    load_config,
    load_config_file,
    register_experiment,
)
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.rundir import RunDir

__all__ = [
    "ExperimentConfig",
    "MarkdownReport",
    "RunDir",
    "get_experiment",
    "load_config",
    "load_config_file",
    "register_experiment",
]
