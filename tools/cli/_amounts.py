"""How the command line writes an amount for people (a module of its own: the errors and the commands both use it)."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["tao"]


def tao(rao: int, as_rao: bool = False, places: int = 4) -> str:
    """An amount for people: ``τ1,234.5000`` (or ``1,234,500,000,000`` RAO with ``as_rao``)."""
    if as_rao:
        return f"{rao:,}"
    return f"τ{Decimal(rao) / 10**9:,.{places}f}"
