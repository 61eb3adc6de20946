"""`taonet bench ledger`: transfers applied and appended, replay with and without signatures, the state digest.

Process layout: one process pinned to one core (where the OS allows), a block store on local disk in a temp dir.
Each figure is the median of ``runs`` measured runs after one warm-up run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.bindings

from taonet.ledger import (
    TAO,
    BlockBuilder,
    Chain,
    ChainStatus,
    Extrinsic,
    FileStore,
    Hyperparameters,
    Keypair,
    Neuron,
    State,
    Transfer,
    dev_genesis,
    genesis_subnet,
    replay,
)

from ._stats import pin_one_core

BLOCK_TXS = 1000
BLOCKS_PER_RUN = 3



def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def _measure(fn: Callable[[], float], runs: int) -> float:
    fn()  # warm-up
    return _median([fn() for _ in range(runs)])


def _verify_limit(n: int = 5000) -> float:
    kp = Keypair.from_seed(bytes(range(32)))
    msg = b"\x84X " + bytes(32) + b"X " + kp.public_key + b"\x05\x83mcall.transfer\x01" + bytes(60)
    signed = kp.sign(msg) + msg
    pk = kp.public_key
    open_ = nacl.bindings.crypto_sign_open
    t = time.perf_counter()
    for _ in range(n):
        open_(signed, pk)
    return n / (time.perf_counter() - t)


class _Transfers:
    """Pre-signed transfer blocks (as wire bytes) among funded users."""

    def __init__(self, chain: Chain, users: list[Keypair]) -> None:
        self.chain, self.users = chain, users
        self.nonces = {u.public_key: chain.state.account(u.public_key).nonce for u in users}

    def block(self) -> list[bytes]:
        out = []
        users, g = self.users, self.chain.genesis_hash
        for i in range(BLOCK_TXS):
            u = users[i % len(users)]
            ext = Extrinsic.sign(Transfer(dest=users[(i + 1) % len(users)].public_key, amount=1), u,
                                 nonce=self.nonces[u.public_key], genesis=g)
            self.nonces[u.public_key] += 1
            out.append(ext.to_bytes())
        return out


def _digest_state(subnets: int = 64, neurons: int = 256, validators: int = 64) -> State:
    """A state holding ``subnets`` x ``neurons`` neurons whose validators weight every UID."""
    config, _ = dev_genesis()
    s = State()
    s.put("chain", "params", config.params)
    s.put("chain", "status", ChainStatus(height=1, issuance=0))
    uids = tuple(range(neurons))
    weights = tuple((7919 * (u + 1)) % 65536 for u in uids)
    for netuid in range(1, subnets + 1):
        owner = Keypair.from_seed(netuid.to_bytes(32, "little")).public_key
        s.put("subnet", netuid, genesis_subnet(netuid, owner, owner, 0, Hyperparameters(), lock=0, burn=0,
                                               difficulty=1))
        for uid in uids:
            hot = bytes([netuid % 256, uid % 256]) + bytes(30)
            v = uid < validators
            s.put_neuron(netuid, Neuron(uid=uid, hotkey=hot, coldkey=owner, registered_at=0, last_update=1,
                                        weight_uids=uids if v else (), weight_values=weights if v else (),
                                        bond_uids=uids if v else (), bond_values=weights if v else (),
                                        validator_permit=v, consensus=uid, incentive=uid, emission=uid * 1000))
    return s


def run(*, runs: int = 5, progress: Any = None) -> dict[str, Any]:
    """Measure every ledger figure; returns one flat dict (see docs/benchmarks.md)."""
    layout = pin_one_core()
    say = (lambda m: progress.print(f"[dim]{m}[/]")) if progress is not None else (lambda m: None)
    result: dict[str, Any] = {"process_layout": f"one process, {layout}, store fsync per block in a temp dir"}

    say("ed25519 verification ceiling…")
    result["verify_limit_per_s"] = _measure(_verify_limit, runs)

    with tempfile.TemporaryDirectory(prefix="taonet-bench-") as tmp:
        config, authority = dev_genesis()
        store = FileStore(Path(tmp) / "log", fsync=True)
        chain = Chain.create(config, authority, store=store)
        users = [Keypair.from_uri(f"//bench//{i}") for i in range(256)]
        alice = Keypair.from_uri("//Alice")
        for u in users:
            chain.call(alice, Transfer(dest=u.public_key, amount=1000 * TAO))
        chain.seal()
        gen = _Transfers(chain, users)
        say("signing transfer blocks…")
        prepared = [[gen.block() for _ in range(BLOCKS_PER_RUN)] for _ in range(runs + 1)]

        def transfers() -> float:
            blocks = prepared.pop(0)
            t = time.perf_counter()
            for raws in blocks:
                for raw in raws:
                    chain.submit(Extrinsic.from_bytes(raw))
                sealed = chain.seal()
                if sealed.rejected:
                    raise RuntimeError(f"bench transfer rejected: {sealed.rejected[0][1]}")
            return BLOCK_TXS * BLOCKS_PER_RUN / (time.perf_counter() - t)

        say("transfers decoded, verified, applied, appended (fsync per block)…")
        result["transfers_per_s"] = _measure(transfers, runs)
        result["transfers_share_of_verify_limit"] = result["transfers_per_s"] / result["verify_limit_per_s"]

        total_ext = sum(len(b.extrinsics) for b in store.read())

        def replay_rate(verify: bool) -> Callable[[], float]:
            def go() -> float:
                t = time.perf_counter()
                replay(store, verify_signatures=verify, use_snapshots=False)
                return total_ext / (time.perf_counter() - t)

            return go

        say("replay without signature checks…")
        result["replay_per_s"] = _measure(replay_rate(False), runs)
        say("replay with full verification…")
        result["replay_verified_per_s"] = _measure(replay_rate(True), runs)

        say("incremental digest against one 1,000-transfer block…")
        shares: list[float] = []
        for _ in range(runs + 1):
            raws = gen.block()
            b = BlockBuilder(chain.state, parent=store.head_hash, timestamp=0, genesis=chain.genesis_hash)
            t0 = time.perf_counter()
            for raw in raws:
                b.push(Extrinsic.from_bytes(raw))
            t1 = time.perf_counter()
            b.state.digest()
            t2 = time.perf_counter()
            shares.append((t2 - t1) / (t1 - t0))
            block, state = b.seal(authority)
            store.append(block)
            chain.state = state
        result["digest_block_share"] = _median(shares[1:])
        store.close()

    say("cold digest of 64 subnets x 256 neurons…")
    big = _digest_state()

    def cold() -> float:
        t = time.perf_counter()
        big.cold_digest()
        return (time.perf_counter() - t) * 1000

    result["digest_cold_ms"] = _measure(cold, runs)
    result["runs"] = runs
    return result
