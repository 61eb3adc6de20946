"""Words for counts in what the commands print."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, thing: str) -> str:
    """``n`` things, in the singular for one: ``1 process``, ``6 processes``, ``2 neurons``, ``1,024 blocks``."""
    return f"{n:,} {thing}" if n == 1 else f"{n:,} {thing}es" if thing.endswith("s") else f"{n:,} {thing}s"
