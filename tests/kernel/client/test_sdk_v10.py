"""The SDK v10 methods subnet authors call, with the SDK's names and argument order, on a real node: neurons and
neurons_lite, get_neuron_for_pubkey_and_subnet, is_hotkey_registered(_on_subnet), blocks_since_last_update, the
existential deposit and transfer fee, add_stake/unstake with a netuid (checked), commitments, typed delegates, the
burn cost."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from taonet.kernel import Balance, DelegateInfo, NeuronInfo
from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.ledger.errors import HotkeyNotRegistered, SubnetNotFound

from ..node.nodes import Wallet, running_node

pytestmark = pytest.mark.anyio


async def test_sdk_v10_reads_and_stake_in_the_sdk_order(tmp_path: Path) -> None:
    """Each method answers with typed values that agree with the metagraph and with one another."""
    owner, miner, staker = Wallet("Alice"), Wallet("Bob"), Wallet("Charlie")
    quiet = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10_000)  # no epoch pays anyone during the test
    async with running_node(tmp_path, hyper=quiet) as (_node, sub):
        cost = await sub.get_subnet_burn_cost()
        assert isinstance(cost, Balance) and cost.rao > 0
        assert (await sub.create_subnet(owner)).success
        assert (await sub.get_subnet_burn_cost()).rao > cost.rao  # the lock doubles after a creation
        assert (await sub.burned_register(miner, 1)).uid == 1
        assert await sub.is_hotkey_registered_on_subnet(miner.hotkey.ss58_address, 1)
        assert await sub.is_hotkey_registered(miner.hotkey.ss58_address, 1)
        assert not await sub.is_hotkey_registered_on_subnet(staker.hotkey.ss58_address, 1)

        assert (await sub.nominate(miner, take=0.1)).success  # others may stake on a delegate only
        # add_stake(wallet, netuid, hotkey_ss58, amount) and unstake(...), as the SDK v10 orders them
        assert (await sub.add_stake(staker, 1, miner.hotkey.ss58_address, Balance.from_tao(5))).success
        assert (await sub.unstake(staker, 1, miner.hotkey.ss58_address, Balance.from_tao(2))).success
        assert (await sub.get_stake(staker.coldkey, miner.hotkey)).rao == 3 * 10**9
        sdk_keywords = await sub.get_stake(coldkey_ss58=staker.coldkey.ss58_address,
                                           hotkey_ss58=miner.hotkey.ss58_address, netuid=1)
        assert sdk_keywords.rao == 3 * 10**9  # the SDK's keyword names (a TypeError before)
        assert (await sub.add_stake(staker, miner.hotkey, 1.0)).success  # our older order still works
        missing = await sub.add_stake(staker, 7, miner.hotkey.ss58_address, 1.0)
        assert not missing.success and isinstance(missing.error, SubnetNotFound)
        elsewhere = await sub.add_stake(staker, 1, staker.hotkey.ss58_address, 1.0)
        assert not elsewhere.success and isinstance(elsewhere.error, HotkeyNotRegistered)

        full, lite = await sub.neurons(1), await sub.neurons_lite(1)
        assert [n.uid for n in full] == [n.uid for n in lite] == [0, 1]
        assert all(isinstance(n, NeuronInfo) for n in full)
        bob = full[1]
        assert bob.hotkey == miner.hotkey.ss58_address and bob.coldkey == miner.coldkey.ss58_address
        assert bob.stake.rao == 4 * 10**9 and bob.total_stake == bob.stake
        mg = await sub.metagraph(1, block=bob.block)
        assert [n.stake.rao for n in full] == [round(s * 10**9) for s in mg.S]
        assert [n.last_update for n in full] == [int(x) for x in mg.last_update]
        found = await sub.get_neuron_for_pubkey_and_subnet(miner.hotkey.ss58_address, 1)
        assert found is not None and found.uid == 1 and found.hotkey == bob.hotkey
        assert await sub.get_neuron_for_pubkey_and_subnet(staker.hotkey.ss58_address, 1) is None
        since = await sub.blocks_since_last_update(1, 1)
        assert since is not None and since >= (await sub.get_current_block()) - found.last_update - 1
        assert await sub.blocks_since_last_update(1, 99) is None

        assert (await sub.get_existential_deposit()).rao == 500
        assert await sub.get_transfer_fee(owner, staker.coldkey.ss58_address, Balance.from_tao(1)) == Balance(0)

        committed = await sub.set_commitment(miner, 1, "tcp://10.0.0.7:8091 model=sha256:ab12")
        assert committed.success, committed.message
        assert await sub.get_commitment(1, 1) == "tcp://10.0.0.7:8091 model=sha256:ab12"
        assert await sub.get_commitment(1, 1, block=committed.block - 1) == ""  # before it was committed
        assert await sub.get_commitment(1, 0) == ""
        refused = await sub.set_commitment(staker, 1, "not registered")  # the node admits only registered hotkeys
        assert not refused.success and "registered on subnet 1" in refused.message
        too_long = await sub.set_commitment(miner, 1, "x" * 2000)  # a rejected result, as every write's bad input
        assert not too_long.success and "1024 characters" in too_long.message, too_long.message

        delegates = await sub.get_delegates()
        assert delegates == [DelegateInfo(hotkey_ss58=miner.hotkey.ss58_address, owner_ss58=miner.coldkey.ss58_address,
                                          take=round(0.1 * 0xFFFF) / 0xFFFF, total_stake=Balance(4 * 10**9),
                                          nominators=1)]
