"""A setup step whose outcome does not come in time (the node stopped answering, or restarted and forgot its mempool:
a chaos QA pass killed a localnet's node during its setup) is SetupTimedOut, exit 4 with the command that resumes the
network, not LaunchFailed ("the chain refused a step", exit 3). A real node process that does not seal in time."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel import Subtensor
from taonet.ledger import TAO, Keypair, Transfer
from taonet.tools.errors import exit_status
from taonet.tools.launcher._setup import FUNDER, _batch
from taonet.tools.launcher.errors import LaunchFailed, SetupTimedOut

from ..kernel.node.nodes import node_process

pytestmark = pytest.mark.anyio


async def test_a_step_with_no_outcome_in_time_is_a_timeout_not_a_refusal(tmp_path: Path) -> None:
    with node_process(tmp_path / "node", block_time=60) as (_proc, addresses):  # no block within the wait
        async with Subtensor(addresses["rpc"], timeout=10) as sub:
            with anyio.fail_after(30), pytest.raises(SetupTimedOut) as info:
                await _batch(sub, Keypair.from_uri(FUNDER), [Transfer(dest=bytes(32), amount=TAO)],
                             "funding wallets", wait=1.0)
    e = info.value
    assert not isinstance(e, LaunchFailed) and exit_status(e) == 4
    assert str(e).startswith(f"setting up the network timed out at funding wallets: no outcome within 1 s (the node "
                             f"at {addresses['rpc']} stopped answering or restarted meanwhile); start it again with:")

