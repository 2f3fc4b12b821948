"""Training-step overhead: each trainer through the shared Trainer against a bare PyTorch loop.

    python benchmarks/step_overhead.py                 # CPU, 2 threads, the embedded defaults
    python benchmarks/step_overhead.py --steps 10      # a quick look

For every trainer (LTSC ``prestored``, ``online``, ``scratch``; the DeKA-g latent ``codec``) one
process times, side by side:

- ``trainer``: the library's path (``semdistill.distill`` → :class:`semdistill.engine.Trainer`):
  its batch function (render, augmentation, store read), the step function, accelerate's
  backward/clip/step, the scheduler and the per-step loss bookkeeping;
- ``bare``: the same model, loss, optimizer (AdamW, clip, schedule) and batches, but with every
  batch built before the clock starts and a plain ``for`` loop;

and a breakdown of one step into its parts (median of ``--reps``): data (render), augmentation,
store read or teacher forward (where the method has one), channel, forward + loss, backward,
optimizer. ``trainer / bare`` is the overhead ratio; the goal is ≤ 1.10. The data parts are
where the ratio comes from: the bare loop has its batches for free.

Prints Markdown tables (the numbers in BENCHMARKS.md come from here) with the machine named.
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semdistill.config import TrainConfig
from semdistill.data.views import view_seeds
from semdistill.distill import DistillJob, distill
from semdistill.distill.codec import random_conditions, train_codec
from semdistill.distill.trainers import batch_views, student_terms, training_snr
from semdistill.engine import Trainer, batch_indices
from semdistill.engine.loop import lr_lambda
from semdistill.experiments.ltsc import aug_seed, augment_of, build_student
from semdistill.experiments.registry import load_config_file
from semdistill.models.latent_jscc import LatentJSCC, jscc_loss
from semdistill.teachers import KnowledgeStore, resolve_teacher
from semdistill.utils.stats import t_interval

ROOT = Path(__file__).resolve().parents[1]


def median_ms(fn: Callable[[], Any], reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def paired(rnd: int, trainer: Callable[[], float], bare: Callable[[], float]
           ) -> tuple[float, float]:
    """(trainer ms, bare ms) of one round, the Trainer first in even rounds and second in odd
    ones, so that warm caches and allocator state favour neither side on average."""
    if rnd % 2:
        b = bare()
        return trainer(), b
    return trainer(), bare()


def bare_loop(model: nn.Module, train: TrainConfig, batches: list[Any],
              loss_fn: Callable[[nn.Module, Any], torch.Tensor]) -> float:
    """ms per step of a plain loop over prepared ``batches`` (same optimizer and schedule)."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=train.lr, weight_decay=train.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(train))
    model.train()
    t0 = time.perf_counter()
    for batch in batches:
        loss = loss_fn(model, batch)
        loss.backward()
        if train.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, train.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sched.step()
    return (time.perf_counter() - t0) / len(batches) * 1000


def step_parts(model: nn.Module, batch: Any, loss_fn: Callable[[nn.Module, Any], torch.Tensor],
               train: TrainConfig, reps: int) -> dict[str, float]:
    """Forward + loss, backward and optimizer of one step (ms, median)."""
    model = copy.deepcopy(model).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=train.lr, weight_decay=train.weight_decay)
    fwd = median_ms(lambda: loss_fn(model, batch), reps)

    def backward() -> None:
        loss_fn(model, batch).backward()
        opt.zero_grad(set_to_none=True)

    bwd = max(0.0, median_ms(backward, reps) - fwd)
    loss_fn(model, batch).backward()

    def step() -> None:
        torch.nn.utils.clip_grad_norm_(params, train.grad_clip or float("inf"))
        opt.step()

    return {"forward + loss": fwd, "backward": bwd, "optimizer": median_ms(step, reps)}


# ---- LTSC ------------------------------------------------------------------------------------
def ltsc_parts(method: str, ds: Any, augment: Any, seed: int, store: KnowledgeStore,
               teacher: nn.Module, link: nn.Module, student: nn.Module,
               batch: dict[str, torch.Tensor], cfg: Any, reps: int) -> dict[str, float]:
    """Data, augmentation, knowledge (store read / teacher forward) and channel of step 0."""
    bs = len(batch["label"])
    ids = batch_indices(0, len(ds), bs, cfg.seed)
    views = batch_views(0, len(ds), bs, cfg.store.views)
    images, _ = ds.render_indices(ids)
    parts = {"data (render)": median_ms(lambda: ds.render_indices(ids), reps),
             "augmentation": median_ms(lambda: augment(images, view_seeds(seed, ids, views)),
                                       reps),
             "of which the draw": median_ms(lambda: augment.params(view_seeds(seed, ids, views)),
                                            reps)}
    if method == "prestored":
        parts["store read"] = median_ms(lambda: store.soft_labels(ids, views), reps)
    with torch.no_grad():
        if method == "online":
            parts["teacher forward"] = median_ms(lambda: teacher(batch["image"]), reps)
        z, _ = student.transmit(batch["image"], batch["snr"])
    parts["channel"] = median_ms(lambda: link(z, batch["snr"]), reps)
    return parts


def ltsc_rows(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """Every round: each method with the render cache off and on, Trainer and bare loop."""
    _, cfg = load_config_file(ROOT / "configs" / "ltsc" / "flat.yaml",
                              [f"data.train_size={args.samples}"])
    train = cfg.train.model_copy(update={"steps": args.steps, "log_every": args.steps,
                                         "checkpoint_every": args.steps})
    teacher, _, _ = resolve_teacher(cfg.teacher.pretrain, allow_train=False)
    augment, seed = augment_of(cfg), aug_seed(cfg)
    t0 = time.perf_counter()
    store = KnowledgeStore.build(teacher, cfg.data.build("train"), tmp / "store",
                                 dataset_id=cfg.data.identity("train"), views=cfg.store.views,
                                 k=cfg.store.k, seed=seed, augment=augment,
                                 chunk_size=cfg.store.chunk_size,
                                 temperature=cfg.loss.temperature)
    store_s = time.perf_counter() - t0
    from semdistill.channels import Link

    link = Link.from_config(cfg.channel, normalize=False)
    bs = train.batch_size

    def batch_at(ds: Any, step: int, method: str) -> dict[str, torch.Tensor]:
        ids = batch_indices(step, len(ds), bs, cfg.seed)
        views = batch_views(step, len(ds), bs, cfg.store.views)
        images, labels = ds.render_indices(ids)
        batch = {"image": augment(images, view_seeds(seed, ids, views)), "label": labels,
                 "snr": training_snr(step, bs, cfg.snr, cfg.seed)}
        if method == "prestored":
            batch["soft"] = store.soft_labels(ids, views)
        return batch

    def loss_fn(model: nn.Module, b: dict[str, torch.Tensor], method: str) -> torch.Tensor:
        soft = b.get("soft")
        if method == "online":  # the teacher's forward is part of an online step
            with torch.no_grad():
                soft = torch.softmax(teacher(b["image"]).float() / cfg.loss.temperature, -1)
        return student_terms({"student": model}, link, b, soft, cfg.loss)["loss"]

    def prepared(init: nn.Module, batches: list[Any], method: str, rnd: int) -> float:
        """ms per step of the Trainer whose batch function hands out ``batches``."""
        def step_fn(modules: Any, b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            soft = b.get("soft")
            if method == "online":
                with torch.no_grad():
                    soft = torch.softmax(teacher(b["image"]).float() / cfg.loss.temperature, -1)
            return student_terms(modules, link, b, soft, cfg.loss)

        trainer = Trainer({"student": copy.deepcopy(init)}, train, tmp / f"prep-{method}-{rnd}",
                          seed=cfg.seed, tag=method)
        return trainer.fit(batches.__getitem__, step_fn).seconds / args.steps * 1000

    rows: dict[tuple[str, bool], dict[str, Any]] = {}
    for rnd in range(args.rounds):
        for cache in (False, True):
            for method in ("prestored", "online", "scratch"):
                ds = cfg.data.build("train")  # a fresh world: an empty render cache
                ds.cache = cache
                student = build_student(cfg, ds.num_classes, True)
                init = copy.deepcopy(student)
                job = DistillJob(student=student, link=link, dataset=ds, train=train,
                                 loss=cfg.loss, snr=cfg.snr,
                                 checkpoint_dir=tmp / f"{method}-{cache}-{rnd}",
                                 augment=augment, aug_seed=seed, views=cfg.store.views,
                                 seed=cfg.seed, tag=method)
                bare_ds = cfg.data.build("train")  # the bare side's batches: another world
                batches = [batch_at(bare_ds, s, method) for s in range(args.steps)]
                knowledge = {"prestored": store, "online": teacher}.get(method)
                row = rows.setdefault((method, cache), {
                    "trainer": method, "cache": "on" if cache else "off", "batch": bs,
                    "trainer_ms": [], "bare_ms": []})
                trainer_ms, bare = paired(
                    rnd,
                    lambda job=job, method=method, knowledge=knowledge: distill(
                        method, job, knowledge).seconds / args.steps * 1000,
                    lambda init=init, batches=batches, method=method: bare_loop(
                        copy.deepcopy(init), train, batches,
                        lambda m, b: loss_fn(m, b, method)))
                row["trainer_ms"].append(trainer_ms)
                row["bare_ms"].append(bare)
                if cache:  # the loop's own share: the Trainer over the bare side's batches
                    row.setdefault("prepared_ms", []).append(prepared(init, batches, method, rnd))
                if rnd == 0 and cache:
                    row["parts"] = ltsc_parts(method, ds, augment, seed, store, teacher, link,
                                              init, batches[0], cfg, args.reps) | step_parts(
                        init, batches[0], lambda m, b, method=method: loss_fn(m, b, method),
                        train, args.reps)
    out = list(rows.values())
    out[0]["note"] = (f"store of {args.samples} samples × {cfg.store.views} views built in "
                      f"{store_s:.1f} s")
    return out


# ---- DeKA-g latent codec ---------------------------------------------------------------------
def codec_rows(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    _, cfg = load_config_file(ROOT / "configs" / "dekag" / "shapes.yaml")
    from semdistill.generative.edge import load_default_edge

    shape = load_default_edge().latent_shape
    latents = torch.randn(args.samples, *shape, generator=torch.Generator().manual_seed(0))
    train = cfg.adapt_train.model_copy(update={"steps": args.steps, "log_every": args.steps,
                                               "checkpoint_every": args.steps})
    torch.manual_seed(0)
    model = LatentJSCC(shape, cfg.codec)
    init = copy.deepcopy(model)
    snr = cfg.adapters.snr

    def condition(b: int, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return random_conditions(b, model.num_rates, snr, dev)

    batches = []
    for s in range(args.steps):
        z = latents[batch_indices(s, len(latents), train.batch_size, cfg.seed)]
        batches.append((z, *condition(len(z), z.device)))

    def loss_fn(m: nn.Module, b: tuple[torch.Tensor, ...]) -> torch.Tensor:
        z, r, s = b
        out = m(z, r, s)
        return jscc_loss(z, out.z_hat, out.s, out.s_q, out.mask, cfg.codec.beta,
                         cfg.codec.distortion)["loss"]

    trainer_ms, bare_ms = [], []
    for rnd in range(args.rounds):
        t, b = paired(
            rnd,
            lambda rnd=rnd: train_codec(copy.deepcopy(init), latents, train, tmp / f"codec-{rnd}",
                                        "codec", cfg.seed, cfg.codec, condition,
                                        "bench")["seconds"] / args.steps * 1000,
            lambda: bare_loop(copy.deepcopy(init), train, batches, loss_fn))
        trainer_ms.append(t)
        bare_ms.append(b)
    z, r, s = batches[0]
    with torch.no_grad():
        sym, mask = init.encode(z, r)
        sq = init.quantize(sym, mask)
    parts = {"data (gather)": median_ms(
        lambda: latents[batch_indices(0, len(latents), train.batch_size, cfg.seed)], args.reps),
        "channel": median_ms(lambda: init.transmit(sq, r, s), args.reps)}
    parts |= step_parts(init, batches[0], loss_fn, train, args.reps)
    return [{"trainer": "codec", "cache": "-", "trainer_ms": trainer_ms, "bare_ms": bare_ms,
             "parts": parts, "batch": train.batch_size}]


# ---- MAKD stages -----------------------------------------------------------------------------
def makd_rows(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """MAKD stage A (metaword, UNet frozen) and stage B (LoRA on the UNet) on the shipped edge:
    the stage's Trainer against a bare loop, over one subject's teacher latents and prompts."""
    from semdistill.data.world.samples import subject_prompts
    from semdistill.generative.deliverable import ADAPTER, lora_config
    from semdistill.generative.diffusion import eps_loss
    from semdistill.generative.edge import load_default_edge
    from semdistill.generative.makd import MAKDConfig, _train_cfg
    from semdistill.generative.metaword import MetawordTextEncoder, add_metaword

    cfg = MAKDConfig()
    edge = load_default_edge()
    n = 32
    images = torch.rand(n, 3, edge.image_size, edge.image_size,
                        generator=torch.Generator().manual_seed(0))
    z0 = edge.encode_images(images).cpu()
    prompts = [f"{p} {cfg.token}" for p in subject_prompts({"shape": "star", "color": "red"}, n,
                                                           "train", 0, edge.image_size)]
    for m in (edge.unet, edge.text_encoder, edge.vae):
        m.requires_grad_(False)
    mw = MetawordTextEncoder(edge.text_encoder, add_metaword(edge.tokenizer, edge.text_encoder,
                                                             cfg.token, "star"))
    ids = edge.tokenize(prompts).cpu()
    vector_init = mw.vector.detach().clone()

    def batch_at(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(step, n, cfg.batch_size, 0)
        return {"z": z0[idx], "ids": ids[idx]}

    def loss(mods: dict[str, nn.Module], b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"loss": eps_loss(mods["unet"], mods["metaword"](b["ids"]), b["z"], edge.scheduler)}

    batches = [batch_at(s) for s in range(args.steps)]

    def bare_loss(m: nn.Module, b: dict[str, torch.Tensor]) -> torch.Tensor:
        return loss(dict(m.items()), b)["loss"]

    def stage_row(stage: str, lr: float, lora: bool) -> dict[str, Any]:
        train = _train_cfg(args.steps, lr, cfg, args.steps)
        if lora:
            edge.unet.add_adapter(lora_config(cfg.rank, cfg.alpha, cfg.targets),
                                  adapter_name=ADAPTER)
        mw.vector.requires_grad_(not lora)
        mods = {"unet": edge.unet, "metaword": mw}
        start = {k: v.detach().clone() for k, v in edge.unet.state_dict().items()}

        def reset() -> None:
            edge.unet.load_state_dict(start)
            mw.vector.data.copy_(vector_init)

        def with_trainer(rnd: int) -> float:
            reset()
            summary = Trainer(mods, train, tmp / f"makd-{lora}-{rnd}", tag=stage).fit(
                batch_at, loss)
            return summary.seconds / args.steps * 1000

        def bare() -> float:
            reset()
            return bare_loop(nn.ModuleDict(mods), train, batches, bare_loss)

        row = {"trainer": stage, "cache": "-", "batch": cfg.batch_size, "trainer_ms": [],
               "bare_ms": []}
        for rnd in range(args.rounds):
            t, b = paired(rnd, lambda: with_trainer(rnd), bare)  # noqa: B023 (called at once)
            row["trainer_ms"].append(t)
            row["bare_ms"].append(b)
        row["parts"] = {"data (gather)": median_ms(lambda: batch_at(0), args.reps)} | step_parts(
            nn.ModuleDict(mods), batches[0], bare_loss, train, args.reps)
        return row

    rows = [stage_row("makd stage A (metaword)", cfg.metaword_lr, lora=False),
            stage_row("makd stage B (LoRA)", cfg.lora_lr, lora=True)]
    return rows


SUITES: dict[str, Callable[[argparse.Namespace, Path], list[dict[str, Any]]]] = {
    "ltsc": ltsc_rows, "codec": codec_rows, "makd": makd_rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="steps per trainer (each side)")
    ap.add_argument("--samples", type=int, default=1024, help="training samples")
    ap.add_argument("--reps", type=int, default=15, help="repeats per breakdown part")
    ap.add_argument("--rounds", type=int, default=3, help="independent repeats of each ratio")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trainers", nargs="+", choices=sorted(SUITES), default=list(SUITES),
                    help="which trainers to time (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [row for name in args.trainers for row in SUITES[name](args, Path(tmp))]
    print(f"machine: {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"torch {torch.__version__}; {args.steps} steps per side, {args.rounds} rounds "
          "(cache off and on side by side in each round)\n")
    print("| trainer | render cache | batch | Trainer ms/step | bare loop ms/step | "
          "ratio, mean [95% CI] | ratio per round |\n|---|---|---:|---:|---:|---|---|")
    for r in rows:
        ratios = [a / b for a, b in zip(r["trainer_ms"], r["bare_ms"], strict=True)]
        lo, mean, hi = t_interval(ratios)
        print(f"| {r['trainer']} | {r['cache']} | {r['batch']} | "
              f"{statistics.mean(r['trainer_ms']):.1f} | {statistics.mean(r['bare_ms']):.1f} | "
              f"{mean:.2f} [{lo:.2f}, {hi:.2f}] | {', '.join(f'{x:.2f}' for x in ratios)} |")
    print("\nThe loop's own share: the Trainer over the bare loop's prepared batches (no data "
          "work), against the bare loop of the same round.\n\n| trainer | Trainer over prepared "
          "batches ms/step | ratio to bare, mean [95% CI] | per round |\n|---|---:|---|---|")
    for r in rows:
        if "prepared_ms" in r:
            bare = r["bare_ms"][-len(r["prepared_ms"]):]
            ratios = [a / b for a, b in zip(r["prepared_ms"], bare, strict=True)]
            lo, mean, hi = t_interval(ratios)
            print(f"| {r['trainer']} | {statistics.mean(r['prepared_ms']):.1f} | {mean:.2f} "
                  f"[{lo:.2f}, {hi:.2f}] | {', '.join(f'{x:.2f}' for x in ratios)} |")
    rows = [r for r in rows if "parts" in r]
    names = list(dict.fromkeys(k for r in rows for k in r["parts"]))
    print("\n| trainer | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
    for r in rows:
        cells = [f"{r['parts'][n]:.1f}" if n in r["parts"] else "" for n in names]
        print(f"| {r['trainer']} | " + " | ".join(cells) + " |")
    for r in rows:
        if r.get("note"):
            print(f"\n{r['note']}")


if __name__ == "__main__":
    main()
