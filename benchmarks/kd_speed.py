"""Knowledge-distillation epoch time: prestored vs online KD vs the student-only floor.

    python benchmarks/kd_speed.py                     # CPU: shapes world, the shapes teacher
    python benchmarks/kd_speed.py --device cuda       # GPU: ViT-B/16 and ViT-L/14 teachers,
                                                      # random weights, 224 px, batch 256, bf16

One process, one student architecture, one data pipeline (render → seeded augmentation). Per
epoch of ``--batches`` batches it times three loops, each a full student training step
(forward through the channel, IB loss, backward, AdamW):

- ``student-only`` (floor): labels only, no teacher knowledge at all;
- ``prestored``: soft labels read from a :class:`KnowledgeStore` built beforehand (its one-off
  build time is reported separately);
- ``online``: the teacher's forward pass on every batch (no grad; bf16 autocast on GPU).

Prints a Markdown table with ms/batch, epoch seconds and the ratios online/prestored and
prestored/floor. Numbers go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRRange
from semdistill.data import SeededAugment, view_seeds
from semdistill.distill.losses import channel_rate, cross_entropy, soft_cross_entropy
from semdistill.distill.trainers import training_snr
from semdistill.metrics.complexity import count_parameters
from semdistill.models.student import StudentConfig, TaskStudent
from semdistill.teachers import KnowledgeStore, Teacher, load_teacher


class TensorImages:
    """Pre-rendered images held in memory (on the benchmark device): ``render_indices`` by gather."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int) -> None:
        self.images, self.labels, self.num_classes = images, labels, num_classes

    def __len__(self) -> int:
        return len(self.labels)

    def render_indices(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = indices.to(self.images.device)
        return self.images[idx], self.labels[idx]


def shapes_data(n: int, device: torch.device) -> TensorImages:
    from semdistill.data import ShapesWorld

    world = ShapesWorld(split="train", size=n, image_size=32, seed=0, task="shape")
    x, y = world.render_indices(torch.arange(n))
    return TensorImages(x.to(device), y.to(device), world.num_classes)


def random_data(n: int, classes: int, device: torch.device) -> TensorImages:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 3, 32, 32, generator=g)
    return TensorImages(x.to(device), torch.randint(0, classes, (n,), generator=g).to(device),
                        classes)


def cpu_teachers(num_classes: int) -> list[Teacher]:
    from semdistill.teachers import TeacherPretrainConfig, find_teacher

    found = find_teacher(TeacherPretrainConfig())
    if found is not None:
        return [load_teacher(f"local:{found}")]
    print("(no shapes teacher cached/shipped: timing a random-weight resnet18 at 64 px)",
          file=sys.stderr)
    return [load_teacher("timm:resnet18", num_classes=num_classes, pretrained=False,
                         input_size=64)]


def gpu_teachers(num_classes: int) -> list[Teacher]:
    return [load_teacher(f"timm:{n}", num_classes=num_classes, pretrained=False, input_size=224)
            for n in ("vit_base_patch16_224", "vit_large_patch14_224")]


def time_epoch(step, batches: int, device: torch.device, warmup: int = 2) -> list[float]:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for b in range(warmup):
        step(b)
    sync()
    times = []
    for b in range(batches):
        t0 = time.perf_counter()
        step(b)
        sync()
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch-size", type=int, default=None, help="default: 256 GPU, 128 CPU")
    p.add_argument("--batches", type=int, default=None, help="batches per epoch (20 GPU, 12 CPU)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--classes", type=int, default=100, help="GPU mode: teacher/student classes")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    if not gpu:
        torch.set_num_threads(args.threads)
    bs = args.batch_size or (256 if gpu else 128)
    batches = args.batches or (20 if gpu else 12)
    n = bs * (batches + 2)
    if gpu:
        data = random_data(n, args.classes, device)
        teachers = gpu_teachers(args.classes)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        data = shapes_data(n, device)
        teachers = cpu_teachers(data.num_classes)
        autocast = nullcontext()
    aug, seed, snr_range = SeededAugment(), 11, SNRRange()
    link = Link.from_config(ChannelConfig(name="awgn"), normalize=False).to(device)

    def fresh_student() -> tuple[TaskStudent, torch.optim.Optimizer]:
        torch.manual_seed(0)
        s = TaskStudent(StudentConfig(), data.num_classes).to(device)
        return s, torch.optim.AdamW(s.parameters(), lr=1e-3)

    def ids_of(b: int) -> torch.Tensor:
        return torch.arange(b * bs, (b + 1) * bs) % n

    def train_step(student, opt, images, labels, snr, soft) -> None:
        with autocast:
            out = student(images, snr, link)
            loss = cross_entropy(out.logits, labels) + 1e-3 * channel_rate(
                out.x, out.h, out.noise_var).mean()
            if soft is not None:
                loss = loss + soft_cross_entropy(out.logits, soft)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def rendered(b: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids = ids_of(b)
        x, y = data.render_indices(ids)
        x = aug(x, view_seeds(seed, ids, 0))
        return x, y, training_snr(b, bs, snr_range, 0).to(device)

    s, opt = fresh_student()

    def floor_step(b: int) -> None:
        x, y, snr = rendered(b)
        train_step(s, opt, x, y, snr, None)

    rows = []
    floor = time_epoch(floor_step, batches, device)
    f_ms = statistics.median(floor) * 1e3
    rows.append(("student-only (floor)", "-", f_ms, sum(floor), None, 1.0))
    def bench_teacher(teacher: Teacher) -> list[tuple]:
        teacher = teacher.to(device)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            with autocast:
                store = KnowledgeStore.build(teacher, data, Path(tmp) / "store",
                                             dataset_id={"name": "bench"}, views=1,
                                             k=min(10, data.num_classes), seed=seed,
                                             augment=aug, chunk_size=4 * bs, batch_size=bs,
                                             device=device)
            build_s = time.perf_counter() - t0
        s_pre, opt_pre = fresh_student()
        s_onl, opt_onl = fresh_student()

        def pre_step(b: int) -> None:
            ids = ids_of(b)
            x, y = data.render_indices(ids)
            x = aug(x, store.seeds[ids, 0])
            soft = store.soft_labels(ids, 0).to(device)
            train_step(s_pre, opt_pre, x, y, training_snr(b, bs, snr_range, 0).to(device), soft)

        def online_step(b: int) -> None:
            x, y, snr = rendered(b)
            with torch.no_grad(), autocast:
                soft = torch.softmax(teacher(x).float(), dim=-1)
            train_step(s_onl, opt_onl, x, y, snr, soft)

        pre = time_epoch(pre_step, batches, device)
        onl = time_epoch(online_step, batches, device)
        teacher.to("cpu")
        p_ms, o_ms = statistics.median(pre) * 1e3, statistics.median(onl) * 1e3
        return [(f"prestored ({teacher.spec})", f"{build_s:.1f}", p_ms, sum(pre), o_ms / p_ms,
                 p_ms / f_ms),
                (f"online ({teacher.spec})", "-", o_ms, sum(onl), 1.0, o_ms / f_ms)]

    for t in teachers:
        rows += bench_teacher(t)
    dev_name = torch.cuda.get_device_name(device) if gpu else f"CPU ({args.threads} threads)"
    print(f"\nKD epoch time on {dev_name}: batch {bs}, {batches} batches/epoch, "
          f"student {count_parameters(s):,} params\n")
    print("| loop | store build [s] | ms/batch (median) | epoch [s] | speedup vs online | "
          "× floor |")
    print("|---|---|---|---|---|---|")
    for name, build, ms, ep, speed, xfloor in rows:
        sp = "-" if speed is None else f"{speed:.2f}×"
        print(f"| {name} | {build} | {ms:.1f} | {ep:.2f} | {sp} | {xfloor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
