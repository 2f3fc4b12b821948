"""The ``semdistill`` command line.

    semdistill run configs/ltsc/shapes.yaml [--set train.steps=100] [--resume runs/<id>]
    semdistill eval runs/<id> --snr -5:20:1 --channel rayleigh
    semdistill report runs/<id>
    semdistill plot runs/<id>/results/*.json --x snr_db --y accuracy
    semdistill export runs/<id> [--out DIR] [--opset N]

Subsystems add their own commands (``channel-demo``, ``data preview``, ``pretrain-teacher``,
``pretrain-edge``, ``export``) through a ``register(app)`` function in their ``commands`` module.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from semdistill import __version__
from semdistill.config import SNR_MAX_DB, SNR_MIN_DB
from semdistill.errors import UserError
from semdistill.utils.grid import grid_option

app = typer.Typer(
    name="semdistill",
    help="Semantic communication by distilling large AI models into channel-aware links.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: modules whose ``register(app)`` adds subcommands.
COMMAND_MODULES = (
    "semdistill.channels.commands",
    "semdistill.data.commands",
    "semdistill.teachers.commands",
    "semdistill.generative.commands",
    "semdistill.experiments.export",
    "semdistill.experiments.commands",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"semdistill {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """semdistill: wireless semantic communication with distilled large models."""


SetOpt = Annotated[list[str] | None, typer.Option("--set", help="Override: key.sub=value (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, notices or "
                                        "warnings: only errors and the line naming the output.")]
DeviceOpt = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N: every model and the "
                                        "training loop (auto: each config section's own).")]
TrackerOpt = Annotated[str | None, typer.Option(help="tensorboard, wandb or none (default: the "
                                                "config's tracker; auto = TensorBoard when "
                                                "installed).")]


#: environment that silences progress bars and W&B's own terminal output under ``--quiet``
QUIET_ENV = {"TQDM_DISABLE": "1", "WANDB_SILENT": "true"}


@contextmanager
def quiet_output(quiet: bool) -> Iterator[None]:
    """With ``quiet``: no progress bars, no warnings, no log records below ERROR, nothing from
    W&B, for the duration of the command (the environment is restored afterwards)."""
    if not quiet:
        yield
        return
    before = {k: os.environ.get(k) for k in QUIET_ENV}
    os.environ.update(QUIET_ENV)
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _prepare(cfg: Any, device: str, tracker: str | None) -> str:
    """Apply ``--device`` and ``--tracker`` to ``cfg`` before any work; the tracker to use."""
    from semdistill.engine.processes import select_device
    from semdistill.engine.tracking import resolve_tracker
    from semdistill.experiments.registry import with_device

    select_device(device)
    with_device(cfg, device)
    return resolve_tracker(tracker or cfg.tracker)


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="Experiment YAML (omit with --resume).")] = None,
    overrides: SetOpt = None,
    resume: Annotated[Path | None, typer.Option(help="Continue a killed run in this run directory.")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Root folder for run directories.")] = None,
    name: Annotated[str | None, typer.Option(help="Run directory name (default: system-timestamp).")] = None,
    tracker: TrackerOpt = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Run an experiment end to end and write its run directory."""
    from semdistill.engine.processes import is_main_process, on_main_then_share
    from semdistill.experiments.registry import load_config, load_config_file
    from semdistill.experiments.rundir import RunDir

    say = (lambda _: None) if quiet or not is_main_process() else typer.echo
    if resume is not None:
        run_dir = RunDir.open(resume)
        exp, cfg = load_config(run_dir.config_data(), overrides or [], source=str(resume / "config.yaml"))
        run_dir.check_identity(cfg.system)
        kind = _prepare(cfg, device, tracker)
        say(f"resuming {run_dir.path}")
    else:
        if config is None:
            raise typer.BadParameter("give a config file, or --resume RUN_DIR")
        exp, cfg = load_config_file(config, overrides or [])
        if output_dir is not None:
            cfg.output_dir = str(output_dir)
        if name is not None:
            cfg.name = name  # the saved config.yaml names the directory it is in
        kind = _prepare(cfg, device, tracker)
        if tracker is not None:
            cfg.tracker = tracker  # the saved config.yaml says which tracker the run used
        run_dir = RunDir(on_main_then_share(
            lambda: RunDir.create(cfg.output_dir, cfg, name=name or cfg.name).path))
        say(f"run directory: {run_dir.path}")
    with quiet_output(quiet):
        summary = _run_stages(exp, cfg, run_dir, kind, created=resume is None)
    if not is_main_process():
        return
    for key, value in (summary or {}).items():
        say(f"  {key}: {value}")
    typer.echo(f"report: {run_dir.report_path}")


def _run_stages(exp: Any, cfg: Any, run_dir: Any, kind: str, created: bool) -> Any:
    """``exp.run`` under the run's lock and tracker, then its results logged as metrics rows.

    A failure before any stage wrote something removes the run directory this command
    created (``created``), and only it; a later one keeps it and names ``--resume``.
    """
    from semdistill.engine.processes import is_main_process
    from semdistill.results import load_all

    try:
        with run_dir.writing(), run_dir.tracking(kind):
            summary = exp.run(cfg, run_dir)
            for results in load_all([run_dir.results]):
                run_dir.log_results(results)
        return summary
    except BaseException as err:
        removed = created and is_main_process() and run_dir.remove_if_unstarted()
        where = (f"nothing was kept: removed {run_dir.path}" if removed else
                 f"run directory: {run_dir.path}")
        if isinstance(err, KeyboardInterrupt):
            then = "" if removed else f"; continue with: semdistill run --resume {run_dir.path}"
            raise UserError(f"interrupted; {where}{then}") from None
        if isinstance(err, UserError):
            raise UserError(f"{err} ({where}; fix, then "
                            f"{'run again' if removed else '--resume'})") from None
        raise


@app.command("eval")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
    snr: Annotated[str, typer.Option(help="SNR grid in dB: START:STOP:STEP or a,b,c.")] = "-5:20:5",
    channel: Annotated[str | None, typer.Option(help="Channel to evaluate on (default: the run's): "
                                                     "awgn, rayleigh, rayleigh_block, rician.")] = None,
    tracker: TrackerOpt = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Evaluate a trained run over an SNR grid; writes results/*.json and refreshes plots."""
    from semdistill.channels.config import ChannelConfig
    from semdistill.config import validate
    from semdistill.experiments.registry import load_config
    from semdistill.experiments.rundir import RunDir
    from semdistill.results import Results

    rd = RunDir.open(run_dir)
    exp, cfg = load_config(rd.config_data(), source=str(run_dir / "config.yaml"))
    if exp.evaluate is None:
        raise UserError(f"system {exp.name!r} has no eval command")
    if channel is not None:
        validate(ChannelConfig, {"name": channel}, source="--channel")
    snrs = grid_option(snr)
    bad = [v for v in snrs if not SNR_MIN_DB <= v <= SNR_MAX_DB]
    if bad:
        raise UserError(f"--snr: {bad[0]:g} dB is outside the supported range "
                        f"[{SNR_MIN_DB:g}, {SNR_MAX_DB:g}] dB")
    rd.check_identity(cfg.system)
    kind = _prepare(cfg, device, tracker)
    with quiet_output(quiet), rd.writing(), rd.tracking(kind):
        path = exp.evaluate(cfg, rd, snr_db=snrs, channel=channel)
        rd.log_results(Results.load(path))
    typer.echo(f"results: {path}")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """(Re)build report.md and plots/*.png of a run from its results files."""
    from semdistill.experiments.registry import load_config
    from semdistill.experiments.rundir import RunDir

    rd = RunDir.open(run_dir)
    exp, _ = load_config(rd.config_data(), source=str(run_dir / "config.yaml"))
    if exp.report is None:
        raise UserError(f"system {exp.name!r} has no report builder")
    typer.echo(f"report: {exp.report(rd)}")


@app.command()
def plot(
    files: Annotated[list[Path], typer.Argument(help="Results JSON files or folders of them.")],
    x: Annotated[str, typer.Option(help="Axis field.")] = "snr_db",
    y: Annotated[str, typer.Option(help="Metric field.")] = "accuracy",
    group_by: Annotated[str, typer.Option(help="Comma-separated grouping fields.")] = "method",
    out: Annotated[Path, typer.Option(help="Output PNG.")] = Path("plot.png"),
) -> None:
    """Plot a metric against an axis from any set of results files."""
    from semdistill.figures import plot_metric
    from semdistill.results import load_all

    results = load_all(files)
    if not results:
        raise UserError("no results files found in the given paths")
    found = sorted({k for r in results for rec in r.records for k, v in rec.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)})
    for option, field in (("--x", x), ("--y", y)):
        if field not in found:
            raise UserError(f"{option} {field!r}: no such field in the given results; valid: "
                            f"{', '.join(found)}")
    if not any(x in rec and rec[y] is not None for r in results for rec in r.records if y in rec):
        with_x = sorted({k for r in results for rec in r.records if x in rec for k in rec
                         if k in found and k != x})
        raise UserError(f"no record has both {x!r} and {y!r}; fields measured along {x!r}: "
                        f"{', '.join(with_x) or 'none'}")
    plot_metric(results, x, y, out, group_by=[g for g in group_by.split(",") if g])
    typer.echo(f"plot: {out}")


_REGISTERED: set[str] = set()


def _register_subcommands() -> None:
    """Add each command module's subcommands to ``app`` once per process (``main`` may be
    called many times, e.g. by the tests; registering again would duplicate every command)."""
    for mod in COMMAND_MODULES:
        if mod in _REGISTERED:
            continue
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name is None or not mod.startswith(err.name):
                raise
            continue
        module.register(app)
        _REGISTERED.add(mod)


def entry() -> int:
    """The console script. Off a terminal (a log file, CI) the dependencies' progress bars
    (diffusers/transformers weight loading) are off too: tqdm reads ``TQDM_DISABLE`` when it is
    first imported, so it is set here, before any import, unless the user set it."""
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
    return main()


def main(argv: list[str] | None = None) -> int:
    """Entry point; user errors become one line on stderr and exit code 2."""
    _register_subcommands()
    try:
        app(args=argv, standalone_mode=False)
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        return 2
    except (typer.Exit, SystemExit) as ex:
        return int(getattr(ex, "exit_code", getattr(ex, "code", 0)) or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as err:
        # click's usage errors (unknown option, bad value); typer >= 0.25 raises them from its
        # own vendored copy of click, so they are recognised by their interface, not their class.
        if callable(getattr(err, "show", None)) and isinstance(getattr(err, "exit_code", None), int):
            err.show()
            return err.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(entry())
