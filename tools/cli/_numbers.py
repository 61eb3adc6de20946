"""Number options that say what is wrong with ``nan``: typer takes it as a float and then reports only the bound it
fails ("Input should be less than or equal to 3600"), which reads as if nan were too large.

Use as ``typer.Option(..., min=LOW, max=HIGH, parser=bounded(LOW, HIGH))``: the parser checks (min and max still show
the range in --help); its messages for out-of-range values are typer's own words.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import typer

__all__ = ["bounded"]


def _shown(bound: float) -> str:
    """A bound as typer shows it: ``3600``, ``0.01``, ``1000000``."""
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def bounded(low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """A typer parser of a float option in ``low``..``high``: ``nan`` and words are "not a number" (exit 2)."""
    if low is not None and high is not None:
        span = f" (give one from {_shown(low)} to {_shown(high)})"
    elif low is not None:
        span = f" (give one of at least {_shown(low)})"
    else:
        span = "" if high is None else f" (give one of at most {_shown(high)})"

    def parse(text: str) -> float:
        if isinstance(text, int | float):  # a default passes through the parser as it is
            value = float(text)
        else:
            try:
                value = float(text)
            except ValueError:
                raise typer.BadParameter(f"{text!r} is not a number{span}") from None
        if math.isnan(value):
            raise typer.BadParameter(f"{text!r} is not a number{span}")
        if low is not None and value < low:
            raise typer.BadParameter(f"Input should be greater than or equal to {_shown(low)}")
        if high is not None and value > high:
            raise typer.BadParameter(f"Input should be less than or equal to {_shown(high)}")
        return value

    return parse
