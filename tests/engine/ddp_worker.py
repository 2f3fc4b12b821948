"""Worker for the 2-process CPU (gloo) test: trains a toy model through the shared Trainer.

Run under ``torchrun --nproc_per_node 2``; each rank writes its final parameters and the sample
indices it saw to ``<out>/rank<r>.pt``.
"""

import sys
from pathlib import Path

import torch
from torch import nn

from semdistill.config import TrainConfig
from semdistill.engine import Trainer, batch_indices


def main(out: Path) -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
    y = x.sum(1, keepdim=True)
    model = nn.Linear(5, 1)
    train = TrainConfig(steps=3, batch_size=16, lr=0.1, cpu=True, schedule="constant")
    trainer = Trainer({"m": model}, train, out / "ckpt", seed=1, tag="ddp")
    seen: list[int] = []

    def batch_fn(step):
        idx = batch_indices(step, 64, 16, seed=1, rank=trainer.rank, world_size=trainer.world_size)
        seen.extend(idx.tolist())
        return x[idx], y[idx]

    def step_fn(mods, batch):
        xb, yb = batch
        return {"loss": ((mods["m"](xb) - yb) ** 2).mean()}

    trainer.fit(batch_fn, step_fn)
    torch.save({"world": trainer.world_size, "params": [p.detach() for p in model.parameters()],
                "seen": seen}, out / f"rank{trainer.rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
