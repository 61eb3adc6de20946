"""Setting a network up on its chain: wallets (created and funded, or existing), subnets (created, their
hyperparameters and plugin recorded), every neuron's hotkey registered, validators staked. Each step is idempotent,
so a kept network (``--keep DIR``) resumes without doing anything twice. Many calls of one signer go in one batch
at consecutive nonces, so 72 registrations take a few blocks, not 72."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio

from taonet.kernel import Subtensor, Wallet
from taonet.ledger import (
    TAO,
    AddStake,
    BurnedRegister,
    Extrinsic,
    Keypair,
    SetHyperparameter,
    SetSubnetIdentity,
    Transfer,
    hotkey_binding_payload,
)

from ._spec import NetworkSpec
from ._view import counted
from .errors import LaunchFailed, SetupTimedOut

__all__ = ["FUNDER", "prepare_wallets", "setup_chain"]

FUNDER = "//Alice"
"""The development account that funds new wallets."""


def _wallet(name: str, hotkey: str, path: Path) -> Wallet:
    return Wallet(name, hotkey, path)


def prepare_wallets(spec: NetworkSpec, wallet_path: Path) -> dict[str, Wallet]:
    """Create what is missing: each wallet's coldkey (from its URI, or new; unencrypted: a development network)
    and each neuron's hotkey. Returns the wallets created now (to be funded)."""
    created: dict[str, Wallet] = {}
    # every wallet the file declares, used by a subnet or a neuron or not (one to use by hand: a user's)
    names = {w.name for w in spec.wallets} | {s.owner for s in spec.subnets} | {p.spec.wallet for p in spec.neurons}
    for name in sorted(names):
        ws = spec.wallet(name)
        w = _wallet(name, "default", wallet_path)
        if not w.coldkeypub_file.exists():
            if ws.existing:
                raise LaunchFailed(step=f"wallet {name}", reason=f"no wallet {name!r} in {wallet_path} (existing = "
                                                                 "true)")
            if ws.uri:
                w.create_coldkey_from_uri(ws.uri, encrypt=False)
            else:
                w.create_new_coldkey(encrypt=False)
            if ws.fund > 0:
                created[name] = w
    hotkeys = ({(name, "default") for name in names - {p.spec.wallet for p in spec.neurons}}
               | {(s.owner, "default") for s in spec.subnets} | {(p.spec.wallet, p.spec.hotkey) for p in spec.neurons})
    for name, hotkey in sorted(hotkeys):
        w = _wallet(name, hotkey, wallet_path)
        if not w.hotkey_file.exists():
            uri = spec.wallet(name).uri
            if uri:
                w.create_hotkey_from_uri(f"{uri}//{hotkey}")
            else:
                w.create_new_hotkey()
    return created


def _timed_out(sub: Subtensor, r: Any, step: str, wait: float | None = None) -> None:
    """:class:`SetupTimedOut` for a step whose outcome did not come in time (``r`` an ExtrinsicResult)."""
    if r.status == "timeout":
        raise SetupTimedOut(step=step, address=sub.endpoint, reason=str(r.error) if r.error else
                            "no outcome in time" if wait is None else f"no outcome within {wait:g} s")


async def _batch(sub: Subtensor, signer: Keypair, calls: list[Any], step: str, wait: float = 60.0) -> list[Any]:
    """Sign ``calls`` at consecutive nonces, submit them in one round trip, wait for every outcome (``wait`` seconds
    each at most: none in time is :class:`SetupTimedOut`, a refusal :class:`LaunchFailed`)."""
    if not calls:
        return []
    nonce, genesis = await sub.get_nonce(signer.public_key), await sub.genesis_hash()
    exts = [Extrinsic.sign(c, signer, nonce=nonce + k, genesis=genesis) for k, c in enumerate(calls)]
    head = await sub.get_current_block()
    outcomes = []
    for ext, sent in zip(exts, await sub.submit_batch(exts), strict=True):
        if sent.status == "rejected":
            raise LaunchFailed(step=step, reason=str(sent.error))
        r = await sub.wait_for_outcome(ext.hash, after=head, timeout=wait)
        _timed_out(sub, sent if sent.status == "timeout" else r, step, wait)
        if not r.success:
            raise LaunchFailed(step=step, reason=str(r.error) if r.error else r.status)
        outcomes.append(r)
    return outcomes


async def setup_chain(sub: Subtensor, spec: NetworkSpec, wallet_path: Path, *, fund: dict[str, Wallet],
                      say: Any = print) -> set[int]:
    """Fund new wallets, create the subnets, register every neuron's hotkey, stake on validators (skipping what the
    chain already has). Returns the netuids of the subnets created now."""
    alice = Keypair.from_uri(FUNDER)
    created: set[int] = set()
    await _batch(sub, alice, [Transfer(dest=w.coldkeypub.public_key, amount=int(spec.wallet(n).fund * TAO))
                              for n, w in fund.items()], "funding wallets")
    for s in spec.subnets:
        owner = _wallet(s.owner, "default", wallet_path)
        if not await sub.subnet_exists(s.netuid):
            r = await sub.create_subnet(owner)
            _timed_out(sub, r, f"creating subnet {s.netuid}")
            if not r.success:
                raise LaunchFailed(step=f"creating subnet {s.netuid}", reason=str(r.error))
            got = next((e.netuid for e in r.events if type(e).__name__ == "SubnetCreated"), None)
            if got != s.netuid:
                raise LaunchFailed(step=f"creating subnet {s.netuid}",
                                   reason=f"the chain gave netuid {got}: list the subnets in the order of their "
                                          "netuids, on a chain where they are free")
            created.add(s.netuid)
            say(f"subnet {s.netuid} created (plugin {s.plugin}, owner {s.owner})")
        calls: list[Any] = [SetHyperparameter(netuid=s.netuid, name=k, value=int(v))
                            for k, v in s.hyperparameters.items()]
        ident = await sub.get_subnet_identity(s.netuid)
        if ident is None or ident.get("plugin") != s.plugin:
            calls.append(SetSubnetIdentity(netuid=s.netuid, plugin=s.plugin, description=s.description))
        await _batch(sub, owner.coldkey, calls, f"subnet {s.netuid}'s hyperparameters")
    await _register_all(sub, spec, wallet_path, say)
    by_cold: dict[str, list[Any]] = defaultdict(list)
    for p in spec.neurons:
        if p.stake > 0:
            w = _wallet(p.spec.wallet, p.spec.hotkey, wallet_path)
            have = await sub.get_stake(w.coldkeypub.public_key, w.hotkeypub.public_key)
            want = int(p.stake * TAO)
            if int(have) < want:
                by_cold[p.spec.wallet].append(AddStake(hotkey=w.hotkeypub.public_key, amount=want - int(have)))
    async with anyio.create_task_group() as tg:
        for name, calls in by_cold.items():
            tg.start_soon(_batch, sub, _wallet(name, "default", wallet_path).coldkey, calls, f"staking ({name})")
    if by_cold:
        say(f"staked on {counted(sum(len(c) for c in by_cold.values()), 'validator')}")
    return created


async def _register_all(sub: Subtensor, spec: NetworkSpec, wallet_path: Path, say: Any) -> None:
    genesis = await sub.genesis_hash()
    for attempt in range(5):
        todo: dict[str, list[Any]] = defaultdict(list)
        for p in spec.neurons:
            w = _wallet(p.spec.wallet, p.spec.hotkey, wallet_path)
            hot = w.hotkey
            if await sub.is_hotkey_registered_on_subnet(hot.ss58_address, p.spec.netuid):
                continue
            cold = w.coldkeypub.public_key
            todo[p.spec.wallet].append(BurnedRegister(
                netuid=p.spec.netuid, hotkey=hot.public_key, max_burn=(1 << 64) - 1,
                hotkey_signature=hot.sign(hotkey_binding_payload(genesis, cold))))
        if not todo:
            return
        if attempt == 4:
            break
        async with anyio.create_task_group() as tg:
            for name, calls in todo.items():
                tg.start_soon(_batch, sub, _wallet(name, "default", wallet_path).coldkey, calls,
                              f"registering ({name})")
        await sub.wait_for_block((await sub.get_current_block()) + 2)  # the registrar answers in the next block
        say(f"registered {counted(sum(len(c) for c in todo.values()), 'hotkey')}"
            + (f" (round {attempt + 1})" if attempt else ""))
    raise LaunchFailed(step="registering", reason="some hotkeys are still not registered after 4 rounds (is the "
                                                  "subnet full, or max_registrations_per_block low?)")
