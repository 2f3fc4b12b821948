"""Experiment plumbing: typed configs per system, run directories, results, plots, reports."""

from semdistill.experiments.plots import plot_metric
from semdistill.experiments.registry import (
    ExperimentConfig,
    get_experiment,
    load_config,
    load_config_file,
    register_experiment,
)
from semdistill.experiments.report import MarkdownReport
from semdistill.experiments.results import Results, load_all
from semdistill.experiments.rundir import RunDir

__all__ = [
    "ExperimentConfig",
    "MarkdownReport",
    "Results",
    "RunDir",
    "get_experiment",
    "load_all",
    "load_config",
    "load_config_file",
    "plot_metric",
    "register_experiment",
]
