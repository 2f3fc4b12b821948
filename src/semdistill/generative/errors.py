"""User-fixable errors of the generative system (hub/file loading: :mod:`semdistill.hub`)."""

from __future__ import annotations

from semdistill.errors import UserError


class AlignmentError(UserError, ValueError):
    """A MAKD deliverable does not fit the edge model it is applied to."""


class EdgeFileError(UserError, ValueError):
    """A file of an edge model folder is damaged (its ``pretrain_summary.json``)."""
