"""A miner notices a validator newer than its view of the chain (asyncio and trio, a real miner, dendrite and dev
node on 127.0.0.1): a caller it does not know as a permitted validator, while its metagraph is older than the head,
makes it sync again at the next block, so a newly permitted validator is answered within a couple of blocks of its
first refusal, not at the miner's next ``metagraph_interval`` sync."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from taonet.kernel import Dendrite, Wallet
from taonet.ledger import Keypair
from taonet.plugins import NeuronConfig, StateDir, load_plugin, run_miner

from ..kernel.node.nodes import running_node

pytestmark = pytest.mark.anyio


def _wallet(root: Path, name: str, cold: str) -> Wallet:
    w = Wallet(name, "default", root / "wallets")
    w.create_coldkey_from_uri(cold, encrypt=False)
    w.create_hotkey_from_uri(f"{cold}//{name}")
    return w


async def test_a_newly_permitted_validator_is_answered_within_a_couple_of_blocks(tmp_path: Path) -> None:
    """A miner syncing its metagraph every 1,000,000 blocks; a validator registered, staked and given its permit
    (an epoch) after the miner started: its first query is refused (403, the miner's view is older), and one of
    its queries a block is answered within 3 blocks of that refusal (it was refused until the miner's next
    scheduled sync); strangers' queries (no permit) stay refused; status.json's metagraph_block moved on."""
    async with running_node(tmp_path / "node") as (_node, sub):
        owner = _wallet(tmp_path, "owner", "//Alice")
        miner, validator = _wallet(tmp_path, "miner", "//Bob"), _wallet(tmp_path, "validator", "//Charlie")
        with anyio.fail_after(30):
            assert (await sub.create_subnet(owner)).success
            assert (await sub.set_hyperparameter(owner, 1, "tempo", 4)).success
            assert (await sub.set_subnet_identity(owner, 1, "template")).success
            assert (await sub.burned_register(miner, 1)).success
        state = StateDir(tmp_path / "state")
        config = NeuronConfig(plugin="template", netuid=1, wallet=miner, endpoint=sub.endpoint, port=0,
                              state_dir=state.path, options={"metagraph_interval": str(10**6)})
        stranger = Keypair.from_uri("//Resync//stranger")
        double = load_plugin("template").protocol.synapses[0]  # the installed plugin's, as a validator finds it
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                axon = await tg.start(run_miner, config)
                r = await sub.burned_register(validator, 1)
                assert r.success and r.uid is not None
                assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
                while not (await sub.metagraph(1)).validator_permit[r.uid]:
                    await sub.wait_for_block()
                started = (state.read_status() or {}).get("metagraph_block")  # the miner's view: from its start
                answers: list[tuple[int, int]] = []  # (block, status) of one validator query a block
                async with Dendrite(validator.hotkey) as d, Dendrite(stranger) as other:
                    for _ in range(12):
                        block = await sub.get_current_block()
                        got = await d(axon, double(number=4), timeout=5.0)
                        answers.append((block, got.dendrite.status_code or 0))
                        if got.dendrite.status_code == 200:
                            assert got.doubled == 8
                            break
                        await sub.wait_for_block(block + 1)
                    refused = await other(axon, double(number=4), timeout=5.0)
                for _ in range(20):  # status.json is rewritten at each block: the sync shows at the next one
                    synced = (state.read_status() or {}).get("metagraph_block")
                    if synced is None or started is None or synced > started:
                        break
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
    assert answers[0][1] == 403, answers  # the miner's view predates the permit
    assert answers[-1][1] == 200, answers
    assert answers[-1][0] - answers[0][0] <= 3, answers
    assert refused.dendrite.status_code == 403
    assert "not a registered validator with a permit" in (refused.dendrite.status_message or "")
    assert started is not None and synced is not None and synced > started
