"""A frozen leader (SIGSTOP: alive, its connections open, never answering) is noticed by its replica within seconds
(the feed's quiet, then a bounded ``head``), not after the leader client's 60 s timeout; forwarded writes then fail
at once with NoNode, and the replica follows again once the leader is continued (SIGCONT)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import anyio
import pytest

from taonet.kernel.client import RpcClient
from taonet.kernel.errors import NoNode

from .nodes import node_process, replica

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def _until(ok: object, timeout: float) -> None:
    """Poll ``ok()`` every 50 ms until it is true, at most ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not ok():  # type: ignore[operator]
            await anyio.sleep(0.05)


async def test_a_frozen_leader_is_noticed_in_seconds_and_writes_fail_at_once(tmp_path: Path) -> None:
    """SIGSTOP the leader: within quiet (2 s) + the head's bound (5 s) the replica says the leader does not answer,
    and a forwarded write is refused at once; SIGCONT: it is followed again."""
    with node_process(tmp_path / "leader", "--no-fsync", "--log-level", "warning") as (proc, addresses):
        rep = replica(tmp_path / "replica", addresses["rpc"])
        async with anyio.create_task_group() as tg:
            with anyio.fail_after(20):
                served = await tg.start(rep.run)
            assert rep.state is not None
            await _until(lambda: rep.state.height >= 2, 10)
            try:
                proc.send_signal(signal.SIGSTOP)
                frozen = time.monotonic()
                await _until(lambda: rep.leader_down_since is not None, 15)  # was 2 s + 60 s
                assert time.monotonic() - frozen < 12
                async with RpcClient(served["rpc"], timeout=10.0) as client:
                    assert (await client.call("info"))["leader_reachable"] is False
                    started = time.monotonic()
                    with pytest.raises(NoNode, match="leader has not answered"):
                        await client.call("next_nonce", address=(await client.call("info"))["authority"])
                    assert time.monotonic() - started < 2.0
            finally:
                proc.send_signal(signal.SIGCONT)
            held = rep.state.height
            await _until(lambda: rep.leader_down_since is None and rep.state.height > held, 20)
            tg.cancel_scope.cancel()
