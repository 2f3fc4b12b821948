"""Run directories: metrics rows mirrored into a tracker, evaluation results as rows, and the
removal of a run directory whose first stage never wrote anything."""

from __future__ import annotations

from pydantic import BaseModel

from semdistill.experiments.rundir import RunDir
from semdistill.results import Results


class _Cfg(BaseModel):
    system: str = "ltsc"
    seed: int = 0


def _scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def test_rows_logged_while_tracking_are_the_tensorboard_scalars(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    rd.log_metrics(1, "before", loss=9.0)  # no tracker yet: metrics.jsonl only
    with rd.tracking("tensorboard"):
        rd.log_metrics(2, "stage", loss=0.5, lr=0.25)
        rd.log_metrics(4, "stage", loss=0.25, lr=0.125)
    rd.log_metrics(6, "stage", loss=0.0)
    got = _scalars(rd.path / "tensorboard")
    assert got == {"stage/loss": [(2, 0.5), (4, 0.25)], "stage/lr": [(2, 0.25), (4, 0.125)]}
    assert [r["step"] for r in rd.read_metrics("stage")] == [2, 4, 6]


def test_no_tracker_writes_no_tracker_folder(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    with rd.tracking("none"):
        rd.log_metrics(1, "stage", loss=1.0)
    assert not (rd.path / "tensorboard").exists() and rd.read_metrics()


def test_a_resume_does_not_repeat_a_row_whose_only_change_is_its_throughput(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    rd.log_metrics(5, "s", loss=0.5, samples_per_s=100.0)
    RunDir(rd.path).log_metrics(5, "s", loss=0.5, samples_per_s=140.0)  # recomputed, faster
    RunDir(rd.path).log_metrics(5, "s", loss=0.4, samples_per_s=140.0)  # another value: kept
    assert [(r["loss"], r["samples_per_s"]) for r in rd.read_metrics("s")] == [(0.5, 100.0),
                                                                                (0.4, 140.0)]


def test_results_are_logged_one_tag_per_group_with_their_numeric_fields(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    res = Results("ltsc", "accuracy-vs-snr")
    for snr in (0.0, 10.0):
        res.add(method="prestored", channel="awgn", snr_db=snr, accuracy=0.5 + snr / 100,
                adaptive=True)
    res.add(method="scratch", channel="awgn", snr_db=0.0, accuracy=0.25, adaptive=False)
    res.add(method="teacher", part="local:/some/path", step=40, time=1.5, note=None)
    rd.log_results(res)
    rows = {(r["tag"], r["step"]): {k: v for k, v in r.items() if k not in ("tag", "step",
                                                                             "time")}
            for r in rd.read_metrics()}
    assert rows == {
        ("eval/accuracy-vs-snr/prestored/awgn", 0): {"snr_db": 0.0, "accuracy": 0.5,
                                                     "adaptive": 1.0},
        ("eval/accuracy-vs-snr/prestored/awgn", 1): {"snr_db": 10.0, "accuracy": 0.6,
                                                     "adaptive": 1.0},
        ("eval/accuracy-vs-snr/scratch/awgn", 0): {"snr_db": 0.0, "accuracy": 0.25,
                                                   "adaptive": 0.0},
        # a path becomes one tag level; fields named like row keys keep their value
        ("eval/accuracy-vs-snr/teacher/local__some_path", 0): {"record_step": 40.0,
                                                               "record_time": 1.5},
    }


def test_an_unstarted_run_directory_is_removed_and_nothing_else(tmp_path):
    other = RunDir.create(tmp_path, _Cfg(), name="other")
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    with rd.writing(), rd.tracking("tensorboard"):
        rd.log_metrics(1, "stage", loss=1.0)  # a first stage that logged, then failed
    assert rd.remove_if_unstarted()
    assert not rd.path.exists() and other.path.is_dir() and tmp_path.is_dir()


def test_a_run_directory_with_anything_a_stage_wrote_is_kept(tmp_path):
    for n, made in enumerate(["checkpoints/train/step-00000010/weights.safetensors",
                              "store/chunk-00000.safetensors", "results/x.json", "report.md"]):
        rd = RunDir.create(tmp_path, _Cfg(), name=f"r{n}")
        (rd.path / made).parent.mkdir(parents=True, exist_ok=True)
        (rd.path / made).write_bytes(b"x")
        assert not rd.remove_if_unstarted(), made
        assert (rd.path / made).is_file()


def test_a_second_evaluation_continues_each_tags_steps(tmp_path):
    rd = RunDir.create(tmp_path, _Cfg(), name="r")
    res = Results("ltsc", "acc")
    res.add(method="m", snr_db=0.0, accuracy=0.5)
    rd.log_results(res)
    RunDir(rd.path).log_results(res)  # the same table again, from a later `eval`
    assert [r["step"] for r in rd.read_metrics("eval/acc/m")] == [0, 1]
