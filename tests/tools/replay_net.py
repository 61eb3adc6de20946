"""A real dev network run for the replay tests: a node with its actors, a subnet of 8 UIDs, 2 validators with stake
setting weights, miners, and more registrations than slots so that neurons are pruned. What `taonet metagraph
--json` printed at some blocks is kept, to compare `replay show` with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import attrs

from taonet.kernel import Subtensor
from taonet.ledger import DEV_SUBNET_DEFAULTS, TAO, Extrinsic, Transfer
from tests.kernel.node.nodes import Wallet, running_node
from tests.tools.processes import TAONET_EXE

HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=4, max_allowed_uids=8, immunity_period=6, weights_rate_limit=1,
                     max_allowed_validators=3)
OWNER = Wallet("Alice")
VALIDATORS = [Wallet(f"rv{i}") for i in range(2)]
MINERS = [Wallet(f"rm{i}") for i in range(8)]
LATE = MINERS[5:]
"""Miners that register once the subnet is full: each replaces a pruned neuron."""


async def _fund(sub: Subtensor, wallets: list[Wallet]) -> None:
    nonce, genesis = await sub.get_nonce(OWNER.coldkey), await sub.genesis_hash()
    exts = [Extrinsic.sign(Transfer(dest=w.coldkey.public_key, amount=1000 * TAO), OWNER.coldkey, nonce=nonce + i,
                           genesis=genesis) for i, w in enumerate(wallets)]
    results = await sub.submit_batch(exts[:-1])
    assert all(r.status == "submitted" for r in results)
    assert (await sub.submit(exts[-1])).success


async def _epochs(sub: Subtensor, count: int) -> None:
    """Wait for ``count`` more epochs of subnet 1 (tempo 4: one every 5 blocks)."""
    await sub.wait_for_block(await sub.get_current_block() + 5 * count + 1)


async def _weights(sub: Subtensor, uids: dict[str, int], miners: list[Wallet]) -> None:
    targets = [uids[m.hotkey.ss58_address] for m in miners if m.hotkey.ss58_address in uids]
    for i, v in enumerate(VALIDATORS):
        r = await sub.set_weights(v, 1, targets, [1.0 + (k * (i + 1)) % 5 for k in range(len(targets))])
        assert r.success, r.message


async def _uids(sub: Subtensor) -> dict[str, int]:
    mg = await sub.metagraph(1)
    return {hk: int(u) for u, hk in enumerate(mg.hotkeys)}


async def build(data_dir: Path) -> dict[str, Any]:
    """Run the network, stop the node, and return what the RPC said: ``{"metagraphs": {block: json}, ...}``."""
    seen: dict[int, Any] = {}
    async with running_node(data_dir, hyper=HYPER, snapshot_every=16) as (node, sub):
        assert (await sub.create_subnet(OWNER)).success
        await _fund(sub, VALIDATORS + MINERS)
        for w in VALIDATORS + MINERS[:5]:  # UIDs 1..7: the subnet is full
            r = await sub.burned_register(w, 1)
            assert r.success, r.message
        for i, v in enumerate(VALIDATORS):
            assert (await sub.add_stake(v, v.hotkey, 100.0 * (i + 1))).success
        await _epochs(sub, 1)
        await _weights(sub, await _uids(sub), MINERS[:5])
        await _epochs(sub, 2)
        for w in LATE:  # each prunes the neuron with the lowest emission past its immunity
            r = await sub.burned_register(w, 1)
            assert r.success, r.message
            await _weights(sub, await _uids(sub), MINERS)
            await _epochs(sub, 1)
        await _epochs(sub, 1)
        head = await sub.get_current_block()
        for n in sorted({3, 17, 33, head // 2, head - 2}):  # what a user sees: the command against the node
            done = await anyio.run_process([TAONET_EXE, "metagraph", "1", "--block", str(n), "--json",
                                            "-e", node.addresses["rpc"]])
            seen[n] = json.loads(done.stdout)
        balance = int((await sub.get_balance(VALIDATORS[0].coldkey, block=head - 2)).rao)
    return {"metagraphs": seen, "head": head, "balance_v0": balance}


def build_sync(data_dir: Path) -> dict[str, Any]:
    """:func:`build` from synchronous code (a module fixture)."""
    return anyio.run(build, data_dir)
