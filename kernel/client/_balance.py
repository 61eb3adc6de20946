"""Balance: an amount of TAO held as integer RAO, displayed in τ."""

from __future__ import annotations

from decimal import Decimal
from functools import total_ordering
from typing import Any, final

from taonet.ledger import TAO

__all__ = ["Balance"]


@final
@total_ordering
class Balance:
    """An amount in RAO (1 τ = 10^9 RAO) with TAO arithmetic for display; ``Balance.from_tao(1.5)``."""

    __slots__ = ("rao",)

    def __init__(self, rao: int) -> None:
        if type(rao) is not int:
            raise TypeError(f"a Balance is built from integer RAO, got {type(rao).__name__}; use Balance.from_tao")
        self.rao = rao

    @classmethod
    def from_tao(cls, tao: float | int | str | Decimal) -> Balance:
        """The balance of ``tao`` TAO, rounded to the RAO."""
        return cls(int((Decimal(str(tao)) * TAO).to_integral_value()))

    @classmethod
    def of(cls, amount: Balance | int | float) -> Balance:
        """A Balance from a Balance, integer RAO, or float TAO."""
        if isinstance(amount, Balance):
            return amount
        if type(amount) is int:
            return cls(amount)
        if isinstance(amount, float | Decimal | str):
            return cls.from_tao(amount)
        raise TypeError(f"cannot make a Balance from {type(amount).__name__}")

    @property
    def tao(self) -> float:
        """The amount in TAO."""
        return self.rao / TAO

    def __int__(self) -> int:
        return self.rao

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Balance):
            return self.rao == other.rao
        if type(other) is int:
            return self.rao == other
        return NotImplemented

    def __lt__(self, other: Any) -> bool:
        return self.rao < int(other)

    def __hash__(self) -> int:
        return hash(self.rao)

    def __add__(self, other: Balance | int) -> Balance:
        return Balance(self.rao + int(other))

    def __sub__(self, other: Balance | int) -> Balance:
        return Balance(self.rao - int(other))

    def __str__(self) -> str:
        return f"τ{Decimal(self.rao) / TAO:,.9f}"

    def __repr__(self) -> str:
        return f"Balance({self.rao} RAO = {self})"
