"""Balance: an amount of TAO held as integer RAO, displayed in τ.

As in the Bittensor SDK: ``Balance(int)`` is RAO and ``Balance(float)`` TAO; an integer in arithmetic or a
comparison is RAO (``b + 5`` adds 5 RAO); ``b * 0.5`` and ``b / 2`` scale; ``b1 / b2`` is their ratio; a Balance may
be negative (a difference; writes refuse one, see :meth:`Balance.to_send`). Unlike it, a float beside a Balance in
``+``, ``-`` or any comparison (``==`` too) is refused (is ``1.0`` one TAO or one RAO? the SDK takes RAO): write
``Balance.from_tao(1.0)``. numpy integers and floats count as ints and floats. What cannot be an amount raises
:class:`InvalidAmount` (a ValueError and a TypeError). ``f"{b:.2f}"`` formats the TAO value exactly.
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal, InvalidOperation
from typing import Any, final

from taonet.ledger import TAO

from ..errors import InvalidAmount

__all__ = ["Balance"]

U64_MAX = (1 << 64) - 1


def _is_int(x: Any) -> bool:
    """An integer that is not a bool: int, numpy integers."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _is_float(x: Any) -> bool:
    """A real number that is not an integer: float, numpy floats."""
    return isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral)


def _refuse(amount: Any, reason: str) -> InvalidAmount:
    return InvalidAmount(amount=f"{amount!r:.60}", reason=reason)


def _other_rao(other: Any, op: str) -> int:
    """RAO of the other operand of ``op``: a Balance, or an integer (RAO); anything else is refused."""
    if isinstance(other, Balance):
        return other.rao
    if _is_int(other):
        return int(other)
    if _is_float(other) or isinstance(other, Decimal):
        raise _refuse(other, f"a float beside a Balance in {op} is ambiguous (TAO or RAO?); use Balance.from_tao(x) "
                             "or an int of RAO")
    raise _refuse(other, f"{type(other).__name__} cannot be used with a Balance in {op}")


@final
class Balance:
    """An amount in RAO (1 τ = 10^9 RAO) with TAO arithmetic for display; ``Balance.from_tao(1.5)``."""

    __slots__ = ("rao",)

    def __init__(self, rao: int | float) -> None:
        if _is_float(rao):
            rao = Balance.from_tao(rao).rao  # as in the Bittensor SDK: a float is TAO
        elif not _is_int(rao):
            raise _refuse(rao, f"a Balance is built from integer RAO or float TAO, not {type(rao).__name__}")
        self.rao = int(rao)

    @classmethod
    def from_tao(cls, tao: float | int | str | Decimal) -> Balance:
        """The balance of ``tao`` TAO, rounded to the RAO."""
        if isinstance(tao, bool) or not (isinstance(tao, numbers.Real | str | Decimal)):
            raise _refuse(tao, f"TAO is a number, not {type(tao).__name__}")
        try:
            value = Decimal(str(tao)) * TAO
        except InvalidOperation:
            raise _refuse(tao, "not a number") from None
        if not value.is_finite():
            raise _refuse(tao, "not finite")
        return cls(int(value.to_integral_value()))

    @classmethod
    def from_rao(cls, rao: int) -> Balance:
        """The balance of ``rao`` RAO (an integer)."""
        if not _is_int(rao):
            raise _refuse(rao, f"RAO is an integer, not {type(rao).__name__}")
        return cls(int(rao))

    from_float = from_tao

    @classmethod
    def of(cls, amount: Balance | int | float | str | Decimal) -> Balance:
        """A Balance from a Balance, integer RAO, or TAO as a float, a decimal string or a Decimal."""
        if isinstance(amount, Balance):
            return amount
        if _is_int(amount):
            return cls(int(amount))
        if _is_float(amount) or isinstance(amount, Decimal | str):
            return cls.from_tao(amount)
        raise _refuse(amount, f"cannot make a Balance from {type(amount).__name__}")

    @classmethod
    def to_send(cls, amount: Balance | int | float | str | Decimal) -> Balance:
        """:meth:`of`, refusing what no extrinsic can carry: a negative amount, or one above 2^64-1 RAO."""
        b = cls.of(amount)
        if b.rao < 0:
            raise _refuse(amount, "it is negative")
        if b.rao > U64_MAX:
            raise _refuse(amount, "it is more than 2^64-1 RAO")
        return b

    @property
    def tao(self) -> float:
        """The amount in TAO."""
        return self.rao / TAO

    def __int__(self) -> int:
        return self.rao

    def __float__(self) -> float:
        return self.tao

    def __bool__(self) -> bool:
        return self.rao != 0

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Balance):
            return self.rao == other.rao
        if _is_int(other) or _is_float(other) or isinstance(other, Decimal):
            return self.rao == _other_rao(other, "==")  # a float raises, as it does in <: never a silent False
        return NotImplemented  # None, a string...: not equal, as for any object

    def __ne__(self, other: Any) -> bool:
        if isinstance(other, Balance):
            return self.rao != other.rao
        if _is_int(other) or _is_float(other) or isinstance(other, Decimal):
            return self.rao != _other_rao(other, "!=")
        return NotImplemented

    def __lt__(self, other: Any) -> bool:
        return self.rao < _other_rao(other, "<")

    def __le__(self, other: Any) -> bool:
        return self.rao <= _other_rao(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self.rao > _other_rao(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self.rao >= _other_rao(other, ">=")

    def __hash__(self) -> int:
        return hash(self.rao)

    def __add__(self, other: Balance | int) -> Balance:
        return Balance(self.rao + _other_rao(other, "+"))

    __radd__ = __add__  # sum(balances) starts from 0

    def __sub__(self, other: Balance | int) -> Balance:
        return Balance(self.rao - _other_rao(other, "-"))

    def __rsub__(self, other: Balance | int) -> Balance:
        return Balance(_other_rao(other, "-") - self.rao)

    def __mul__(self, factor: int | float) -> Balance:
        if _is_int(factor):
            return Balance(self.rao * int(factor))
        if _is_float(factor) and math.isfinite(factor):
            return Balance(round(self.rao * float(factor)))
        raise _refuse(factor, "a Balance is multiplied by a finite number, not by "
                              f"{'another Balance' if isinstance(factor, Balance) else type(factor).__name__}")

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        if isinstance(other, Balance):
            return self.rao / other.rao  # a ratio
        if (_is_int(other) or _is_float(other)) and math.isfinite(other) and other != 0:
            return Balance(round(self.rao / other))
        raise _refuse(other, "a Balance is divided by a Balance (a ratio) or a finite, non-zero number")

    def __floordiv__(self, other: Any) -> Any:
        if isinstance(other, Balance):
            return self.rao // other.rao
        if _is_int(other) and other != 0:
            return Balance(self.rao // int(other))
        raise _refuse(other, "a Balance is floor-divided by a Balance or a non-zero integer")

    def __neg__(self) -> Balance:
        return Balance(-self.rao)

    def __pos__(self) -> Balance:
        return self

    def __abs__(self) -> Balance:
        return Balance(abs(self.rao))

    def __str__(self) -> str:
        return f"τ{Decimal(self.rao) / TAO:,.9f}"

    def __format__(self, spec: str) -> str:
        """``str(b)`` for an empty spec; else the TAO value formatted exactly, as a Decimal: ``f"{b:,.2f}"``."""
        if not spec:
            return str(self)
        try:
            return format(Decimal(self.rao).scaleb(-9), spec)
        except ValueError:
            raise ValueError(f"{spec!r} is not a format for a Balance: it formats its TAO value as a decimal number "
                             "(f'{b:.2f}', f'{b:,.4f}', f'{b:>12.3f}'); for RAO format b.rao") from None

    def __repr__(self) -> str:
        return f"Balance({self.rao} RAO = {self})"
