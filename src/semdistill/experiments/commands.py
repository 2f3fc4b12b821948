"""``semdistill reference RUN [RUN ...] --out DIR``: finished runs' results as a reference folder
(docs/architecture.md, "Reference results"; docs/ltsc.md, "Claims and seeds")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add ``reference`` to the CLI."""

    @app.command("reference")
    def reference(
        run_dirs: Annotated[list[Path], typer.Argument(
            help="Finished run directories of one system and config, differing only in seed.")],
        out: Annotated[Path | None, typer.Option(
            help="The reference folder to write (default: results/reference/<system>).")] = None,
        command: Annotated[str | None, typer.Option(help="The command that made the runs "
                                                          "(recorded in reference.json).")] = None,
        machine: Annotated[str | None, typer.Option(help="The machine they ran on (default: "
                                                          "this host).")] = None,
    ) -> None:
        """Merge finished runs' results and a checksummed reference.json into OUT, then print
        the claims table rebuilt from OUT alone."""
        from semdistill.experiments.reference import (
            load_reference,
            make_reference,
            reference_checks,
        )
        from semdistill.experiments.rundir import RunDir

        runs = [RunDir.open(p) for p in run_dirs]
        system = runs[0].config_data().get("system")
        folder = make_reference(runs, out or Path("results/reference") / str(system), command,
                                machine)
        for check in reference_checks(folder):
            typer.echo(f"  {check.verdict} {check.name}")
        man = load_reference(folder)
        if man["wall_seconds"] is None:
            typer.echo("  (no wall time: a run has no results/run-info.json "
                       "wall_seconds_before_report)")
        typer.echo(f"reference: {folder} ({len(man['runs'])} runs, seeds "
                   f"{', '.join(map(str, man['seeds']))})")
