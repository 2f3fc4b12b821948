"""Why the LTSC student learned slowly: its training, instrumented (docs/ltsc.md, "The recipe").

    python benchmarks/ltsc_recipe.py                                   # AdamW 3e-3 (the old recipe)
    python benchmarks/ltsc_recipe.py --optimizer sgd --lr 0.1 --warmup 50 --weight-decay 5e-4
    python benchmarks/ltsc_recipe.py --no-channel                      # encoder straight to decoder
    python benchmarks/ltsc_recipe.py --styles flat,outlined,textured,gradient --train-size 2048

A label-only student of the default architecture on the shapes world, trained with the
library's own pieces (optimizer registry, warm-up + cosine schedule, seeded views and
augmentation, per-sample training SNRs, the AWGN ``Link``), one process, one thread. Unlike the
library's ``scratch`` trainer it minimizes plain cross-entropy (no β·rate term) and draws its
views from augmentation seed 7; the logged ``e_pre`` runs one extra train-mode encoder pass
after the step (it nudges BatchNorm's running statistics every ``--every`` steps). Every
``--every`` steps it prints one JSON line: the loss, the gradient norm of the encoder, Φ_θ and the
decoder *before* clipping, the encoder's output energy per real value before the power constraint
(``e_pre``) and the transmitted energy per symbol (``es``); every 4·``--every`` steps, test
accuracy (1,000 images, AWGN, seeded noise) at 10 dB and 0 dB. The last line is the final accuracy
at 0, 10 and 20 dB. The figures in docs/ltsc.md come from here.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F

from semdistill.channels import Link
from semdistill.channels.config import ChannelConfig
from semdistill.config import SNRRange, TrainConfig
from semdistill.data.views import SeededAugment, view_seeds
from semdistill.data.world.dataset import ShapesWorld
from semdistill.distill.trainers import batch_views, training_snr
from semdistill.engine import batch_indices
from semdistill.engine.loop import OPTIMIZERS, lr_lambda
from semdistill.models.student import StudentConfig, TaskStudent


def grad_norm(module: torch.nn.Module) -> float:
    """L2 norm of the module's gradients (torch's own total-norm, before any clipping)."""
    return float(torch.nn.utils.get_total_norm(
        [p.grad for p in module.parameters() if p.grad is not None]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--optimizer", default="adamw", choices=list(OPTIMIZERS))
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--grad-clip", type=float, default=1.0, help="0 = off")
    p.add_argument("--styles", default="flat")
    p.add_argument("--train-size", type=int, default=4096)
    p.add_argument("--no-channel", action="store_true", help="decoder reads the sent symbols")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--widths", default="32,48,64")
    p.add_argument("--every", type=int, default=25)
    a = p.parse_args()
    torch.set_num_threads(1)
    styles = a.styles.split(",")
    train_ds = ShapesWorld("train", a.train_size, 32, 0, "shape", styles)
    test_x, test_y = ShapesWorld("test", 1000, 32, 0, "shape", styles).render_indices(
        torch.arange(1000))
    train = TrainConfig(steps=a.steps, batch_size=a.batch_size, lr=a.lr, optimizer=a.optimizer,
                        weight_decay=a.weight_decay, warmup_steps=a.warmup,
                        grad_clip=a.grad_clip or None)
    torch.manual_seed(a.seed)
    student = TaskStudent(StudentConfig(adaptive_rescale=True,
                                        widths=[int(w) for w in a.widths.split(",")]),
                          train_ds.num_classes, 32)
    link = Link.from_config(ChannelConfig(name="awgn", equalizer="mmse"), normalize=False)
    augment, snr_range = SeededAugment(4, True, 0.1), SNRRange(low=-5.0, high=20.0)
    opt = OPTIMIZERS.get(a.optimizer)(list(student.parameters()), train)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(train))

    def logits_of(x: torch.Tensor, snr: torch.Tensor, g: torch.Generator | None = None):
        if a.no_channel:
            sent, _ = student.transmit(x, snr)
            return student.receive(sent, snr), sent
        out = student(x, snr, link, generator=g)
        return out.logits, out.x

    @torch.no_grad()
    def accuracy(snr_db: float) -> float:
        student.eval()
        g = torch.Generator().manual_seed(123)
        right = sum(int((logits_of(test_x[i:i + 500], torch.full((500,), snr_db), g)[0]
                         .argmax(1) == test_y[i:i + 500]).sum()) for i in (0, 500))
        student.train()
        return right / 1000

    t0 = time.perf_counter()
    for step in range(a.steps):
        ids = batch_indices(step, len(train_ds), a.batch_size, a.seed)
        images, labels = train_ds.render_indices(ids)
        if not a.no_augment:
            views = batch_views(step, len(train_ds), a.batch_size, 2)
            images = augment(images, view_seeds(7, ids, views))
        snr = training_snr(step, a.batch_size, snr_range, a.seed)
        logits, sent = logits_of(images, snr)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        norms = {n: round(grad_norm(m), 3) for n, m in
                 (("encoder", student.encoder), ("adaptive", student.adaptive),
                  ("decoder", student.decoder))}
        if train.grad_clip:
            torch.nn.utils.clip_grad_norm_(student.parameters(), train.grad_clip)
        opt.step()
        sched.step()
        if step % a.every == 0:
            with torch.no_grad():
                row = {"step": step, "loss": round(loss.item(), 3), "grad_norm": norms,
                       "e_pre": round(student.encoder(images).square().mean().item(), 3),
                       "es": round(sent.abs().square().mean().item(), 3)}
            if step % (4 * a.every) == 0:
                row |= {"acc_10dB": accuracy(10.0), "acc_0dB": accuracy(0.0)}
            print(json.dumps(row), flush=True)
    print(json.dumps({"final": {f"acc_{s:g}dB": accuracy(s) for s in (0.0, 10.0, 20.0)},
                      "seconds": round(time.perf_counter() - t0, 1), "args": vars(a)}))


if __name__ == "__main__":
    main()
