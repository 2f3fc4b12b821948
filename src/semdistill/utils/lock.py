"""An exclusive, advisory lock on a folder, held by one process at a time.

The lock is ``fcntl.flock`` on a file inside the folder, so it is released by the kernel when
the holder exits or is killed (no stale lock after a SIGKILL). The file records who holds it,
so a second writer is told whom it waits for.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from semdistill.errors import UserError


class LockHeld(UserError, BlockingIOError):
    """Another process holds the lock."""


@contextmanager
def folder_lock(path: str | Path, what: str = "folder") -> Iterator[None]:
    """Hold ``path`` (a lock file) exclusively for the block; :class:`LockHeld` if taken."""
    path = Path(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(f"{what} {path.parent} is in use by {_holder(path)}; wait for it to "
                           f"finish (or stop it) and try again") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text())
        return f"process {h['pid']} on {h['host']} (since {h['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
