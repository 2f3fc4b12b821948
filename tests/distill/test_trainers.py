"""Trainers: identical data order/views/SNRs, prestored never loads a teacher, all methods run."""

from __future__ import annotations

import pytest
import torch

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRRange, TrainConfig
from semdistill.data import SeededAugment
from semdistill.distill import DistillJob, LossConfig, batch_views, distill, training_snr
from semdistill.distill import trainers as tr
from semdistill.models.student import StudentConfig, TaskStudent
from semdistill.teachers import KnowledgeStore


def _student():
    torch.manual_seed(0)
    return TaskStudent(StudentConfig(widths=[8, 8], bandwidth_ratio=1 / 12), 4, image_size=16)


def _job(toy, tmp_path, name, steps=3):
    return DistillJob(
        student=_student(), link=Link.from_config(ChannelConfig(), normalize=False), dataset=toy,
        train=TrainConfig(steps=steps, batch_size=8, checkpoint_every=100, log_every=1),
        loss=LossConfig(), snr=SNRRange(low=-5, high=20), checkpoint_dir=tmp_path / name,
        augment=SeededAugment(), aug_seed=5, views=2, seed=0, tag=name)


@pytest.fixture
def store(tiny_teacher, toy, tmp_path):
    return KnowledgeStore.build(tiny_teacher, toy, tmp_path / "store", dataset_id={"name": "toy"},
                                views=2, k=2, seed=5, chunk_size=16, batch_size=8)


def test_prestored_and_online_batches_are_the_same_images(store, toy, tmp_path):
    job = _job(toy, tmp_path, "x")
    for step in (0, 4, 9):  # 9·8 > 40: second epoch → view 1
        ids = tr.batch_indices(step, len(toy), 8, 0)
        views = batch_views(step, len(toy), 8, 2)
        a = store.read(toy, ids, views)
        b = tr._render(job, ids, views)
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["label"], b["label"])
    assert batch_views(9, 40, 8, 2).tolist() == [1] * 8
    assert torch.equal(training_snr(3, 8, SNRRange(), 0), training_snr(3, 8, SNRRange(), 0))
    snr = training_snr(3, 1000, SNRRange(low=-5, high=20), 0)
    assert snr.min() >= -5 and snr.max() <= 20 and snr.std() > 5
    # under N processes the ranks split one global draw, as they split the batch indices
    ranks = [training_snr(3, 1000, SNRRange(low=-5, high=20), 0, r, 2) for r in (0, 1)]
    assert torch.equal(torch.stack(ranks, 1).reshape(-1), snr)


def test_prestored_never_loads_the_teacher(store, toy, tmp_path, monkeypatch):
    import semdistill.teachers as teachers
    import semdistill.teachers.pretrain as pretrain
    import semdistill.teachers.sources as sources

    def boom(*a, **k):
        raise AssertionError("the prestored trainer loaded a teacher")

    for mod in (teachers, sources, pretrain):
        monkeypatch.setattr(mod, "load_teacher", boom, raising=False)
        monkeypatch.setattr(mod, "resolve_teacher", boom, raising=False)
    summary = distill("prestored", _job(toy, tmp_path, "p"), store)
    assert summary.steps == 3 and torch.isfinite(torch.tensor(summary.last["loss"]))
    with pytest.raises(TypeError, match="KnowledgeStore"):
        distill("prestored", _job(toy, tmp_path, "q"), None)


def test_all_methods_start_from_the_same_student_and_train(store, tiny_teacher, toy, tmp_path):
    init = _student().state_dict()
    results = {}
    for method, knowledge in (("prestored", store), ("online", tiny_teacher), ("scratch", None)):
        job = _job(toy, tmp_path, method)
        assert all(torch.equal(v, job.student.state_dict()[k]) for k, v in init.items())
        s = distill(method, job, knowledge)
        results[method] = s.last
        changed = any(not torch.equal(v, job.student.state_dict()[k]) for k, v in init.items())
        assert changed and s.steps == 3
    assert results["scratch"]["kd"] == 0.0 and results["online"]["kd"] > 0
    # top-K (K=2 of 4) fp16 soft labels vs the full online softmax: close, not identical
    assert results["prestored"]["kd"] == pytest.approx(results["online"]["kd"], rel=0.3)


def test_loading_a_finished_student_checks_that_this_config_made_it(toy, tmp_path):
    from dataclasses import replace

    from semdistill.distill import load_distilled
    from semdistill.engine import CheckpointError

    job = _job(toy, tmp_path, "s")
    distill("scratch", job)
    trained = [p.detach().clone() for p in job.student.parameters()]
    again = replace(job, student=_student())
    load_distilled("scratch", again)  # what `semdistill eval` does: no training
    assert all(torch.equal(a, b) for a, b in zip(trained, again.student.parameters(), strict=True))
    for other in (replace(job, student=_student(), fingerprint="another config"),
                  replace(job, student=_student(), train=job.train.model_copy(update={"lr": 0.1}))):
        with pytest.raises(CheckpointError, match="made by a different config"):
            load_distilled("scratch", other)
    with pytest.raises(CheckpointError, match="made by a different config"):
        load_distilled("prestored", replace(job, student=_student()))
