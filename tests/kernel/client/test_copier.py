"""The test of purpose of commit-reveal: a weight copier against an honest validator, with real clients on a dev node.

Two subnets on one node, run side by side over the same blocks: subnet 1 without commit-reveal, subnet 2 with it
(period 1). On each, miners' quality changes every tempo (a seeded draw); an honest validator sets (or commits and
reveals) the weights the truth of that tempo gives; a copier with the same stake waits for the honest validator's
newest weights to show on the chain and sets (or commits and reveals) exactly those. Dividends are what the epochs
paid each validator's hotkey (EmissionPaid) after a warm-up. Without commit-reveal the copier earns about what the
honest validator earns; with it, what it copies is a tempo old when it counts, and it earns at most 0.8x (docs/
consensus.md "The copier experiment" has the measured ratios and why)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

from taonet.kernel import Subtensor
from taonet.ledger import DEV_SUBNET_DEFAULTS, Keypair

from ..node.nodes import running_node

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

TEMPO = 12
ROUNDS = 10
WARMUP = 2
"""Epochs of the rounds not counted (the copier has nothing to copy yet in the first)."""
MINERS = 6


@attrs.frozen
class Pair:
    """A coldkey and a hotkey (what the client's wallet arguments need)."""

    coldkey: Keypair
    hotkey: Keypair


def _pair(cold: str, hot: str) -> Pair:
    return Pair(Keypair.from_uri(cold), Keypair.from_uri(f"{cold}//{hot}"))


async def _next_epoch(sub: Subtensor, netuid: int, after: int) -> int:
    """Wait until subnet ``netuid`` has run an epoch later than ``after``; its block."""
    while True:
        info = await sub.get_subnet_info(netuid)
        if info["last_epoch"] > after:
            return int(info["last_epoch"])
        await sub.wait_for_block(timeout=10)


async def _weights(sub: Subtensor, netuid: int, uid: int) -> tuple[list[int], list[int]]:
    n = await sub.neuron(netuid, uid)
    assert n is not None
    return list(n["weights"][0]), list(n["weights"][1])


async def _honest(sub: Subtensor, who: Pair, netuid: int, cr: bool, miners: list[int], start: int) -> None:
    rng = random.Random(7)  # the same truth on both subnets
    epoch, pending = start, None
    for _ in range(ROUNDS):
        epoch = await _next_epoch(sub, netuid, epoch)
        truth = [rng.random() ** 3 for _ in miners]
        if cr:
            if pending is not None:
                assert (await sub.reveal(who, pending)).success
            r = await sub.commit_weights(who, netuid, miners, truth)
            assert r.success, r.message
            pending = r.reveal
        else:
            r = await sub.set_weights(who, netuid, miners, truth)
            assert r.success and r.action == "set", r.message


async def _copier(sub: Subtensor, who: Pair, netuid: int, cr: bool, honest_uid: int, start: int) -> None:
    epoch, pending, copied = start, None, ([], [])
    for _ in range(ROUNDS):
        epoch = await _next_epoch(sub, netuid, epoch)
        if cr and pending is not None:
            assert (await sub.reveal(who, pending)).success
            pending = None
        with anyio.move_on_after(TEMPO * 0.1 * 0.8):  # the newest weights it can read this tempo
            while (latest := await _weights(sub, netuid, honest_uid)) == copied:
                await sub.wait_for_block(timeout=10)
        latest = await _weights(sub, netuid, honest_uid)
        if not latest[0] or latest == copied:
            continue
        copied = latest
        if cr:
            r = await sub.commit_weights(who, netuid, latest[0], latest[1])
            pending = r.reveal if r.success else None
        else:
            r = await sub.set_weights(who, netuid, latest[0], latest[1])
        assert r.success, r.message


async def _setup(sub: Subtensor, netuid: int, cr: bool, owner: Pair, honest: Pair, copier: Pair, miner_cold: str
                 ) -> tuple[list[int], int]:
    if cr:
        assert (await sub.set_hyperparameter(owner, netuid, "commit_reveal_weights_enabled", True)).success
    uids = {}
    for who in (honest, copier, *(_pair(miner_cold, f"m{netuid}-{i}") for i in range(MINERS))):
        r = await sub.burned_register(who, netuid)
        assert r.uid is not None, r.message
        uids[who.hotkey.ss58_address] = r.uid
    for who in (honest, copier):
        assert (await sub.add_stake(who, who.hotkey.ss58_address, 1000.0)).success
    # Epochs start only now: an epoch with nothing staked pays the owner's hotkey, whose stake (with no weights)
    # would then tip the median to the smaller of the two validators' weights (docs/consensus.md says why).
    assert (await sub.set_hyperparameter(owner, netuid, "tempo", TEMPO)).success
    miners = sorted(u for hk, u in uids.items() if hk not in (honest.hotkey.ss58_address, copier.hotkey.ss58_address))
    return miners, uids[honest.hotkey.ss58_address]


async def _dividends(sub: Subtensor, netuid: int, start: int, stop: int, hotkeys: list[Keypair]) -> list[int]:
    paid = dict.fromkeys((h.public_key for h in hotkeys), 0)
    epochs = 0
    for _b, _ph, ev in await sub.get_events(start, stop, types=["ev.emission_paid", "ev.epoch_completed"],
                                            netuid=netuid):
        if ev.TAG == "ev.epoch_completed":
            epochs += 1
        elif ev.hotkey in paid:
            paid[ev.hotkey] += ev.amount
    assert epochs >= ROUNDS - WARMUP - 1
    return list(paid.values())


async def test_commit_reveal_makes_a_weight_copier_earn_less(tmp_path: Path) -> None:
    """Without commit-reveal the copier's dividends are within 10% of the honest validator's; with it they are at
    most 0.8x, over the same blocks."""
    owners = [_pair("//Alice", "owner1"), _pair("//Ferdie", "owner2")]
    honest = [_pair("//Bob", "honest1"), _pair("//Bob", "honest2")]
    copier = [_pair("//Charlie", "copier1"), _pair("//Charlie", "copier2")]
    quiet = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=1000)  # no epoch until the subnets are set up
    async with running_node(tmp_path, hyper=quiet, block_time=0.1) as (_node, sub):
        with anyio.fail_after(60):
            for o in owners:
                assert (await sub.create_subnet(o)).success
            setup: list[Any] = [None, None]

            async def prepare(i: int) -> None:
                setup[i] = await _setup(sub, i + 1, i == 1, owners[i], honest[i], copier[i], ("//Dave", "//Eve")[i])

            async with anyio.create_task_group() as tg:
                for i in range(2):
                    tg.start_soon(prepare, i)
            starts = [await _next_epoch(sub, n, 0) for n in (1, 2)]  # permits are granted at this epoch
        with anyio.fail_after(ROUNDS * TEMPO * 0.1 * 4 + 30):
            async with anyio.create_task_group() as tg:
                for i in range(2):
                    miners, honest_uid = setup[i]
                    tg.start_soon(_honest, sub, honest[i], i + 1, i == 1, miners, starts[i])
                    tg.start_soon(_copier, sub, copier[i], i + 1, i == 1, honest_uid, starts[i])
            stop = await sub.get_current_block() + 1
        ratios = []
        for i in range(2):
            count_from = starts[i] + (WARMUP + 1) * (TEMPO + 1)
            h, c = await _dividends(sub, i + 1, count_from, stop, [honest[i].hotkey, copier[i].hotkey])
            print(f"subnet {i + 1}: honest {h} RAO, copier {c} RAO over blocks {count_from}..{stop - 1}")
            assert h > 0
            ratios.append(c / h)
    print(f"copier/honest dividends: commit-reveal off {ratios[0]:.3f}, on {ratios[1]:.3f}")
    assert ratios[0] >= 0.9
    assert ratios[1] <= 0.8
