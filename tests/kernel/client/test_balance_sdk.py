"""Balance as an SDK user meets it: every comparison with a float refuses the same way (``==`` is no silent False
while ``<`` raises), a negative Balance exists as in the SDK (a difference) but is never sent, and a format spec
formats the TAO value."""

from __future__ import annotations

import operator
from decimal import Decimal

import numpy as np
import pytest

from taonet.kernel import Balance
from taonet.kernel.errors import InvalidAmount

TAO = 10**9
COMPARISONS = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", COMPARISONS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("other", [1.0, 0.0, np.float64(1.5), Decimal("1")], ids=repr)
def test_every_comparison_with_a_float_refuses_alike(op: object, other: object) -> None:
    """``b == 1.0`` (and ``!=``, ``<``, ``>=`` ..., either side) is an InvalidAmount, a TypeError that says to write
    Balance.from_tao(x): the SDK reads the float as RAO, a reader as TAO; never a silent answer."""
    one = Balance.from_tao(1)
    for left, right in ((one, other), (other, one)):
        with pytest.raises(InvalidAmount, match=r"ambiguous \(TAO or RAO\?\); use Balance\.from_tao") as caught:
            op(left, right)  # type: ignore[operator]
        assert isinstance(caught.value, TypeError)


def test_comparisons_with_balances_and_integer_rao_agree() -> None:
    """Balances and integers (RAO) compare by RAO with all six operators, either side; None or a string is simply
    not equal (and not orderable)."""
    one = Balance.from_tao(1)
    assert one == TAO and TAO == one and one != TAO + 1 and (one != TAO) is False
    assert one < TAO + 1 and one <= TAO and one > TAO - 1 and one >= np.int64(TAO)
    assert TAO - 1 < one and TAO + 1 > one and Balance.from_tao(1.5) >= one > Balance(0)
    assert one != None and (one == "1") is False and one != "1"  # noqa: E711
    assert {one: "x"}[TAO] == "x"  # equal to its RAO, with the same hash
    with pytest.raises(InvalidAmount):
        assert one < "1"  # type: ignore[operator]


def test_a_negative_balance_exists_as_in_the_sdk_but_is_never_sent() -> None:
    """``Balance(-1)``, ``-b`` and ``a - b`` may be negative (the SDK allows it: a difference); an amount to send
    refuses it, so no write carries one."""
    assert Balance(-1).rao == -1 and Balance(-0.5) == -Balance.from_tao(0.5)
    delta = Balance.from_tao(1) - Balance.from_tao(3)
    assert delta == Balance.from_tao(-2) and delta < 0 and abs(delta) == Balance.from_tao(2)
    assert str(delta) == "τ-2.000000000"
    with pytest.raises(InvalidAmount, match="it is negative"):
        Balance.to_send(delta)


def test_a_format_spec_formats_the_tao_value() -> None:
    """``f"{b:.2f}"`` is the TAO value as ``f"{b.tao:.2f}"`` gives it, but exact at any size; no spec is ``str(b)``;
    a spec no number takes says how to format a Balance."""
    b = Balance.from_tao(1234.5678)
    assert f"{b:.2f}" == "1234.57" == f"{b.tao:.2f}"
    assert f"{b:,.3f}" == "1,234.568" and f"{b:>10.1f}|" == "    1234.6|" and f"{b:+.0f}" == "+1235"
    assert f"{b}" == str(b) == "τ1,234.567800000" and format(b) == str(b)
    assert f"{Balance(-TAO // 2):.2f}" == "-0.50"
    huge = Balance(123_456_789_123_456_789)  # 2^56 RAO and more: a float of TAO would lose the last digits
    assert f"{huge:.9f}" == "123456789.123456789"
    for spec in ("d", "x", "s"):
        with pytest.raises(ValueError, match=rf"^'{spec}' is not a format for a Balance: .*b\.rao$"):
            format(b, spec)
