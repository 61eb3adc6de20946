"""Shared test setup: every async test runs on asyncio and on trio (anyio's pytest plugin)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("taonet", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.load_profile("taonet")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each anyio test once per backend."""
    return request.param
