"""How the command line writes an amount for people (a module of its own: the errors and the commands both use it)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

__all__ = ["tao"]


def tao(rao: int, as_rao: bool = False, places: int = 4) -> str:
    """An amount for people: ``τ1,234.5000`` (or ``1,234,500,000,000 RAO`` with ``as_rao``: its unit said too).

    Cut to ``places`` toward zero, never rounded up: 48,999,998,001 RAO is τ48.9999, not τ49.0000 (which a user then
    tried to send, and was refused); an amount that would show as zero is shown whole (τ0.000000100)."""
    if as_rao:
        return f"{rao:,} RAO"
    exact = Decimal(rao).scaleb(-9)
    shown = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
    if shown == 0 and rao != 0:
        shown = exact.quantize(Decimal(1).scaleb(-9))
    return f"τ{shown:,f}"
