"""``semdistill reference RUN --out DIR``: a finished run's results as a reference folder
(docs/ltsc.md, "Claims and seeds"). Only system ``ltsc`` has reference results today."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semdistill.errors import UserError


def register(app: typer.Typer) -> None:
    """Add ``reference`` to the CLI."""

    @app.command("reference")
    def reference(
        run_dir: Annotated[Path, typer.Argument(help="A finished ltsc run directory.")],
        out: Annotated[Path, typer.Option(help="The reference folder to write.")]
        = Path("results/reference/ltsc"),
        command: Annotated[str | None, typer.Option(help="The command that made the run "
                                                          "(recorded in reference.json).")] = None,
        machine: Annotated[str | None, typer.Option(help="The machine it ran on (default: "
                                                          "this host).")] = None,
    ) -> None:
        """Copy a finished run's results and a checksummed reference.json into OUT, then print
        the claims table rebuilt from OUT alone."""
        from semdistill.experiments.registry import load_config
        from semdistill.experiments.rundir import RunDir

        rd = RunDir.open(run_dir)
        exp, _ = load_config(rd.config_data(), source=str(run_dir / "config.yaml"))
        if exp.name != "ltsc":
            raise UserError(f"{run_dir}: reference results exist for system 'ltsc' only, not "
                            f"{exp.name!r}")
        rd.check_identity(exp.name)
        from semdistill.experiments.ltsc.reference import make_reference, reference_checks

        folder = make_reference(rd, out, command, machine)
        for check in reference_checks(folder):
            typer.echo(f"  {check.verdict} {check.name}")
        typer.echo(f"reference: {folder}")
