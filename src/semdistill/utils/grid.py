"""Parse axis grids given on the command line (SNR sweeps, rates)."""

from __future__ import annotations


def parse_grid(spec: str) -> list[float]:
    """``"-5:20:5"`` → [-5, 0, 5, 10, 15, 20] (inclusive); ``"0,10"`` → [0, 10].

    Raises ValueError with a usage hint for anything else.
    """
    spec = spec.strip()
    try:
        if ":" in spec:
            start, stop, step = (float(p) for p in spec.split(":"))
            if step <= 0 or start > stop:
                raise ValueError
            n = int(round((stop - start) / step))
            return [round(start + i * step, 6) for i in range(n + 1)
                    if start + i * step <= stop + 1e-9]
        values = [float(p) for p in spec.split(",") if p.strip()]
        if not values:
            raise ValueError
        return values
    except ValueError:
        raise ValueError(f"{spec!r}: use START:STOP:STEP (STEP > 0) or a,b,c") from None


def grid_option(spec: str) -> list[float]:
    """:func:`parse_grid` for a command-line option: a malformed grid is a usage error."""
    import typer

    try:
        return parse_grid(spec)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
