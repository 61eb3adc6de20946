"""What a script written for Bittensor's SDK does with the client works here, or fails at once saying what to use:
metagraph.sync(subtensor=...), AsyncSubtensor and initialize(), wait_for_inclusion on every write, mg.n.item(), a
missing UID, neuron() as NeuronInfo, hyperparameters as attributes, a take as a fraction, `sent` of a write refused
before signing, the SDK's read names, http:// and portless endpoints, and a netuid given as text."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from taonet.kernel import Metagraph, NeuronInfo, Subtensor, client, subtensor
from taonet.kernel.client import resolve_endpoint
from taonet.kernel.errors import BadAddress
from taonet.ledger.errors import InvalidCall, InvalidWeights, SubnetNotFound

from ..node.nodes import Wallet, node_process
from .servers import free_address

OWNER, VALIDATOR, OTHER = Wallet("Alice"), Wallet("Bob"), Wallet("Charlie")


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dev node process with subnet 1 (Alice's) where Bob's hotkey holds UID 1."""
    with node_process(tmp_path_factory.mktemp("node"), block_time=0.1) as (_proc, addresses):
        with subtensor(addresses["rpc"], timeout=20) as sub:
            assert sub.create_subnet(OWNER).success
            assert sub.burned_register(VALIDATOR, 1).uid == 1
        yield addresses["rpc"]


def both_backends(main: Any) -> None:
    for backend in ("asyncio", "trio"):
        anyio.run(main, backend=backend)


def test_a_metagraph_made_with_a_blocking_client_syncs_through_it_from_sync_and_async_code(endpoint: str) -> None:
    """Bittensor's Metagraph(netuid, subtensor=subtensor()): its sync() blocks in a script and is awaited in async
    code, through the blocking client it was given (the constructor refused it)."""
    with subtensor(endpoint, timeout=20) as sub:
        mg = Metagraph(1, sub)
        assert mg.sync() is mg and mg.n >= 2 and mg.hotkeys[1] == VALIDATOR.hotkey.ss58_address
        head = sub.wait_for_block(mg.block + 1)
        assert mg.sync(lite=False) is mg and mg.block >= head and mg.W.shape == (mg.n, mg.n)

        async def main() -> None:
            m = Metagraph(1, sub)
            assert await m.sync() is m and m.n == mg.n

        both_backends(main)


def test_metagraph_sync_takes_a_blocking_or_async_subtensor_from_sync_and_async_code(endpoint: str,
                                                                                    tmp_path: Path) -> None:
    """The template's metagraph.sync(subtensor=self.subtensor) works with the blocking client that made the
    metagraph (anyio's "cannot be called from the event loop thread" before), another blocking client ("object dict
    can't be used in 'await' expression"), and an async one from async code; a loaded metagraph's sync() in sync code
    blocks through a blocking client, and with none raises a TypeError saying what to pass (it handed back a
    coroutine nobody awaited)."""
    with subtensor(endpoint, timeout=20) as sub, subtensor(endpoint, timeout=20) as other:
        mg = sub.metagraph(1)
        mg.save(tmp_path)
        head = sub.wait_for_block(mg.block + 2)
        assert mg.sync(subtensor=sub) is mg and mg.block >= head and mg.n >= 2
        head = sub.wait_for_block(mg.block + 1)
        assert mg.sync(subtensor=other) is mg and mg.block >= head
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no coroutine left unawaited
            with pytest.raises(TypeError, match=r"subtensor\(\)"):
                Metagraph(1).load(tmp_path).sync()
            loaded = Metagraph(1).load(tmp_path).sync(subtensor=sub)
        assert isinstance(loaded, Metagraph) and loaded.block > head - 1 and loaded.n == mg.n

        async def main() -> None:
            async with client.AsyncSubtensor(endpoint, timeout=20) as s:
                bare = Metagraph(1).load(tmp_path)
                assert await bare.sync(subtensor=sub) is bare and bare.block > head - 1  # blocking, from async code
                m = await s.metagraph(1)
                assert await m.sync(subtensor=s) is m and m.n == mg.n

        both_backends(main)


def test_async_subtensor_is_subtensor_with_initialize_and_block(endpoint: str) -> None:
    """`await AsyncSubtensor(...).initialize()` connects and returns the client; `await s.block` and the blocking
    `sub.block` are the head (both were an AttributeError)."""
    assert client.AsyncSubtensor is Subtensor

    async def main() -> None:
        s = await client.AsyncSubtensor(endpoint, timeout=20).initialize()
        try:
            assert isinstance(s, Subtensor) and await s.block >= 1
        finally:
            await s.close()

    both_backends(main)
    with subtensor(endpoint, timeout=20) as sub:
        assert sub.initialize() is sub
        assert isinstance(sub.block, int) and sub.block >= sub.get_current_block() - 1


def test_every_write_takes_wait_for_inclusion_as_transfer_does(endpoint: str) -> None:
    """wait_for_inclusion=False returns "submitted" at once from every write (a TypeError from most before; add_stake
    and unstake waited and said included), and the outcome can be waited for later."""
    with subtensor(endpoint, timeout=20) as sub:
        hot = VALIDATOR.hotkey.ss58_address
        writes = [
            lambda: sub.register_subnet(OTHER, wait_for_inclusion=False),
            lambda: sub.burned_register(OTHER, 1, wait_for_inclusion=False),
            lambda: sub.serve_axon(VALIDATOR, 1, ip="127.0.0.1", port=8091, wait_for_inclusion=False),
            lambda: sub.set_commitment(VALIDATOR, 1, "model=1", wait_for_inclusion=False),
            lambda: sub.set_hyperparameter(OWNER, 1, "weights_rate_limit", 0, wait_for_inclusion=False),
            lambda: sub.nominate(VALIDATOR, take=0.1, wait_for_inclusion=False),
            lambda: sub.add_stake(VALIDATOR, 1, hot, 2.0, wait_for_inclusion=False),
            lambda: sub.unstake(VALIDATOR, 1, hot, 1.0, wait_for_inclusion=False),
            lambda: sub.transfer(OWNER, OTHER.coldkey.ss58_address, 1.0, wait_for_inclusion=False),
        ]
        for write in writes:
            result = write()
            assert result.status == "submitted" and len(result.hash) == 32, result
            assert sub.wait_for_outcome(result.hash, timeout=20).status == "included"


def test_metagraph_n_and_block_answer_item_and_stay_ints(endpoint: str) -> None:
    """mg.n.item() and mg.block.item() (the template's get_random_uids) work (an AttributeError before); n and block
    are still ints for JSON, range and arithmetic."""
    with subtensor(endpoint, timeout=20) as sub:
        mg = sub.metagraph(1)
        n = len(mg.hotkeys)  # 2, or 3 once the writes' test registered another hotkey
        assert mg.n.item() == n and type(mg.n.item()) is int and mg.block.item() == mg.block
        assert json.loads(json.dumps({"n": mg.n, "block": mg.block})) == {"n": n, "block": int(mg.block)}
        assert list(range(mg.n)) == list(range(n)) and mg.n + 1 == n + 1 and isinstance(mg.n, int)
        assert repr(mg.n) == str(n)
    assert Metagraph(1).n.item() == 0


@pytest.mark.anyio
async def test_a_missing_uid_in_set_weights_says_it_is_missing_and_nothing_was_sent() -> None:
    """A None UID (get_uid_for_hotkey_on_subnet of an unregistered hotkey) is named as missing (it said "uids must be
    finite numbers"); uids and weights of different lengths are refused before signing, sent False (it was True)."""
    async with Subtensor(free_address(), timeout=5) as sub:  # no node: nothing here may need one
        missing = await sub.set_weights(VALIDATOR, 1, [0, None], [0.5, 0.5], commit_reveal=False)
        assert isinstance(missing.error, InvalidWeights) and "UID is missing (None at position 1)" in missing.message
        assert "get_uid_for_hotkey_on_subnet" in missing.message and not missing.sent
        short = await sub.set_weights(VALIDATOR, 1, [0, 1], [1.0], commit_reveal=False)
        assert isinstance(short.error, InvalidWeights) and short.hash == b"" and not short.sent


@pytest.mark.anyio
async def test_nominate_refuses_a_take_outside_zero_to_one_naming_the_fraction() -> None:
    """take=2.0 is a rejected InvalidCall saying a take is a fraction in [0, 1], before signing (it was a ValueError
    about 131070)."""
    async with Subtensor(free_address(), timeout=5) as sub:
        for take in (2.0, -0.1, float("nan"), "0.1"):
            r = await sub.nominate(VALIDATOR, take=take)  # type: ignore[arg-type]
            assert r.status == "rejected" and isinstance(r.error, InvalidCall) and not r.sent
            assert "fraction in [0, 1]" in r.message


def test_neuron_is_a_neuron_info_and_hyperparameters_read_as_attributes(endpoint: str) -> None:
    """sub.neuron(netuid, uid) is a NeuronInfo as neurons_lite gives (the raw map before: 32 raw bytes, int RAO),
    still readable by the map's keys; get_subnet_hyperparameters() reads as attributes too and stays a dict."""
    with subtensor(endpoint, timeout=20) as sub:
        n = sub.neuron(1, 1)
        assert isinstance(n, NeuronInfo) and n.hotkey == VALIDATOR.hotkey.ss58_address and n.uid == 1
        lite = sub.neurons_lite(1, block=n.block)[1]
        assert (n.hotkey, n.coldkey, n.stake, n.block, n.active) == (lite.hotkey, lite.coldkey, lite.stake,
                                                                     lite.block, lite.active)
        assert n["hotkey"] == VALIDATOR.hotkey.public_key and n["uid"] == 1 and "weights" in n.raw
        assert sub.neuron(1, 7) is None and sub.neuron(1, hotkey=Wallet("Nobody").hotkey.ss58_address) is None
        assert sub.neuron_for_uid(1, 1).hotkey == n.hotkey  # the SDK's name and order: uid, netuid
        hp = sub.get_subnet_hyperparameters(1)
        assert hp.commit_reveal_weights_enabled is hp["commit_reveal_weights_enabled"] is False
        assert isinstance(hp, dict) and hp.tempo == hp["tempo"]
        with pytest.raises(AttributeError, match="tempo"):
            hp.no_such_parameter  # noqa: B018


def test_a_write_refused_before_signing_says_nothing_was_sent(endpoint: str) -> None:
    """add_stake to a subnet that does not exist is refused before signing: sent False (True before)."""
    with subtensor(endpoint, timeout=20) as sub:
        r = sub.add_stake(VALIDATOR, 999, VALIDATOR.hotkey.ss58_address, 1.0)
        assert isinstance(r.error, SubnetNotFound) and r.hash == b"" and not r.sent


def test_the_sdk_read_names_answer_or_name_the_taonet_spelling(endpoint: str) -> None:
    """get_hotkey_owner, does_hotkey_exist, get_netuids_for_hotkey, commit_reveal_enabled, weights, bonds,
    neuron_for_uid, get_all_subnets_info, immunity_period, get_subnet_owner_hotkey answer (each an AttributeError
    before); an SDK name taonet lacks is an AttributeError naming what to use."""
    with subtensor(endpoint, timeout=20) as sub:
        hot = VALIDATOR.hotkey.ss58_address
        assert sub.get_hotkey_owner(hot) == VALIDATOR.coldkey.ss58_address
        assert sub.does_hotkey_exist(hot) and not sub.does_hotkey_exist(Wallet("Nobody").hotkey.ss58_address)
        assert sub.get_hotkey_owner(Wallet("Nobody").hotkey.ss58_address) is None
        assert 1 in sub.get_netuids_for_hotkey(hot)
        assert sub.commit_reveal_enabled(1) is False
        assert sub.immunity_period(1) == sub.get_subnet_hyperparameters(1)["immunity_period"]
        assert sub.get_subnet_owner_hotkey(1) == OWNER.hotkey.ss58_address
        infos = sub.get_all_subnets_info()
        assert infos[0].netuid == infos[0]["netuid"] == 1
        assert sub.neuron_for_uid(0, 1).hotkey == OWNER.hotkey.ss58_address
        assert sub.weights(1) == [] and sub.bonds(1) == []  # nobody set weights on this subnet
        with pytest.raises(AttributeError, match=r"sub\.metagraph\(netuid\)"):
            sub.get_metagraph_info(1)


def test_hyperparameter_names_and_tx_rate_limit_say_where_they_are_read() -> None:
    """The SDK reads some hyperparameters as methods (and a chain-wide tx_rate_limit): a name taonet keeps in the
    subnet's hyperparameters says how to read it there, tx_rate_limit that there is none (both were plain
    "'Subtensor' object has no attribute" errors); an unknown name stays Python's."""
    sub = Subtensor(free_address())  # nothing is called: no node needed
    with pytest.raises(AttributeError, match=r"^Subtensor has no serving_rate_limit: it is a subnet hyperparameter, "
                                             r"sub\.get_subnet_hyperparameters\(netuid\)\.serving_rate_limit$"):
        sub.serving_rate_limit  # noqa: B018
    with pytest.raises(AttributeError, match=r"no tx_rate_limit: taonet has no chain-wide transaction rate limit"):
        sub.tx_rate_limit  # noqa: B018
    with pytest.raises(AttributeError, match=r"^'Subtensor' object has no attribute 'no_such_name'$"):
        sub.no_such_name  # noqa: B018
    assert callable(sub.tempo)  # a hyperparameter taonet reads by method as the SDK does stays that method


def test_endpoints_name_a_wrong_scheme_or_a_missing_port() -> None:
    """http://HOST:PORT says to use tcp://HOST:PORT (nng said "Not supported"); a host without a port says so."""
    with pytest.raises(BadAddress, match=r"http:// is no scheme .* use tcp://127\.0\.0\.1:19744"):
        resolve_endpoint("http://127.0.0.1:19744")
    with pytest.raises(BadAddress, match=r"tcp://localhost names no port: give HOST:PORT, e\.g\. localhost:9944"):
        subtensor("localhost")
    assert resolve_endpoint("localhost:9944") == "tcp://localhost:9944"
    assert resolve_endpoint("ipc:///tmp/node.ipc") == "ipc:///tmp/node.ipc"


@pytest.mark.anyio
async def test_a_netuid_given_as_text_is_a_type_error_before_any_io() -> None:
    """A netuid of "1" is one TypeError everywhere, before any I/O (there is no node here: any request would end in
    NoNode): it was a local TypeError, a rejected result or the node's RpcBadRequest, depending on the method."""
    async with Subtensor(free_address(), timeout=5) as sub:
        calls = [lambda: sub.burned_register(VALIDATOR, "1"), lambda: sub.set_weights(VALIDATOR, "1", [0], [1.0]),
                 lambda: sub.metagraph("1"), lambda: sub.tempo("1"), lambda: sub.neuron("1", 0),
                 lambda: sub.add_stake(VALIDATOR, "1", VALIDATOR.hotkey.ss58_address, 1.0),
                 lambda: sub.serve_axon(VALIDATOR, "1", ip="127.0.0.1", port=1)]
        for call in calls:
            with anyio.fail_after(1), pytest.raises(TypeError, match=r"netuid must be an integer.*int\('1'\)"):
                await call()
