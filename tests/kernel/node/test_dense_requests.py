"""A request that would decode to far more memory than its size is refused by a running node's RPC server before it
is decoded: the client gets MessageTooDense (the error crosses the socket typed) and the node goes on answering."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel.client import RpcClient
from taonet.ledger.errors import MessageTooDense

from .nodes import running_node

pytestmark = pytest.mark.anyio


async def test_a_dense_request_gets_message_too_dense_and_the_node_answers_the_next(tmp_path: Path) -> None:
    """A "head" request whose params hold 512 Ki empty maps (512 KiB on the wire, ~36 MiB decoded) is answered
    with MessageTooDense naming its size; the same client's next request is answered."""
    async with running_node(tmp_path, block_time=0.2) as (_node, sub):
        client = RpcClient(sub.endpoint, timeout=10.0)
        try:
            with anyio.fail_after(20):
                with pytest.raises(MessageTooDense) as info:
                    await client.call("head", junk=[{}] * (512 << 10))
                assert info.value.size > 512 << 10 and "refused" in str(info.value)
                head = await client.call("head")
                assert type(head["number"]) is int
        finally:
            client.close()
