"""User-fixable errors of the teachers package (the CLI prints each as one line)."""

from __future__ import annotations

from semdistill.errors import UserError


class TeacherNotAvailable(UserError, OSError):
    """A teacher could not be loaded: unknown spec, missing files or weights needing a download."""


class StoreError(UserError, ValueError):
    """Base of knowledge-store problems; the message names the file."""


class StoreCorrupt(StoreError):
    """A chunk's bytes do not match the manifest checksum, or a file is missing or unreadable."""


class StoreMismatch(StoreError):
    """The store was built for a different teacher, dataset, K, views or format version."""
