"""Subtensor refuses a timeout past its bound saying the bound (it said only "must be a positive number of
seconds")."""

from __future__ import annotations

import pytest

from taonet.kernel.client import Subtensor


@pytest.mark.parametrize("timeout", [1e9, 1e6])
def test_a_subtensor_timeout_past_the_bound_is_refused_naming_it(timeout: float) -> None:
    """1e9 and 1e6 seconds: ValueError saying timeouts are under 1e6 seconds (nothing is dialed)."""
    with pytest.raises(ValueError, match=r"under 1e6 \(about 11 days\), got "):
        Subtensor("local", timeout=timeout)
