"""Balance behaves as Bittensor's does where that is unambiguous, and refuses with InvalidAmount where it is not."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.kernel import Balance
from taonet.kernel.errors import InvalidAmount

TAO = 10**9


def test_an_int_is_rao_and_a_float_is_tao_as_in_bittensor() -> None:
    """``Balance(int)`` is RAO, ``Balance(float)`` TAO; numpy scalars count as their Python kinds."""
    assert Balance(5).rao == 5
    assert Balance(1.5) == Balance.from_tao(1.5) == Balance.from_rao(1_500_000_000)
    assert Balance(np.int64(7)).rao == 7
    assert Balance(np.float32(0.5)).rao == TAO // 2
    assert Balance.from_float(2.0).rao == 2 * TAO
    assert Balance.from_rao(np.uint16(9)).rao == 9


def test_arithmetic_with_balances_and_integer_rao() -> None:
    """+, - and comparisons take Balances and integers (RAO); sum() works; * and / scale; a ratio is a float."""
    one = Balance.from_tao(1)
    assert one + 5 == Balance(TAO + 5) and 5 + one == Balance(TAO + 5)
    assert one - Balance(1) == TAO - 1 and TAO - one == Balance(0)
    assert sum([one, one, one]) == Balance.from_tao(3)
    assert one * 0.25 == Balance.from_tao(0.25) and 3 * one == Balance.from_tao(3)
    assert one / 4 == Balance(TAO // 4) and one // 3 == Balance(TAO // 3)
    assert Balance.from_tao(3) / one == 3.0
    assert one > TAO - 1 and one >= np.int64(TAO) and Balance(0) < one
    assert -one == Balance(-TAO) and abs(-one) == one
    assert float(one) == 1.0 and int(one) == TAO
    assert not Balance(0) and one
    assert str(Balance.from_tao(1234.5)) == "τ1,234.500000000"


def test_a_float_beside_a_balance_is_refused_not_guessed() -> None:
    """Bittensor reads ``balance < 1.0`` as 1 RAO; here it is an InvalidAmount that says what to write (``==``
    too: test_balance_sdk.py)."""
    one = Balance.from_tao(1)
    for op in (lambda: one < 1.0, lambda: one + 0.5, lambda: one - Decimal("0.5"), lambda: one > np.float64(1)):
        with pytest.raises(InvalidAmount, match="ambiguous"):
            op()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None, True, [1], object()])
def test_what_is_no_amount_raises_invalid_amount(bad: object) -> None:
    """Bad input is an InvalidAmount (a ValueError and a TypeError), never a bare error from deep inside."""
    with pytest.raises(InvalidAmount) as caught:
        Balance.of(bad)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, TypeError)
    assert "Balance.from_tao" in str(caught.value)


@pytest.mark.parametrize("bad", [-1, -0.5, 2**64, Balance(-3)])
def test_an_amount_to_send_is_within_u64(bad: object) -> None:
    """What an extrinsic cannot carry is refused before anything is signed."""
    with pytest.raises(InvalidAmount):
        Balance.to_send(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=-(2**63), max_value=2**63))
def test_rao_survives_tao_and_arithmetic(rao: int, delta: int) -> None:
    """TAO as a decimal string gives back the same RAO; adding then subtracting an integer is the identity."""
    b = Balance(rao)
    assert Balance.from_tao(str(Decimal(rao) / TAO)) == b
    assert (b + delta) - delta == b
    assert Balance.to_send(b) == b

