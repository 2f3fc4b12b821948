"""Parse axis grids given on the command line (SNR sweeps, rates)."""

from __future__ import annotations

import math

#: the most points one grid may have (a typo such as ``0:1e9:1e-9`` is refused, not built)
MAX_GRID_POINTS = 1000


def parse_grid(spec: str) -> list[float]:
    """``"-5:20:5"`` → [-5, 0, 5, 10, 15, 20] (inclusive); ``"0,10"`` → [0, 10].

    Raises ValueError with a usage hint for anything else, for non-finite values, and for
    grids of more than :data:`MAX_GRID_POINTS` points.
    """
    spec = spec.strip()
    usage = ValueError(f"{spec!r}: use START:STOP:STEP (STEP > 0) or a,b,c")
    try:
        parts = [float(p) for p in spec.split(":" if ":" in spec else ",") if p.strip()]
    except ValueError:
        raise usage from None
    if not parts or not all(map(math.isfinite, parts)):
        raise usage
    if ":" in spec:
        if len(parts) != 3 or parts[2] <= 0 or parts[0] > parts[1]:
            raise usage
        start, stop, step = parts
        n = int(round((stop - start) / step)) + 1
        values = None
    else:
        n, values = len(parts), parts
    if n > MAX_GRID_POINTS:
        raise ValueError(f"{spec!r} has {n:,} points; at most {MAX_GRID_POINTS} are allowed"
                         + (" (use a larger STEP)" if values is None else ""))
    if values is not None:
        return values
    return [round(start + i * step, 6) for i in range(n) if start + i * step <= stop + 1e-9]

def grid_option(spec: str) -> list[float]:
    """:func:`parse_grid` for a command-line option: a malformed grid is a usage error."""
    import typer

    try:
        return parse_grid(spec)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
