"""`taonet bench wire`: signed synapse round trips from a dendrite to axons running in other processes.

Process layout: the dendrite runs in this process; the axons run in child processes started with the ``spawn``
method (nng is not fork-safe) and stopped at the end:

- child A: one axon (and a plain, unsigned nng echo server for ``nng_raw_rps``): sequential and 64-in-flight;
- children B and C: 128 axons each; the 32-axon fan-out uses 16 of each, the 256-axon fan-out all of them.

Where the OS allows, the dendrite is pinned to one core and the axon processes to another (as if on separate
machines; each process keeps its nng threads on its core). Every axon answers a synapse that doubles an integer,
with every check on (signature, nonce, addressee, body hash); every reply's signature is checked by the dendrite.
Each figure is the median of ``runs`` measured runs after one warm-up run, all on one event-loop backend (asyncio
unless told otherwise).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import statistics
import sys
import time
from typing import Any

import anyio
import pynng
import structlog

from taonet.kernel import Axon, AxonInfo, Dendrite, Synapse
from taonet.ledger import Keypair

SEQUENTIAL = 2000
CONCURRENT_TASKS = 64
CONCURRENT_EACH = 160
FANOUT32_QUERIES = 40
FANOUT256_QUERIES = 12
RAW = 2000
FANOUT_CHILDREN = 2
FANOUT_AXONS_PER_CHILD = 128

BITTENSOR_SDK = {
    "bittensor_sdk_sequential_rps": 56.0,
    "bittensor_sdk_sequential_p50_ms": 16.5,
    "bittensor_sdk_concurrent64_rps": 68.0,
    "bittensor_sdk_fanout32_p50_ms": 468.0,
}
"""Bittensor SDK v10.5 on the same machine, same shape (signatures on); measured once, quoted for comparison."""

LAYOUT = (
    "dendrite in the bench process; axons in spawned children: 1 child with 1 axon (+ plain nng echo) for "
    f"sequential/64-in-flight, {FANOUT_CHILDREN} children with {FANOUT_AXONS_PER_CHILD} axons each for the "
    "fan-outs (32 = 16 + 16); loopback TCP"
)


class Double(Synapse):
    """The benchmark synapse: the validator sends x, the miner returns y = 2x."""

    x: int
    y: int | None = None


async def _double(synapse: Double) -> Double:
    return synapse.replace(y=synapse.x * 2)


# --- the axon side (child processes) ------------------------------------------------------------------------


async def _echo(*, task_status: anyio.abc.TaskStatus[str]) -> None:
    """A plain nng Rep0 echo server (pynng's own contexts), for the raw ceiling."""
    with pynng.Rep0() as sock:
        listener = sock.listen("tcp://127.0.0.1:0")

        async def serve() -> None:
            ctx = sock.new_context()
            try:
                while True:
                    await ctx.asend(await ctx.arecv())
            finally:
                ctx.close()

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(serve)
            task_status.started(f"tcp://{listener.local_address}")


async def _child_main(conn: Any, n_axons: int, raw: bool) -> None:
    async with anyio.create_task_group() as tg:
        infos = []
        for _ in range(n_axons):
            axon = Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(_double)
            info = await tg.start(axon.serve)
            infos.append((info.ip, info.port, info.hotkey))
        raw_address = await tg.start(_echo) if raw else None
        conn.send((infos, raw_address))
        await anyio.to_thread.run_sync(conn.recv)  # the parent says stop
        tg.cancel_scope.cancel()


def _child(conn: Any, n_axons: int, raw: bool, backend: str, cpu: int | None) -> None:
    """Entry point of an axon child process."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    _quiet_logs()
    anyio.run(_child_main, conn, n_axons, raw, backend=backend)


def _quiet_logs() -> None:
    """Warnings and worse only, on stderr: stdout carries the figures (one JSON object with --json)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr))


class _Children:
    """The axon processes: started before measuring, stopped (and joined) after, whatever happens."""

    def __init__(self, backend: str, cpu: int | None) -> None:
        self.backend = backend
        self.cpu = cpu
        self.procs: list[tuple[Any, Any]] = []

    def start(self, n_axons: int, *, raw: bool = False) -> tuple[list[AxonInfo], str | None]:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child, args=(child, n_axons, raw, self.backend, self.cpu), daemon=True)
        proc.start()
        self.procs.append((proc, parent))
        if not parent.poll(120):
            raise RuntimeError("an axon child did not start within 120 s")
        infos, raw_address = parent.recv()
        return [AxonInfo(ip=ip, port=port, hotkey=hk) for ip, port, hk in infos], raw_address

    def stop(self) -> None:
        for _, conn in self.procs:
            with contextlib.suppress(OSError):
                conn.send("stop")
        for proc, _ in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


# --- the measurements (this process) ------------------------------------------------------------------------


async def _sequential(d: Dendrite, axon: AxonInfo, n: int) -> tuple[float, float]:
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        r = await d(axon, Double(x=i), timeout=5)
        lat.append(time.perf_counter() - t)
        if r.y != 2 * i:
            raise RuntimeError(f"bad answer {r.dendrite}")
    return n / (time.perf_counter() - t0), statistics.median(lat) * 1000


async def _concurrent(d: Dendrite, axon: AxonInfo, tasks: int, each: int) -> float:
    failures = 0

    async def worker(k: int) -> None:
        nonlocal failures
        for i in range(each):
            r = await d(axon, Double(x=k * each + i), timeout=10)
            failures += r.y != 2 * (k * each + i)

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for k in range(tasks):
            tg.start_soon(worker, k)
    elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{failures} of {tasks * each} concurrent requests failed")
    return tasks * each / elapsed


async def _fanout(d: Dendrite, axons: list[AxonInfo], queries: int) -> float:
    lat = []
    for q in range(queries):
        t = time.perf_counter()
        results = await d(axons, Double(x=q), timeout=10)
        lat.append(time.perf_counter() - t)
        bad = [r.dendrite.status_code for r in results if r.y != 2 * q]
        if bad:
            raise RuntimeError(f"fan-out to {len(axons)}: {len(bad)} not answered ({bad[:5]})")
    return statistics.median(lat) * 1000


async def _raw(address: str, n: int) -> float:
    payload = bytes(300)
    with pynng.Req0(dial=address) as sock:
        t0 = time.perf_counter()
        for _ in range(n):
            await sock.asend(payload)
            await sock.arecv()
        return n / (time.perf_counter() - t0)


async def _one_run(single: AxonInfo, groups: list[list[AxonInfo]], raw_address: str, scale: float
                   ) -> dict[str, float]:
    n = max(1, int(SEQUENTIAL * scale))
    fan = [info for group in groups for info in group]
    fan32 = [info for group in groups for info in group[: 32 // len(groups)]]
    async with Dendrite(Keypair.generate()) as d:
        await d([single, *fan], Double(x=0), timeout=30)  # connect every pooled socket first, as a validator has
        seq_rps, seq_p50 = await _sequential(d, single, n)
        conc = await _concurrent(d, single, CONCURRENT_TASKS, max(1, int(CONCURRENT_EACH * scale)))
        f32 = await _fanout(d, fan32, max(1, int(FANOUT32_QUERIES * scale)))
        f256 = await _fanout(d, fan, max(1, int(FANOUT256_QUERIES * scale)))
    raw = await _raw(raw_address, max(1, int(RAW * scale)))
    return {"sequential_rps": seq_rps, "sequential_p50_ms": seq_p50, "concurrent64_rps": conc,
            "fanout32_p50_ms": f32, "fanout256_p50_ms": f256, "nng_raw_rps": raw}


def run(*, runs: int = 5, progress: Any = None, backend: str = "asyncio") -> dict[str, Any]:
    """Measure the wire (see the module docs for what and how); the median of ``runs`` runs after a warm-up."""
    say = (lambda m: progress.print(f"[dim]{m}[/]")) if progress is not None else (lambda m: None)
    saved_logging = structlog.get_config()
    _quiet_logs()
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = len(cpus) >= 2
    children = _Children(backend, cpus[1] if pinned else None)
    if pinned:
        os.sched_setaffinity(0, {cpus[0]})
    try:
        say("starting axon processes")
        single, raw_address = children.start(1, raw=True)
        groups = [children.start(FANOUT_AXONS_PER_CHILD)[0] for _ in range(FANOUT_CHILDREN)]
        assert raw_address is not None
        say("warm-up run")
        anyio.run(_one_run, single[0], groups, raw_address, 0.25, backend=backend)
        samples = []
        for i in range(runs):
            say(f"run {i + 1}/{runs}")
            samples.append(anyio.run(_one_run, single[0], groups, raw_address, 1.0, backend=backend))
    finally:
        children.stop()
        if pinned:
            os.sched_setaffinity(0, set(cpus))
        structlog.configure(**saved_logging)
    result: dict[str, Any] = {k: round(statistics.median(s[k] for s in samples), 2) for k in samples[0]}
    layout = LAYOUT + (f"; dendrite pinned to cpu {cpus[0]}, axon processes to cpu {cpus[1]}" if pinned else "")
    result.update(runs=runs, backend=backend, process_layout=layout)
    result.update(BITTENSOR_SDK)
    return result
