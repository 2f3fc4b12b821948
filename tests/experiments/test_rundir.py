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


# ---- identity, atomic creation, one writer at a time -----------------------------------------
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from pydantic import BaseModel  # noqa: E402

from semdistill.config import ConfigError  # noqa: E402
from semdistill.utils.lock import LockHeld  # noqa: E402


class _Cfg(BaseModel):
    system: str = "ltsc"
    seed: int = 0


def test_runs_started_together_with_one_name_get_distinct_directories(tmp_path):
    made: list = []
    barrier = threading.Barrier(8)

    def create():
        barrier.wait()
        made.append(RunDir.create(tmp_path, _Cfg(), name="same").path)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 8
    assert sorted(p.name for p in made)[:2] == ["same", "same-2"]


def test_resume_with_a_config_of_another_system_is_refused_before_any_work(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    rd.check_identity("ltsc")
    (rd.path / "config.yaml").write_text("system: dekag\nseed: 0\n")
    with pytest.raises(ConfigError, match="is a 'ltsc' run, but its config.yaml is of system"):
        rd.check_identity("dekag")
    (rd.path / "config.yaml").write_text("system: ltsc\nseed: 1\n")
    with pytest.raises(ConfigError, match="was changed after the run started"):
        rd.check_identity("ltsc")


def test_a_run_directory_made_before_run_json_is_trusted_and_recorded(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="old")
    (rd.path / "run.json").unlink()
    rd.check_identity("ltsc")
    assert json.loads((rd.path / "run.json").read_text())["system"] == "ltsc"
    (rd.path / "run.json").write_text("[1]")
    with pytest.raises(ConfigError, match="not a semdistill run record"):
        rd.check_identity("ltsc")


@pytest.mark.parametrize("text", ["{a: [", "- 1\n- 2\n", "!!python/object/apply:os.system ['x']"])
def test_a_garbage_or_malicious_config_yaml_is_one_line_and_runs_nothing(tmp_path, text):
    rd = RunDir.create(tmp_path, _Cfg(), name="g")
    (rd.path / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        rd.config_data()
    assert "\n" not in str(err.value)


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="busy")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom semdistill.experiments.rundir import "
         "RunDir\nwith RunDir(sys.argv[1]).writing():\n    print('held', flush=True)\n"
         "    time.sleep(30)\n", str(rd.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=f"in use by process {holder.pid}"), rd.writing():
            pass
    finally:
        holder.kill()
        holder.wait()
    with rd.writing():  # the kernel released the killed holder's lock
        pass


@pytest.mark.parametrize("make", ["file", "unwritable"])
def test_an_unusable_output_folder_is_one_line(tmp_path, make):
    if make == "file":
        target = tmp_path / "not-a-folder"
        target.write_text("x")
    else:  # no folder can be made under /proc, not even by root (CI runs as root)
        target = Path("/proc/semdistill-no-such-dir/runs")
    with pytest.raises(UserError, match="cannot create a run directory under") as err:
        RunDir.create(target, _Cfg(), name="x")
    assert "\n" not in str(err.value)


def test_a_resumed_stage_does_not_repeat_its_metrics_rows(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="m")
    rd.log_metrics(25, "makd/lora", loss=0.5)
    rd.log_metrics(25, "makd/lora", loss=0.4)  # same tag and step, another subject: kept
    again = RunDir(rd.path)  # a resumed process recomputes step 25 bit for bit
    again.log_metrics(25, "makd/lora", loss=0.5)
    again.log_metrics(50, "makd/lora", loss=0.3)
    with open(rd.path / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 75, "tag"')  # the torn last line of a killed process
    rows = RunDir(rd.path).read_metrics("makd/lora")
    assert [(r["step"], r["loss"]) for r in rows] == [(25, 0.5), (25, 0.4), (50, 0.3)]
