"""Metagraph's constructor refuses what Bittensor users pass it that cannot work here, saying what to use."""

from __future__ import annotations

import pytest


def test_a_metagraph_refuses_a_network_name_or_a_blocking_client_and_says_what_to_use() -> None:
    """Bittensor's Metagraph(1, "local") and Metagraph(1, subtensor=subtensor()) would give a sync() that never works
    (an AttributeError deep inside, or a coroutine nobody awaits): both are refused at once, naming sub.metagraph."""
    from taonet.kernel import Metagraph, blocking

    class Reader:
        timeout = 1.0

        async def call(self, method: str, timeout: float | None = None, **params: object) -> object:
            return None

    with blocking(Reader()) as sync_reader:
        for bad in ("local", object(), sync_reader):
            with pytest.raises(TypeError, match=r"sub\.metagraph\(netuid\)"):
                Metagraph(1, bad)  # type: ignore[arg-type]
    assert Metagraph(1, Reader()).n == 0  # an async reader is what it takes
