"""Multi-process launch helpers for the experiment runner (``torchrun`` / ``accelerate launch``).

Every rank runs the whole experiment: training is synchronized by the :class:`Trainer`, and the
stages around it (store build, evaluation, report) are deterministic, so ranks compute the same
files. Files are written atomically with unique temporary names, so identical writes from
several ranks cannot corrupt each other; append-only logs are written by the main rank only.
"""

from __future__ import annotations

import atexit
import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import torch

from semdistill.errors import UserError

T = TypeVar("T")


def world_size() -> int:
    """Number of launched processes (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def use_cpu(force: bool = False) -> bool:
    """Whether accelerate should be told ``cpu=True``: when asked (``force``, or accelerate's
    ``ACCELERATE_USE_CPU``, which ``--device cpu`` sets), or when there is no CUDA.

    Without CUDA this is what makes accelerate join a multi-process CPU (gloo) job under
    ``torchrun`` / ``accelerate launch``; with ``cpu=False`` each rank would run alone.
    """
    flag = os.environ.get("ACCELERATE_USE_CPU", "").strip().lower() in {"1", "true", "yes", "on"}
    return force or flag or not torch.cuda.is_available()


def select_device(device: str) -> None:
    """Make ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``) the device of every
    :class:`~accelerate.Accelerator` this process creates, through accelerate's own variables
    (``ACCELERATE_USE_CPU``, ``ACCELERATE_TORCH_DEVICE``; inherited by child processes).

    Call it before the first ``Accelerator``: accelerate's state is process-wide, first wins.
    A device this machine does not have, or one device for several launched processes, is one
    line; under a launcher the launcher places the ranks.
    """
    if device == "auto":
        return
    if device == "cpu":
        os.environ["ACCELERATE_USE_CPU"] = "true"
        return
    kind, _, index = device.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise UserError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA device is available on this machine "
                        "(use --device cpu)")
    if index and int(index) >= torch.cuda.device_count():
        raise UserError(f"--device {device}: this machine has {torch.cuda.device_count()} "
                        f"CUDA device(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if index and world_size() > 1:
        raise UserError(f"--device {device}: one device for {world_size()} launched processes; "
                        "give the launcher the devices (CUDA_VISIBLE_DEVICES) and use --device cuda")
    if index:
        os.environ["ACCELERATE_TORCH_DEVICE"] = device


def launched_state(cpu: bool = False) -> Any:
    """accelerate's ``PartialState`` under a multi-process launch, else ``None``.

    A single process never creates the (process-wide, first-wins) state here, so a later
    ``Accelerator`` still picks its own device.
    """
    if world_size() == 1:
        return None
    from accelerate import PartialState

    state = PartialState(cpu=use_cpu(cpu))
    release_process_group_at_exit()
    return state


@functools.cache
def release_process_group_at_exit() -> None:
    """Destroy the launched job's process group when Python exits, while the interpreter is alive.

    Without it, gloo's worker threads are torn down during interpreter finalization and a rank
    can die with ``terminate called without an active exception`` (SIGABRT) after its work is
    done, failing the whole launch. Registered once per process; a no-op when no group exists.
    """
    import torch.distributed as dist

    def release() -> None:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()

    atexit.register(release)


def on_main_then_share(fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and give its (picklable) result to every rank.

    Without a launcher this is just ``fn()``. Used for choices that must agree across ranks but
    are not deterministic, such as a timestamped run-directory name.
    """
    state = launched_state()
    if state is None:
        return fn()
    from accelerate.utils import broadcast_object_list

    box = [fn() if state.is_main_process else None]
    broadcast_object_list(box, from_process=0)
    return box[0]
