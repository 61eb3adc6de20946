"""`taonet bench node`: a node in its own process under load, its metagraph reads, a 64 x 256 chain, and crowds of
waiting clients.

Process layout: the node runs as `taonet node run` in a child process (fsync per block); transfer load comes from
4 client processes submitting signed transfers in batches; reads come from this process. Figures are medians of
``runs`` measured windows (or calls) after a warm-up one. Only what a run measured goes into its JSON.

* ``tx``: capacity. The clients offer more transfers than the node can take (``OFFERED`` per second); what the node
  included per second is ``included_tx_per_s``. Then they offer 90% of that and the inclusion latency at that load
  is ``inclusion_p50_ms``/``inclusion_p99_ms`` (submission to the moment a watcher saw the block on the feed); then
  the same at a fixed 4,000/s, the capacity target (``inclusion_target_load_p50_ms``/``_p99_ms``).
* ``big``: 64 subnets x 256 neurons, tempo 64. ``epoch_seal_p50_ms``/``epoch_seal_p99_ms`` at blocks holding an
  epoch result count the Yuma epoch the consensus actor computed for it (from the previous block's publication to
  its answer) plus the seal; ``epoch_seal_only_*`` time the seal alone.
* ``waiters``: on a 0.25 s chain, ``WAITERS`` Subtensor clients in 4 processes each loop on
  ``wait_for_block(head + k)`` and 64 clients loop submit-and-wait on transfers, for a window (60 s by default);
  ``max_block_gap_ms`` is the longest time between two blocks the node sealed in the window. The crowd dials from
  one address (loopback), so that node takes up to ``MAX_CONNECTIONS`` from one address
  (``--max-connections-per-address``).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import attrs

from taonet.kernel import Subtensor
from taonet.kernel.wire import MAX_CONNECTIONS
from taonet.ledger import (
    DEV_AUTHORITY_URI,
    DEV_SUBNET_DEFAULTS,
    TAO,
    AddStake,
    BurnedRegister,
    Extrinsic,
    GenesisSubnet,
    Keypair,
    SetHyperparameter,
    SetWeights,
    Transfer,
    dev_genesis,
    dump_genesis,
    hotkey_binding_payload,
)

from ._procs import start_node, stop
from ._stats import p99

CLIENTS = 4
ACCOUNTS_PER_CLIENT = 64
WINDOW_S = 4.0
BLOCK_TIME = 0.25
OFFERED = 16000.0  # transfers/s offered in the capacity phase: more than this machine's node takes
WAITERS = 1000
SUBMITTERS = 64


def _start_node(data_dir: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    # The setup sends thousands of extrinsics from //Alice at once: lift the per-signer mempool limit (256).
    cmd = [sys.executable, "-m", "taonet.tools", "node", "run", "--data-dir", str(data_dir), "--rpc",
           "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--mempool-per-signer", "100000", "--log-level",
           os.environ.get("TAONET_BENCH_NODE_LOG_LEVEL", "warning"), *args]
    log_path = os.environ.get("TAONET_BENCH_NODE_LOG")  # to look inside the node while it is measured
    err = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return start_node(cmd, stderr=err)



def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def _batched(sub: Subtensor, exts: list[Extrinsic], *, wait: bool = True) -> None:
    for i in range(0, len(exts), 2000):
        results = await sub.submit_batch(exts[i : i + 2000])
        bad = [r for r in results if not r.success]
        if bad:
            raise RuntimeError(f"setup extrinsic refused: {bad[0].error}")
    if wait:
        await sub.wait_for_block()
        await sub.wait_for_block()


# --- 1. transfers from four client processes ----------------------------------------------------------------


def _client(rpc: str, index: int, genesis: bytes, seconds: float, rate: float, out: Any) -> None:
    """One load client: pre-sign transfers, submit them in batches at ``rate`` per second, report submit times."""
    keys = [Keypair.from_uri(f"//load//{index}//{i}") for i in range(ACCOUNTS_PER_CLIENT)]
    dest = Keypair.from_uri("//Ferdie").public_key
    total = int(seconds * rate)
    batch = max(1, int(rate / 10))

    async def nonces() -> list[int]:
        async with Subtensor(rpc, timeout=30.0) as sub:
            return [await sub.get_nonce(k) for k in keys]

    first = anyio.run(nonces)
    exts = [Extrinsic.sign(Transfer(dest=dest, amount=1), keys[i % len(keys)],
                           nonce=first[i % len(keys)] + i // len(keys), genesis=genesis) for i in range(total)]

    async def go() -> tuple[list[tuple[bytes, float]], float, float]:
        sent: list[tuple[bytes, float]] = []
        async with Subtensor(rpc, timeout=30.0) as sub:
            start = time.time()
            out.put(("offering", index, start))
            for k in range(0, total, batch):
                target = start + k / rate
                await anyio.sleep(max(0.0, target - time.time()))
                chunk = exts[k : k + batch]
                now = time.time()
                for r in await sub.submit_batch(chunk):
                    if r.success:
                        sent.append((r.hash, now))
        return sent, start, time.time()

    sent, start, end = anyio.run(go)
    out.put(("done", index, sent, start, end))


async def _observe(sub: Subtensor, until: float) -> list[tuple[int, float, list[bytes], float]]:
    """Blocks as they appear: (number, time seen, extrinsic hashes, time sealed from the block's header)."""
    seen = []
    head = await sub.get_current_block()
    while time.time() < until:
        try:
            new = await sub.wait_for_block(head + 1, timeout=5.0)  # on the feed
        except TimeoutError:
            continue
        now = time.time()
        for n in range(head + 1, new + 1):
            block = await sub.get_block(n)
            seen.append((n, now, [x.hash for x in block.extrinsics], block.header.timestamp / 1000))
        head = new
    return seen


def _load(rpc: str, genesis: bytes, rate: float, seconds: float, say: Any
          ) -> tuple[list[tuple[bytes, float]], list[tuple[int, float, list[bytes], float]], dict[str, float]]:
    """Offer ``rate`` transfers/s for ``seconds`` from the client processes: (what was sent, blocks seen, and how
    the offer went: the rate the clients achieved, the mempool's backlog when they stopped)."""
    per_client = rate / CLIENTS
    say(f"{CLIENTS} client processes offering {rate:.0f} transfers/s for {seconds:.0f} s…")
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    clients = [ctx.Process(target=_client, args=(rpc, c, genesis, seconds, per_client, out)) for c in range(CLIENTS)]
    for c in clients:
        c.start()
    offer: dict[str, float] = {}
    done: list[tuple[Any, ...]] = []

    async def observe() -> list[tuple[int, float, list[bytes], float]]:
        async with Subtensor(rpc, timeout=30.0) as sub, anyio.create_task_group() as tg:
            started = [await anyio.to_thread.run_sync(out.get, True, 300) for _ in clients]  # after signing
            offer_end = max(m[2] for m in started) + seconds

            async def at_offer_end() -> None:
                await anyio.sleep(max(0.0, offer_end - time.time()))
                offer["backlog_after_offer"] = (await sub.call("metrics"))["mempool"]

            tg.start_soon(at_offer_end)
            return await _observe(sub, offer_end + 15.0)

    try:
        seen = anyio.run(observe)
        done = [out.get(timeout=180) for _ in clients]
    finally:
        for c in clients:
            c.join(30)
            if c.is_alive():
                c.kill()
    sent = [item for m in done for item in m[2]]
    span = max(m[4] for m in done) - min(m[3] for m in done)
    offer["offered_tx_per_s"] = rate
    offer["offer_achieved_tx_per_s"] = len(sent) / span if span > 0 else 0.0
    return sent, seen, offer


def _windows(sent: list[tuple[bytes, float]], seen: list[tuple[int, float, list[bytes], float]], runs: int
             ) -> tuple[list[float], list[float]]:
    """Included per second in each measured window by the blocks' own timestamps (the first window is the
    warm-up), and the sorted latencies (s, submission to the moment the block was seen) of the transfers sent
    after the warm-up."""
    first = min(t for _, t in sent)
    block_time_of = {h: t for _, t, hashes, _ in seen for h in hashes}
    rates = []
    for w in range(1, runs + 1):
        lo, hi = first + w * WINDOW_S, first + (w + 1) * WINDOW_S
        rates.append(sum(len(hashes) for _, _, hashes, sealed in seen if lo <= sealed < hi) / WINDOW_S)
    warm = sorted(block_time_of[h] - t for h, t in sent if h in block_time_of and t >= first + WINDOW_S)
    return rates, warm


TARGET_LOAD = 4000.0
"""Transfers per second offered for the fixed-load latency figure: the node's capacity target."""


def bench_transfers(runs: int, say: Any) -> dict[str, Any]:
    """Capacity (included transfers/s when more is offered), inclusion latency at 90% of it and at a fixed
    4,000/s (the capacity target), 0.25 s blocks."""
    with tempfile.TemporaryDirectory(prefix="taonet-bench-node-") as tmp:
        proc, rpc = _start_node(Path(tmp), "--dev", "--block-time", str(BLOCK_TIME))
        try:
            say("funding the load accounts…")

            async def setup() -> bytes:
                async with Subtensor(rpc, timeout=60.0) as sub:
                    alice = Keypair.from_uri("//Alice")
                    genesis = await sub.genesis_hash()
                    nonce = await sub.get_nonce(alice)
                    dests = [Keypair.from_uri(f"//load//{c}//{i}").public_key
                             for c in range(CLIENTS) for i in range(ACCOUNTS_PER_CLIENT)]
                    exts = [Extrinsic.sign(Transfer(dest=d, amount=1000 * TAO), alice, nonce=nonce + k,
                                           genesis=genesis) for k, d in enumerate(dests)]
                    await _batched(sub, exts)
                    return genesis

            async def drained() -> None:
                async with Subtensor(rpc, timeout=30.0) as sub:
                    with anyio.fail_after(600):
                        while (await sub.call("metrics"))["mempool"]:
                            await anyio.sleep(0.5)

            genesis = anyio.run(setup)
            seconds = WINDOW_S * (runs + 1) + 1.0
            sent, seen, offer = _load(rpc, genesis, OFFERED, seconds, say)
            rates, _ = _windows(sent, seen, runs)
            capacity = statistics.median(rates)
            say("letting the backlog drain…")
            anyio.run(drained)
            at = max(100.0, 0.9 * capacity)
            sent2, seen2, _ = _load(rpc, genesis, at, seconds, say)
            rates2, warm = _windows(sent2, seen2, runs)
            metrics = anyio.run(_metrics, rpc)
            say("letting the backlog drain…")
            anyio.run(drained)
            sent3, seen3, _ = _load(rpc, genesis, TARGET_LOAD, seconds, say)
            rates3, warm3 = _windows(sent3, seen3, runs)
        finally:
            stop(proc)
    warm_p99 = p99(warm)
    return {
        "included_tx_per_s": capacity,
        "included_tx_per_s_windows": [round(r) for r in rates],
        **offer, "offered_submitted": len(sent),
        # the node set the pace if it left a backlog or its admission could not keep up with the offer
        "capacity_is_lower_bound": offer.get("backlog_after_offer", 0) <= 0
        and offer["offer_achieved_tx_per_s"] >= 0.95 * OFFERED,
        "latency_load_tx_per_s": round(at), "latency_load_included_tx_per_s": statistics.median(rates2),
        "inclusion_p50_ms": 1000 * warm[len(warm) // 2] if warm else float("nan"),
        "inclusion_p99_ms": 1000 * warm_p99,
        "inclusion_p99_block_times": warm_p99 / BLOCK_TIME,
        "node_seal_ms_p99": metrics["seal_ms_p99"],
        # the same latency at the capacity target (a fixed load, comparable from machine to machine)
        "target_load_tx_per_s": TARGET_LOAD, "target_load_included_tx_per_s": statistics.median(rates3),
        "inclusion_target_load_p50_ms": 1000 * warm3[len(warm3) // 2] if warm3 else float("nan"),
        "inclusion_target_load_p99_ms": 1000 * p99(warm3),
        "inclusion_target_load_p99_block_times": p99(warm3) / BLOCK_TIME,
    }



async def _metrics(rpc: str) -> dict[str, Any]:
    async with Subtensor(rpc) as sub:
        return await sub.call("metrics")


# --- 2. the metagraph of a 256-UID subnet ------------------------------------------------------------------


def bench_metagraph(runs: int, say: Any) -> dict[str, Any]:
    """Metagraph over RPC at the head and 1,000 blocks back, for a full 256-UID subnet with 64 validators."""
    with tempfile.TemporaryDirectory(prefix="taonet-bench-mg-") as tmp:
        proc, rpc = _start_node(Path(tmp), "--dev", "--block-time", "0.02", "--no-fsync")
        try:
            async def go() -> dict[str, Any]:
                async with Subtensor(rpc, timeout=120.0) as sub:
                    say("a subnet of 256 UIDs, 64 validators setting weights…")
                    await _full_subnets(sub, 1, tempo=50)
                    start = await sub.get_current_block()
                    say("1,000 more blocks…")
                    await sub.wait_for_block(start + 1001, timeout=600)
                    head = await sub.get_current_block()
                    head_ms, past_ms = [], []
                    for _ in range(runs + 1):
                        t = time.perf_counter()
                        mg = await sub.metagraph(1)
                        head_ms.append(1000 * (time.perf_counter() - t))
                        assert mg.n == 256
                        t = time.perf_counter()
                        past = await sub.metagraph(1, block=head - 1000)
                        past_ms.append(1000 * (time.perf_counter() - t))
                        assert past.block == head - 1000
                    return {"metagraph_head_ms": statistics.median(head_ms[1:]),
                            "metagraph_past_ms": statistics.median(past_ms[1:])}

            return anyio.run(go)
        finally:
            stop(proc)


async def _full_subnets(sub: Subtensor, subnets: int, *, tempo: int) -> None:
    """Fill ``subnets`` subnets owned by Alice to 256 UIDs, stake 64 validators each, let permits come, set weights."""
    alice = Keypair.from_uri("//Alice")
    genesis = await sub.genesis_hash()
    existing = await sub.get_all_subnets_netuid()
    if len(existing) < subnets:
        for i in range(len(existing), subnets):
            h = Keypair.from_uri(f"//sn//{i + 1}")
            r = await sub.create_subnet(type("W", (), {"coldkey": alice, "hotkey": h})())
            if not r.success:
                raise RuntimeError(r.message)
    nonce = await sub.get_nonce(alice)
    exts: list[Extrinsic] = []

    def add(call: Any) -> None:
        nonlocal nonce
        exts.append(Extrinsic.sign(call, alice, nonce=nonce, genesis=genesis))
        nonce += 1

    for netuid in range(1, subnets + 1):
        for name, value in (("max_registrations_per_block", 4096), ("min_burn", 1000), ("max_burn", 1000),
                            ("weights_rate_limit", 0), ("tempo", tempo), ("immunity_period", 100_000),
                            ("activity_cutoff", 100_000)):
            add(SetHyperparameter(netuid=netuid, name=name, value=value))
    await _batched(sub, exts)
    exts = []
    for netuid in range(1, subnets + 1):
        for uid in range(1, 256):
            h = Keypair.from_uri(f"//mg//{netuid}//{uid}")
            add(BurnedRegister(netuid=netuid, hotkey=h.public_key,
                               hotkey_signature=h.sign(hotkey_binding_payload(genesis, alice.public_key))))
    await _batched(sub, exts)
    exts = []
    for netuid in range(1, subnets + 1):
        for uid in range(1, 64):
            add(AddStake(hotkey=Keypair.from_uri(f"//mg//{netuid}//{uid}").public_key, amount=100 * TAO))
        add(AddStake(hotkey=Keypair.from_uri(f"//sn//{netuid}").public_key, amount=100 * TAO))
    await _batched(sub, exts)
    await sub.wait_for_block(await sub.get_current_block() + tempo + 2, timeout=600)  # permits
    uids = list(range(256))
    weights = [(7919 * (u + 1)) % 65535 + 1 for u in uids]
    exts = []
    for netuid in range(1, subnets + 1):
        for uid in range(0, 64):
            h = Keypair.from_uri(f"//mg//{netuid}//{uid}" if uid else f"//sn//{netuid}")
            exts.append(Extrinsic.sign(SetWeights(netuid=netuid, uids=uids, weights=weights), h,
                                       nonce=await sub.get_nonce(h), genesis=genesis))
    await _batched(sub, exts)


# --- 3. a node carrying 64 subnets x 256 neurons ---------------------------------------------------------------


def _big_genesis(path: Path, *, subnets: int, tempo: int) -> None:
    """A dev genesis with ``subnets`` subnets owned by Alice (hotkeys //sn//N), open to fast registration."""
    hyper = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=tempo, max_registrations_per_block=4096, min_burn=1000,
                         max_burn=1000, weights_rate_limit=0, immunity_period=100_000, activity_cutoff=100_000)
    config, _ = dev_genesis(subnet_defaults=hyper)
    alice = Keypair.from_uri("//Alice").public_key
    subs = tuple(GenesisSubnet(owner=alice, hotkey=Keypair.from_uri(f"//sn//{n}").public_key, hyper=hyper)
                 for n in range(1, subnets + 1))
    dump_genesis(attrs.evolve(config, subnets=subs), path)


def bench_big(runs: int, say: Any) -> dict[str, Any]:
    """Resident memory of a node with 64 full subnets (weights set), and its seal time at epoch blocks."""
    with tempfile.TemporaryDirectory(prefix="taonet-bench-big-") as tmp:
        genesis = Path(tmp) / "genesis.json"
        _big_genesis(genesis, subnets=64, tempo=64)
        proc, rpc = _start_node(Path(tmp) / "node", "--genesis", str(genesis), "--authority", DEV_AUTHORITY_URI,
                                "--block-time", str(BLOCK_TIME))
        try:
            async def go() -> dict[str, Any]:
                async with Subtensor(rpc, timeout=300.0) as sub:
                    say("64 subnets x 256 neurons, 64 validators each setting 256 weights (takes a while)…")
                    await _full_subnets(sub, 64, tempo=64)
                    before = await sub.call("metrics")
                    say("two tempos of epochs (one subnet's epoch due almost every block)…")
                    start = await sub.get_current_block()
                    await sub.wait_for_block(start + 2 * 65, timeout=900)
                    m = await sub.call("metrics")
                    count = m["epoch_blocks"] - before["epoch_blocks"]
                    seal = sorted(m["epoch_seal_ms_recent"][-count:])  # epoch blocks sealed in the window only
                    total = sorted(m["epoch_total_ms_recent"][-count:])  # the same, with the actor's Yuma epoch

                    return {"epoch_seal_p99_ms": p99(total), "epoch_seal_p50_ms": statistics.median(total),
                            "epoch_seal_only_p99_ms": p99(seal), "epoch_seal_only_p50_ms": statistics.median(seal),
                            "epoch_blocks": count}

            out = anyio.run(go)
            rss, peak = _rss_mb(proc.pid)
            out["rss_mb_64x256"] = rss
            out["rss_peak_mb_64x256"] = peak
            return out
        finally:
            stop(proc)


# --- 4. crowds of waiting clients --------------------------------------------------------------------------------


def _waiter_process(rpc: str, clients: int, seconds: float, out: Any) -> None:
    """``clients`` Subtensors on one event loop, each looping on wait_for_block(head + k); reports their waits."""

    async def go() -> list[int]:
        waits = [0] * clients

        async def one(i: int) -> None:
            async with Subtensor(rpc, timeout=30.0) as sub:
                head = await sub.get_current_block()
                while True:
                    head = await sub.wait_for_block(head + 1 + i % 3, timeout=30.0)
                    waits[i] += 1

        with anyio.move_on_after(seconds):
            async with anyio.create_task_group() as tg:
                for i in range(clients):
                    tg.start_soon(one, i)
        return waits

    try:
        out.put(anyio.run(go))
    except BaseException as e:  # the parent says why in one line instead of waiting for a result that never comes
        while isinstance(e, BaseExceptionGroup):
            e = e.exceptions[0]
        out.put(f"{type(e).__name__}: {e}")


def bench_waiters(window: float, say: Any, *, waiters: int = WAITERS) -> dict[str, Any]:
    """The longest gap between blocks of a 0.25 s chain while ``waiters`` clients wait and 64 submit and wait."""
    with tempfile.TemporaryDirectory(prefix="taonet-bench-wait-") as tmp:
        # the crowd dials from one address (loopback), as clients behind one proxy do: the node takes every one of
        # them (its default share of one address, 512 a socket, would refuse most)
        proc, rpc = _start_node(Path(tmp), "--dev", "--block-time", str(BLOCK_TIME),
                                "--max-connections-per-address", str(MAX_CONNECTIONS))
        try:
            keys = [Keypair.from_uri(f"//wait//{i}") for i in range(SUBMITTERS)]

            async def fund() -> None:
                async with Subtensor(rpc, timeout=60.0) as sub:
                    alice = Keypair.from_uri("//Alice")
                    genesis, nonce = await sub.genesis_hash(), await sub.get_nonce(alice)
                    await _batched(sub, [Extrinsic.sign(Transfer(dest=k.public_key, amount=1000 * TAO), alice,
                                                        nonce=nonce + i, genesis=genesis)
                                         for i, k in enumerate(keys)])

            say("funding the submitters…")
            anyio.run(fund)
            warmup = 5.0
            say(f"{waiters} waiting clients in {CLIENTS} processes and {SUBMITTERS} submitters for {window:.0f} s…")
            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            per = [waiters // CLIENTS + (1 if c < waiters % CLIENTS else 0) for c in range(CLIENTS)]
            procs = [ctx.Process(target=_waiter_process, args=(rpc, n, warmup + window + 2.0, out)) for n in per]
            for p in procs:
                p.start()

            async def measure() -> dict[str, Any]:
                latencies: list[float] = []
                outcomes = {"included": 0, "other": 0}
                dest = Keypair.from_uri("//Ferdie").public_key

                async def submitter(key: Keypair) -> None:
                    async with Subtensor(rpc, timeout=30.0) as sub:
                        while True:
                            t = time.perf_counter()
                            r = await sub.transfer(key, dest, 1)
                            if r.status == "included":
                                latencies.append(time.perf_counter() - t)
                                outcomes["included"] += 1
                            else:
                                outcomes["other"] += 1

                async with Subtensor(rpc, timeout=30.0) as probe, anyio.create_task_group() as tg:
                    for k in keys:
                        tg.start_soon(submitter, k)
                    await anyio.sleep(warmup)
                    before = await probe.call("metrics")
                    latencies.clear()
                    await anyio.sleep(window)
                    after = await probe.call("metrics")
                    tg.cancel_scope.cancel()
                blocks = after["blocks"] - before["blocks"]
                gaps = after["gap_ms_recent"][-blocks:] if blocks > 0 else []
                latencies.sort()
                return {
                    "max_block_gap_ms": max(gaps, default=float("nan")),
                    "block_gap_p99_ms": p99(gaps) if gaps else None,
                    "blocks_in_window": blocks, "window_s": window,
                    "submit_wait_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
                    "submit_wait_p99_ms": 1000 * p99(latencies) if latencies else None,
                    "submit_wait_outcomes": outcomes, "node_paused_s": after["paused_s"] - before["paused_s"],
                    "rpc_refused": after["rpc"].get("refused", 0) - before["rpc"].get("refused", 0),
                }

            try:
                result = anyio.run(measure)
                reports = [out.get(timeout=120) for _ in procs]
                if failed := [r for r in reports if isinstance(r, str)]:
                    raise RuntimeError(f"a process of waiting clients failed: {failed[0]}")
                waits = [w for r in reports for w in r]
            finally:
                for p in procs:
                    p.join(30)
                    if p.is_alive():
                        p.kill()
            result["waiting_clients"] = sum(1 for w in waits if w > 0)
            result["waiting_clients_started"] = waiters
            result["waits_completed"] = sum(waits)
            return result
        finally:
            stop(proc)


def run(*, runs: int = 5, progress: Any = None, parts: tuple[str, ...] = ("tx", "metagraph", "big", "waiters"),
        window: float = 60.0, waiters: int = WAITERS) -> dict[str, Any]:
    """Every node figure (see docs/benchmarks.md); ``window`` and ``waiters`` shape the waiting-clients part."""
    say = (lambda m: progress.print(f"[dim]{m}[/]")) if progress is not None else (lambda m: None)
    result: dict[str, Any] = {"process_layout": "node in its own process (taonet node run, fsync per block); "
                                                "4 client processes for load or waiting; reads and submit-and-wait "
                                                "clients in the bench process"}
    if "tx" in parts:
        result.update(bench_transfers(runs, say))
    if "metagraph" in parts:
        result.update(bench_metagraph(runs, say))
    if "big" in parts:
        result.update(bench_big(runs, say))
    if "waiters" in parts:
        result.update(bench_waiters(window, say, waiters=waiters))
    result["runs"] = runs
    return result


if __name__ == "__main__":
    print(json.dumps(run(parts=tuple(sys.argv[1:]) or ("tx", "metagraph", "big", "waiters"))))
