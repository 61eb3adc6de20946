"""The compute subnet's one message: two matrices to multiply."""

from __future__ import annotations

from typing import ClassVar

from taonet.kernel import Synapse

__all__ = ["MatMul"]


class MatMul(Synapse):
    """The validator sends ``a`` and ``b`` (n x n, int8 bytes, row-major); the miner fills ``product`` (float64
    little-endian bytes, row-major). ``product_digest`` is never sent: a validator's journal keeps it in place of
    the product, so that replay can re-score the step."""

    OUTPUT_FIELDS: ClassVar[tuple[str, ...] | None] = ("product",)
    MAX_SIZE: ClassVar[int | None] = 64 * 1024 * 1024
    n: int
    a: bytes
    b: bytes
    product: bytes | None = None
    product_digest: str | None = None

    def deserialize(self) -> bytes | None:
        """The miner's product (float64 bytes)."""
        return self.product
