"""What a Bittensor user passes to Subtensor: numpy scalars and arrays work; what is wrong gives a typed error that
says what to pass (InvalidAmount, InvalidAddress, an InvalidWeights rejection), never a bare error from deep inside."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs
import numpy as np
import pytest

from taonet.kernel import Axon, Balance, Subtensor
from taonet.kernel.errors import (
    BadAddress,
    BlockWaitTimeout,
    InvalidAmount,
    NoNode,
    NotAWallet,
    RpcBadRequest,
)
from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.ledger.errors import InvalidAddress, InvalidWeights

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio

TAO = 10**9


async def test_amounts_of_every_numeric_kind_and_typed_refusals(tmp_path: Path) -> None:
    """numpy floats are TAO and numpy integers RAO, as Python's; negative, nan, inf, bool, None are InvalidAmount."""
    alice, bob = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path) as (_node, sub):
        before = await sub.get_balance(bob.coldkey)
        for amount in (np.float32(1.5), np.int64(TAO), Decimal("0.25"), "0.25"):
            assert (await sub.transfer(alice, bob.coldkey.ss58_address, amount)).success, amount
        assert (await sub.get_balance(bob.coldkey)) - before == Balance.from_tao(3)
        for bad in (-1, -1.0, float("nan"), float("inf"), True, None, [1], 2**64):
            with pytest.raises(InvalidAmount, match=r"Balance\.from_tao"):
                await sub.transfer(alice, bob.coldkey.ss58_address, bad)


async def test_an_address_that_is_no_address_is_invalid_address(tmp_path: Path) -> None:
    """An int, None, 31 bytes or a bad checksum are InvalidAddress (a ValueError), saying what an address is."""
    ss58 = Wallet("Bob").coldkey.ss58_address
    async with running_node(tmp_path) as (_node, sub):
        for bad in (123, None, b"\x00" * 31, ss58[:-1] + ("A" if ss58[-1] != "A" else "B")):
            with pytest.raises(InvalidAddress):
                await sub.get_balance(bad)
        with pytest.raises(InvalidAddress, match="SS58 string, a Keypair"):
            await sub.get_stake(object(), ss58)


async def test_numpy_netuids_uids_and_weights_work_and_bad_weights_are_rejected(tmp_path: Path) -> None:
    """A UID from metagraph.uids (numpy int64) and float32 weights work; nan, a 2-D array or a negative UID are an
    InvalidWeights rejection before anything is signed."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    quiet = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10_000)
    async with running_node(tmp_path, hyper=quiet) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        netuid = np.int64(1)
        assert (await sub.burned_register(miner, netuid)).uid == 1
        assert await sub.tempo(netuid) == 10_000
        mg = await sub.metagraph(netuid)
        assert await sub.get_commitment(netuid, mg.uids[1]) == ""
        assert await sub.blocks_since_last_update(netuid, mg.uids[1]) is not None
        done = await sub.set_weights(owner, netuid, mg.uids, np.array([0.25, 0.75], dtype=np.float32))
        assert done.success, done.message
        for uids, weights, reason in (([0, 1], [float("nan"), 1.0], "finite"),
                                      (np.array([[0, 1]]), np.array([[1.0, 1.0]]), "1-D"),
                                      ([-1], [1.0], "0..65535"),
                                      ([0, 1], [-1.0, 1.0], "non-negative")):
            bad = await sub.set_weights(owner, netuid, uids, weights)
            assert not bad.success and isinstance(bad.error, InvalidWeights), bad
            assert reason in bad.message and bad.hash == b""


async def test_the_sdk_v10_keywords_and_argument_orders_work(tmp_path: Path) -> None:
    """get_stake(coldkey, hotkey, netuid) reads the stake (it read at block=netuid: τ0); writes take
    wait_for_finalization, period and destination_ss58, and raise_error=True raises the typed rejection;
    metagraph takes mechid=0; a numpy netuid is a netuid in add_stake."""
    owner, staker = Wallet("Alice"), Wallet("Bob")
    quiet = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10_000)
    async with running_node(tmp_path, hyper=quiet) as (_node, sub):
        assert (await sub.create_subnet(owner, wait_for_finalization=True, period=16)).success
        assert await sub.get_total_subnets() == 1
        hot = owner.hotkey.ss58_address
        assert (await sub.nominate(owner, wait_for_finalization=False)).success
        assert (await sub.add_stake(staker, np.int64(1), hot, Balance.from_tao(2))).success
        assert await sub.get_stake(staker.coldkey.ss58_address, hot, 1) == Balance.from_tao(2)
        assert await sub.get_stake(staker.coldkey.ss58_address, hot, netuid=1) == Balance.from_tao(2)
        sent = await sub.transfer(owner, destination_ss58=staker.coldkey.ss58_address, amount=Balance.from_tao(1),
                                  wait_for_finalization=True)
        assert sent.success
        with pytest.raises(InvalidAmount):
            await sub.transfer(owner, staker.coldkey.ss58_address, -1, raise_error=True)
        refused = await sub.burned_register(staker, 7)
        assert not refused.success
        with pytest.raises(type(refused.error)):
            await sub.burned_register(staker, 7, raise_error=True)
        axon = Axon(owner.hotkey, "tcp://127.0.0.1:0", external_ip="203.0.113.7", external_port=8091)
        assert (await sub.serve_axon(1, axon, wait_for_finalization=True)).success  # the SDK's (netuid, axon)
        mg = await sub.metagraph(1, mechid=0)
        assert mg.n == 1 and (mg.axons[0].ip, mg.axons[0].port) == ("203.0.113.7", 8091)
        everywhere = Axon(owner.hotkey, "tcp://0.0.0.0:0")  # the SDK's Axon(wallet, port=...) names no address
        nowhere = await sub.serve_axon(1, everywhere)
        assert not nowhere.success and "external_ip" in str(nowhere.error)  # it published 0.0.0.0: not serving
        assert (await sub.metagraph(1)).axons[0].ip == "203.0.113.7"  # the address before stands
        with pytest.raises(TypeError, match="lite=True by keyword"):
            await sub.metagraph(1, True)
        with pytest.raises(NotAWallet, match="no coldkey Keypair"):
            await sub.transfer(owner.coldkey.ss58_address, staker.coldkey.ss58_address, 1.0)


async def test_network_is_the_sdks_name_for_the_endpoint_and_bittensor_networks_are_refused(tmp_path: Path) -> None:
    """Subtensor(network=...) connects like Subtensor(endpoint); "finney" or "test" is a BadAddress at once that
    says this is a Bittensor network (it dialed tcp://finney and failed with 'Address invalid')."""
    async with running_node(tmp_path) as (_node, sub), Subtensor(network=sub.endpoint) as named:
        assert await named.get_current_block() >= 0
    for name in ("finney", "test"):
        with pytest.raises(BadAddress, match="a Bittensor network name"):
            Subtensor(network=name)
    with pytest.raises(TypeError, match="not both"):
        Subtensor("local", network="local")
    for timeout in (0, -1, float("nan"), "5", None):  # they failed on the first call: 0.001 s, a TypeError
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            Subtensor("local", timeout=timeout)  # type: ignore[arg-type]


async def test_a_block_that_does_not_come_is_a_block_wait_timeout_that_says_so(tmp_path: Path) -> None:
    """wait_for_block past its timeout raises BlockWaitTimeout (still a TimeoutError) naming the block, the timeout
    and the head (it was a TimeoutError with no message); a block that is no number is a TypeError saying so."""
    async with running_node(tmp_path) as (_node, sub):
        head = await sub.wait_for_block()
        late = r"block \d+ did not come within 0\.3 s \(the last head seen was \d+\)"
        with pytest.raises(BlockWaitTimeout, match=late):
            await sub.wait_for_block(head + 10**6, timeout=0.3)
        with pytest.raises(TimeoutError):
            await sub.wait_for_block(head + 10**6, timeout=0.1)
        with pytest.raises(TypeError, match="block must be a block number"):
            await sub.wait_for_block("soon")  # type: ignore[arg-type]
        for timeout in (-1, float("nan"), float("inf"), "5"):  # -1 said "did not come within -1 s"
            with pytest.raises(ValueError, match="timeout must be a number of seconds >= 0"):
                await sub.wait_for_block(head + 10**6, timeout=timeout)  # type: ignore[arg-type]
        assert await sub.wait_for_block(np.int64(head)) >= head
        for bad in (b"x", "not hex", None):  # they waited out the timeout, then said "timeout"
            with pytest.raises(RpcBadRequest, match="32-byte hash"):
                await sub.wait_for_outcome(bad, timeout=30)  # type: ignore[arg-type]
        unknown = await sub.wait_for_outcome("00" * 32, timeout=0.5)  # hex works; nobody submitted it
        assert unknown.status == "timeout" and unknown.hash == bytes(32)
    async with Subtensor("127.0.0.1:1") as nobody:  # no node: NoNode, even when the wait is shorter than 3 s
        with pytest.raises(NoNode, match=r"no node at tcp://127\.0\.0\.1:1 "):
            await nobody.wait_for_block(timeout=0.5)
