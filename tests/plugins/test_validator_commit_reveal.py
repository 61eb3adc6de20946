"""The validator neuron on a commit-reveal subnet (in process, asyncio and trio, real dev node): it commits, keeps
the reveal (salt included) in its state directory, and a validator restarted between commit and reveal still
reveals in the window; a window missed while it was down is logged once with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Subtensor, Wallet
from taonet.ledger import DEV_SUBNET_DEFAULTS
from taonet.plugins import NeuronConfig, StateDir, run_miner, run_validator

from ..kernel.node.nodes import dev_wallet, running_node

pytestmark = pytest.mark.anyio

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True, commit_reveal_period=2)


async def _setup(sub: Subtensor, tmp_path: Path) -> tuple[Wallet, Wallet]:
    owner = dev_wallet(tmp_path, "owner", "//Alice")
    miner = dev_wallet(tmp_path, "miner", "//Bob")
    validator = dev_wallet(tmp_path, "validator", "//Charlie")
    with anyio.fail_after(60):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        assert (await sub.burned_register(validator, 1)).uid == 2
        assert (await sub.add_stake(validator, validator.hotkey.ss58_address, 100.0)).success
    return miner, validator


async def _run_until(sub: Subtensor, tmp_path: Path, miner: Wallet, validator: Wallet, logs: list[dict[str, Any]],
                     event: str) -> None:
    """Run the miner and the validator until the validator logs ``event``, then stop both."""
    common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
    async with anyio.create_task_group() as tg:
        await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common))
        await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=tmp_path / "state" / "validator",
                                                   options={"weights_interval": "1", "alpha": "0.5"}, **common))
        while not any(e["event"] == event for e in logs):
            await sub.wait_for_block()
        tg.cancel_scope.cancel()


async def test_a_validator_restarted_between_commit_and_reveal_reveals_in_the_window(tmp_path: Path) -> None:
    """The first run commits and stops before the window opens (period 2: eleven blocks at least); the reveal is in
    reveals.json with its salt; the second run reveals that very commit in its window and the weights count."""
    async with running_node(tmp_path / "node", hyper=CR) as (_node, sub):
        miner, validator = await _setup(sub, tmp_path)
        vdir = StateDir(tmp_path / "state" / "validator")
        with capture_logs() as first, anyio.fail_after(60):
            await _run_until(sub, tmp_path, miner, validator, first, "weights.committed")
        committed = [e for e in first if e["event"] == "weights.committed"]
        assert "weights.revealed" not in [e["event"] for e in first]
        saved = vdir.load_reveals()
        assert saved and len(bytes.fromhex(saved[0]["salt"])) == 16
        assert saved[0]["block"] == committed[0]["block"]
        pending = (await sub.get_weight_commits(1)).get(validator.hotkey.ss58_address, ())
        assert committed[0]["block"] in [c.block for c in pending]
        assert (await sub.neuron(1, 2))["weights"] == [[], []]  # nothing counts before the reveal

        with capture_logs() as second, anyio.fail_after(60):
            await _run_until(sub, tmp_path, miner, validator, second, "weights.revealed")
        revealed = [e for e in second if e["event"] == "weights.revealed"]
        assert revealed[0]["committed_at"] == committed[0]["block"]
        first_window = saved[0]["reveal_from"], saved[0]["reveal_until"]
        assert first_window[0] <= revealed[0]["block"] <= first_window[1]
        assert "weights.reveal_missed" not in [e["event"] for e in second]
        assert (await sub.neuron(1, 2))["weights"] != [[], []]


async def test_a_window_missed_while_down_is_logged_once_with_the_reason(tmp_path: Path) -> None:
    """A validator that comes back after its commit's window closed logs weights.reveal_missed once, saying when the
    window closed, and forgets that reveal."""
    async with running_node(tmp_path / "node", hyper=CR) as (_node, sub):
        miner, validator = await _setup(sub, tmp_path)
        vdir = StateDir(tmp_path / "state" / "validator")
        with capture_logs() as first, anyio.fail_after(60):
            await _run_until(sub, tmp_path, miner, validator, first, "weights.committed")
        saved = vdir.load_reveals()
        gone = saved[0]["reveal_until"]
        await sub.wait_for_block(gone + 1, timeout=60)
        with capture_logs() as second, anyio.fail_after(60):
            await _run_until(sub, tmp_path, miner, validator, second, "weights.reveal_missed")
            missed = [e for e in second if e["event"] == "weights.reveal_missed"]
        assert [e["committed_at"] for e in missed].count(saved[0]["block"]) == 1
        assert missed[0]["log_level"] == "warning" and f"closed at block {gone}" in missed[0]["reason"]
        assert saved[0]["block"] not in [r["block"] for r in vdir.load_reveals()]


HOLDERS = [f"//{name}" for name in ("Dave", "Eve", "Ferdie", "Bob", "Charlie", "Alice")]
"""The funded development keys; :func:`_more_holders` funds one more key from each."""


async def _more_holders(sub: Subtensor) -> list[str]:
    """Fund a new key from each development key (one transfer each, all queued at once: one signer each)."""
    from taonet.ledger import TAO, Keypair, Transfer

    new = [f"{uri}//holder" for uri in HOLDERS]
    with anyio.fail_after(60):
        for uri, to in zip(HOLDERS, new, strict=True):
            ext = await sub.sign(Keypair.from_uri(uri), Transfer(dest=Keypair.from_uri(to).public_key, amount=TAO))
            result = await sub.submit(ext, wait_for_inclusion=False)
            assert result.status == "submitted", result.message
        while 0 in [(await sub.get_balance(Keypair.from_uri(to).ss58_address)).rao for to in new]:
            await sub.wait_for_block()
    return HOLDERS + new


async def _hold_the_hotkey(sub: Subtensor, validator: Wallet, holders: list[str]) -> None:
    """Queue a transfer of each of the ``holders`` keys, then one extrinsic of the validator's hotkey behind them: on
    a node sealing one extrinsic a block and holding one per signer, that hotkey can queue nothing else
    (SignerLimit, a refusal of the mempool, nothing applied) for about ``len(holders)`` blocks."""
    from taonet.ledger import Keypair, SetWeights, Transfer

    dest = Keypair.generate().public_key
    for uri in holders:
        ext = await sub.sign(Keypair.from_uri(uri), Transfer(dest=dest, amount=10_000))
        assert (await sub.submit(ext, wait_for_inclusion=False)).status == "submitted"
    with anyio.fail_after(10):
        while True:  # the validator's own commit may hold the slot a moment: queue ours when it is free
            ext = await sub.sign(validator.hotkey, SetWeights(netuid=1, uids=(1,), weights=(65535,)))
            if (await sub.submit(ext, wait_for_inclusion=False)).status == "submitted":
                return
            await anyio.sleep(0.02)


LEAD = 10
"""Blocks before the reveal window at which the test starts holding the validator's hotkey: the 12 holders' transfers
(one a block) then hold it to a few blocks into the window, and a commit of the validator's own that takes the slot
meanwhile waits behind them past the window's opening (with 6, such a commit was sealed at the very block the window
opened, the slot was free for the reveal, and nothing was refused: about one run in three)."""


async def test_a_reveal_not_applied_in_its_window_is_tried_again_until_it_is(tmp_path: Path) -> None:
    """When the window opens the validator's hotkey cannot queue anything (a full per-signer mempool: refused at
    once, nothing applied); the validator keeps the reveal, says so once, and reveals that commit later in the
    window; nothing is logged as missed."""
    async with running_node(tmp_path / "node", hyper=CR, mempool_per_signer=1, max_block_extrinsics=1,
                            block_time=0.2) as (_n, sub):
        miner, validator = await _setup(sub, tmp_path)
        holders = await _more_holders(sub)
        common = {"netuid": 1, "endpoint": sub.endpoint, "plugin": "template", "port": 0}
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common))
                await tg.start(run_validator, NeuronConfig(
                    wallet=validator, state_dir=tmp_path / "state" / "validator",
                    options={"weights_interval": "1", "alpha": "0.5"}, **common))
                while not (committed := [e for e in logs if e["event"] == "weights.committed"]):
                    await sub.wait_for_block()
                first = committed[0]
                # held from LEAD blocks before the window for ~12: a busy machine's test may queue its hold a block
                # or two late
                head = await sub.wait_for_block(first["reveal_from"] - LEAD)
                assert head < first["reveal_from"], "the window opened before the test could hold the hotkey"
                await _hold_the_hotkey(sub, validator, holders)
                settled = ("weights.revealed", "weights.reveal_missed")
                while not any(e["event"] in settled and e["committed_at"] == first["block"] for e in logs):
                    await sub.wait_for_block()
                tg.cancel_scope.cancel()
        weights = [{k: e.get(k) for k in ("event", "block", "committed_at", "reason", "code")}
                   for e in logs if e["event"].startswith("weights.")]
        assert "weights.reveal_missed" not in [e["event"] for e in logs], weights
        # the due reveals go out together: the first one the mempool refuses (its own reveal, or the test's hold,
        # holding the hotkey's one slot) says so once; each is tried again at later blocks without another line
        later = [e for e in logs if e["event"] == "weights.reveal_later"]
        # a string, not a tuple: pytest shows it whole (a tuple's repr is cut in the middle)
        assert later and all("signer" in e["reason"].lower() for e in later), f"first {first}\nweights {weights}"
        assert len({e["committed_at"] for e in later}) == len(later), f"first commit {first}\nweights {weights}"
        revealed = next(e for e in logs if e["event"] == "weights.revealed" and e["committed_at"] == first["block"])
        assert first["reveal_from"] < revealed["block"] <= first["reveal_until"], (first, weights)


async def test_a_reveal_the_chain_refuses_for_good_is_forgotten_with_one_line(tmp_path: Path) -> None:
    """A saved reveal whose commit the chain does not hold (its hash matches nothing: a final refusal) is logged
    once as missed with the chain's reason and dropped from reveals.json (so never tried again)."""
    async with running_node(tmp_path / "node", hyper=CR) as (_node, sub):
        miner, validator = await _setup(sub, tmp_path)
        vdir = StateDir(tmp_path / "state" / "validator")
        with capture_logs() as first, anyio.fail_after(60):
            await _run_until(sub, tmp_path, miner, validator, first, "weights.committed")
        saved = vdir.load_reveals()
        forged = {**saved[0], "salt": bytes(16).hex()}  # the same commit's window, another salt: another hash
        vdir.save_reveals([forged])
        await sub.wait_for_block(forged["reveal_from"], timeout=60)
        with capture_logs() as second, anyio.fail_after(60):
            await _run_until(sub, tmp_path, miner, validator, second, "weights.reveal_missed")
        missed = [e for e in second if e["event"] == "weights.reveal_missed"]
        assert [e["committed_at"] for e in missed] == [forged["block"]]
        assert missed[0]["log_level"] == "warning" and "matches this reveal" in missed[0]["reason"]
        assert forged["salt"] not in [r["salt"] for r in vdir.load_reveals()]
        assert not [e for e in second if e["event"] == "weights.reveal_later"]
