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
    try:
        if ":" in spec:
            start, stop, step = (float(p) for p in spec.split(":"))
            if not all(map(math.isfinite, (start, stop, step))) or step <= 0 or start > stop:
                raise ValueError
            n = int(round((stop - start) / step))
            if n + 1 > MAX_GRID_POINTS:
                raise OverflowError(f"{spec!r} has {n + 1:,} points; at most "
                                    f"{MAX_GRID_POINTS} are allowed (use a larger STEP)")
            return [round(start + i * step, 6) for i in range(n + 1)
                    if start + i * step <= stop + 1e-9]
        values = [float(p) for p in spec.split(",") if p.strip()]
        if not values or not all(map(math.isfinite, values)):
            raise ValueError
        if len(values) > MAX_GRID_POINTS:
            raise OverflowError(f"{len(values)} points; at most {MAX_GRID_POINTS} are allowed")
        return values
    except OverflowError as err:
        raise ValueError(str(err)) from None
    except ValueError:
        raise ValueError(f"{spec!r}: use START:STOP:STEP (STEP > 0) or a,b,c") from None


def grid_option(spec: str) -> list[float]:
    """:func:`parse_grid` for a command-line option: a malformed grid is a usage error."""
    import typer

    try:
        return parse_grid(spec)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
