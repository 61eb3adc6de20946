"""Metagraph's constructor refuses what Bittensor users pass it that cannot work here, saying what to use."""

from __future__ import annotations

import pytest


def test_a_metagraph_refuses_a_network_name_and_takes_an_async_or_a_blocking_client() -> None:
    """Bittensor's Metagraph(1, "local") would give a sync() that never works (an AttributeError deep inside): refused
    at once, naming sub.metagraph; Metagraph(1, subtensor()) is taken now that sync() blocks through a blocking
    client (it was refused)."""
    from taonet.kernel import Metagraph, blocking

    class Reader:
        timeout = 1.0

        async def call(self, method: str, timeout: float | None = None, **params: object) -> object:
            return None

    for bad in ("local", object()):
        with pytest.raises(TypeError, match=r"sub\.metagraph\(netuid\)"):
            Metagraph(1, bad)  # type: ignore[arg-type]
    assert Metagraph(1, Reader()).n == 0  # an async reader
    with blocking(Reader()) as sync_reader:
        assert Metagraph(1, sync_reader).subtensor is sync_reader  # type: ignore[arg-type]
