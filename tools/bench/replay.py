"""`taonet bench replay`: `replay show` at random blocks and `replay verify` with and without the consensus re-run, on
a generated log.

The log (seeded, made once and cached under the temp directory, keyed by its parameters): a dev genesis with 4
subnets of 256 UIDs (tempo 99), 64 validators per subnet staked and each setting 256 weights once per tempo (spread
over the blocks), about 4 transfers and 1 burned registration per block (into full subnets, so each one prunes a
UID), snapshots every 1,000 blocks as a node writes them. It is made with the ledger's in-process :class:`Chain`,
which seals with the same runtime and system answers as the node.

Process layout: ``show`` runs in the bench's process, one thread (open the log read-only, fold from the nearest
snapshot, build the metagraph); ``verify`` starts one worker process per core, each verifying one segment of the log
(cut at the snapshots nearest to equal shares; ``taonet replay verify``'s default for a log this long), so it uses
both cores. The verify floor is measured the same way, one worker per core over an equal share of the log, each only
reading, decoding and checking the signatures and roots of its blocks (no block re-executed): the most any verify of
this chain could do, in the same run, so that ``verify_share_of_floor`` says how much of it verify reaches.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

from taonet.ledger import (
    DEV_SUBNET_DEFAULTS,
    TAO,
    AddStake,
    BurnedRegister,
    Chain,
    FileStore,
    GenesisBalance,
    GenesisSubnet,
    Keypair,
    SetWeights,
    Transfer,
    dev_genesis,
    hotkey_binding_payload,
)

from .._pool import worker_pool
from .._verify_core import floor_job, inherited
from ..replay import metagraph_at, open_log, state_at, verify_chain
from ._stats import p99
from .replay_whatif import run_whatif

__all__ = ["cached_log", "generate_log", "run"]

SUBNETS = 4
UIDS = 256
VALIDATORS = 64
TEMPO = 99
TRANSFERS = 4
ACCOUNTS = 64
SNAPSHOT_EVERY = 1000
SEED = 17


def _hyper() -> Any:
    return attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=TEMPO, max_allowed_uids=UIDS, max_allowed_validators=VALIDATORS,
                        max_registrations_per_block=4096, min_burn=1000, max_burn=1000, weights_rate_limit=0,
                        immunity_period=400, activity_cutoff=100_000)


def generate_log(path: Path, blocks: int, *, progress: Any = None) -> None:
    """Write the bench's log of ``blocks`` blocks into the new store directory ``path`` (see the module docs)."""
    rng = random.Random(SEED)
    hyper = _hyper()
    config, authority = dev_genesis(subnet_defaults=hyper)
    alice = Keypair.from_uri("//Alice")
    accounts = [Keypair.from_uri(f"//replay//acct//{i}") for i in range(ACCOUNTS)]
    owners = [Keypair.from_uri(f"//replay//sn//{n}") for n in range(1, SUBNETS + 1)]
    config = attrs.evolve(
        config, balances=(*config.balances, *(GenesisBalance(account=a.public_key, amount=1_000_000 * TAO)
                                              for a in accounts)),
        subnets=tuple(GenesisSubnet(owner=alice.public_key, hotkey=o.public_key, hyper=hyper) for o in owners))
    with FileStore(path, fsync=False) as store:
        chain = Chain.create(config, authority, store=store, snapshot_every=SNAPSHOT_EVERY, block_time_ms=12_000)
        genesis = chain.genesis_hash

        def register(netuid: int, hot: Keypair) -> None:
            chain.call(alice, BurnedRegister(netuid=netuid, hotkey=hot.public_key, max_burn=10**12,
                                             hotkey_signature=hot.sign(hotkey_binding_payload(genesis,
                                                                                              alice.public_key))))

        # fill every subnet, then stake its 64 validators (the owner's hotkey at UID 0 and UIDs 1..63)
        validators: dict[int, list[Keypair]] = {}
        for netuid in range(1, SUBNETS + 1):
            hots = [Keypair.from_uri(f"//replay//{netuid}//{uid}") for uid in range(1, UIDS)]
            for h in hots:
                register(netuid, h)
            validators[netuid] = [owners[netuid - 1], *hots[:VALIDATORS - 1]]
        chain.seal()
        chain.seal()  # the registrar's answers
        for vs in validators.values():
            for v in vs:
                chain.call(alice, AddStake(hotkey=v.public_key, amount=1000 * TAO))
        chain.seal()
        everyone = list(range(UIDS))
        while chain.height < blocks:
            number = chain.height + 1
            for _ in range(TRANSFERS):
                src, dst = rng.sample(accounts, 2)
                chain.call(src, Transfer(dest=dst.public_key, amount=rng.randrange(TAO // 1000, TAO)))
            register(1 + number % SUBNETS, Keypair.from_seed(rng.randbytes(32)))
            for netuid, vs in validators.items():
                for i, v in enumerate(vs):
                    if (i * 100 // VALIDATORS + 16 * netuid) % (TEMPO + 1) != number % (TEMPO + 1):
                        continue
                    uid = chain.state.uid_of(netuid, v.public_key)
                    if uid is None or not chain.state.neuron(netuid, uid).validator_permit:  # type: ignore[union-attr]
                        continue
                    w = [0 if rng.random() < 0.2 else rng.randrange(1, 65536) for _ in everyone]
                    w[uid] = 0
                    chain.call(v, SetWeights(netuid=netuid, uids=everyone, weights=w))
            chain.seal()
            if progress is not None and number % 500 == 0:
                progress(number, blocks)


def cached_log(blocks: int, *, progress: Any = None) -> Path:
    """The bench's log of ``blocks`` blocks, generated once under the temp directory (keyed by its parameters)."""
    key = hashlib.blake2b(repr((blocks, SUBNETS, UIDS, VALIDATORS, TEMPO, TRANSFERS, ACCOUNTS, SNAPSHOT_EVERY, SEED,
                                attrs.astuple(_hyper()), 4)).encode(), digest_size=8).hexdigest()
    root = Path(tempfile.gettempdir()) / f"taonet-bench-replay-{blocks}-{key}"
    chain = root / "chain"
    if (root / "COMPLETE").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    generate_log(chain, blocks, progress=progress)
    (root / "COMPLETE").write_text("generated by taonet bench replay\n")
    return root



def run(*, runs: int = 5, blocks: int = 10_000, progress: Any = None) -> dict[str, Any]:
    """Measure every replay figure; returns one flat dict (see docs/benchmarks.md)."""
    say = (lambda m: progress.print(f"[dim]{m}[/]")) if progress is not None else (lambda m: None)
    say(f"the {blocks}-block log (generated once, then cached under {tempfile.gettempdir()}; this takes a while)…")
    data_dir = cached_log(blocks, progress=(lambda n, t: say(f"  generated {n}/{t} blocks")))
    rng = random.Random(SEED + 1)
    with open_log(data_dir) as store:
        head = store.height
        extrinsics = sum(len(b.extrinsics) for b in store.read())

    def show_once() -> float:
        number = rng.randrange(0, head + 1)
        t = time.perf_counter()
        with open_log(data_dir) as s:
            state = state_at(s, number)
            for netuid in range(1, SUBNETS + 1):
                if state.subnet(netuid) is not None:
                    metagraph_at(state, netuid)
                    break
        return time.perf_counter() - t

    say("show at random blocks…")
    show_once()  # warm-up
    shows = [show_once() for _ in range(max(runs, 5))]

    def verify_once(consensus: bool) -> float:
        t = time.perf_counter()
        with open_log(data_dir) as s:
            report = verify_chain(s, consensus=consensus)
        if not report.ok:
            raise RuntimeError(f"the bench log does not verify: {report.divergence}")
        return (head + 1) / (time.perf_counter() - t)

    def floor_once() -> float:
        t = time.perf_counter()
        jobs = os.cpu_count() or 1
        starts = [(head + 1) * k // jobs for k in range(jobs + 1)]
        with open_log(data_dir) as s, inherited(s), worker_pool(jobs) as pool:
            checked = sum(pool.map(floor_job, [str(s.path)] * jobs, starts[:-1], [b - 1 for b in starts[1:]]))
        assert checked == head + 1
        return (head + 1) / (time.perf_counter() - t)

    say("verify's floor (decoding and signatures only)…")
    floor_once()  # warm-up
    floor = [floor_once() for _ in range(runs)]
    say("verify without the consensus re-run…")
    verify_once(False)  # warm-up
    fast = [verify_once(False) for _ in range(runs)]
    say("verify with the consensus re-run…")
    full = [verify_once(True) for _ in range(runs)]
    return {
        "show_random_block_s": statistics.median(shows),
        "show_random_block_p99_s": p99(shows),
        "verify_blocks_per_s": statistics.median(fast),
        "verify_blocks_per_s_slowest_run": min(fast),
        "verify_floor_blocks_per_s": statistics.median(floor),
        "verify_floor_blocks_per_s_slowest_run": min(floor),
        "verify_share_of_floor": statistics.median(fast) / statistics.median(floor),
        "verify_full_blocks_per_s": statistics.median(full),
        "verify_full_blocks_per_s_slowest_run": min(full),
        "blocks": head + 1,
        "extrinsics": extrinsics,
        "runs": runs,
        "workers": os.cpu_count() or 1,
        "process_layout": "one process for show (open, fold from the nearest snapshot, metagraph); verify from one "
                          "process that runs one worker process per core, each over one segment cut at a snapshot; "
                          "the floor likewise, each worker over an equal share (decode, signatures, roots only)",
        **run_whatif(data_dir, runs=runs, say=say),  # issue 18: what-if, why, re-scoring (bench/replay_whatif.py)
    }
