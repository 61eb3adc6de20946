"""The template subnet's one message: a number to double."""

from __future__ import annotations

from typing import ClassVar

from taonet.kernel import Synapse

__all__ = ["Double"]


class Double(Synapse):
    """The validator sends ``number``; the miner fills ``doubled``."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("doubled",)
    number: int
    doubled: int | None = None

    def deserialize(self) -> int | None:
        """The miner's answer."""
        return self.doubled
