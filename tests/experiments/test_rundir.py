"""Run directories: evaluation refuses a run whose stages never finished."""

from __future__ import annotations

import pytest

from semdistill.errors import UserError
from semdistill.experiments.rundir import MissingCheckpoints, RunDir


def test_require_finished_names_every_missing_stage_and_the_resume_command(tmp_path):
    rd = RunDir(tmp_path / "run")
    (rd.checkpoints / "base" / "final").mkdir(parents=True)
    (rd.checkpoints / "cala" / "step-00000100").mkdir(parents=True)  # killed before the end
    rd.require_finished(["base"])
    with pytest.raises(MissingCheckpoints) as err:
        rd.require_finished(["base", "cala", "vgsa"])
    msg = str(err.value)
    assert isinstance(err.value, UserError) and "\n" not in msg
    assert "cala, vgsa" in msg and "base" not in msg.split("for")[1]
    assert f"semdistill run --resume {rd.path}" in msg
