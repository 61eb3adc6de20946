"""One organic query through a validator's gateway that must be refused (the plugin-mistake tests' shared flow)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs


async def refused_organic(sub: Any, config: Any, deadline: float) -> tuple[Exception, list[dict[str, Any]]]:
    """Run the validator of ``config`` (subnet 1, with a gateway) until the chain shows an axon serving, ask its
    gateway `prompt 7`, which must raise QueryRefused, then stop it; (the refusal, the logs captured meanwhile), all
    within ``deadline`` seconds."""
    from taonet.plugins import aprompt, run_validator
    from taonet.plugins.errors import QueryRefused

    with capture_logs() as logs, anyio.fail_after(deadline):
        async with anyio.create_task_group() as tg:
            await tg.start(run_validator, config)
            while not any(a.is_serving for a in (await sub.metagraph(1)).axons):
                await sub.wait_for_block()
            with pytest.raises(QueryRefused) as refused:
                await aprompt(1, "7", endpoint=sub.endpoint, timeout=5.0)
            tg.cancel_scope.cancel()
    return refused.value, logs
