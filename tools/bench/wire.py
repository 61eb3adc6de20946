"""`taonet bench wire`: signed synapse round trips from a dendrite to axons running in other processes.

Process layout: the dendrite runs in this process; the axons run in child processes started with the ``spawn``
method (nng is not fork-safe) and stopped at the end:

- child A: one axon (and an unsigned echo server on the wire's own nng context layer, for
  ``nng_echo_sequential_rps``): sequential and 64-in-flight;
- children B and C: 128 axons each; the 32-axon fan-out uses 16 of each, the 256-axon fan-out all of them.

Where the OS allows, the dendrite is pinned to one core and the axon processes to another (as if on separate
machines; each process keeps its nng threads on its core). Every axon answers a synapse that doubles an integer,
with every check on (signature, nonce, addressee, body hash); every reply's signature is checked by the dendrite.
Each figure is the median of ``runs`` measured runs after one warm-up run, all on one event-loop backend (asyncio
unless told otherwise). Every latency has its p50 and its p99 (nearest rank) within a run. The output holds only
what this run measured, plus how it ran (``runs``, ``backend``, ``process_layout``); figures of other systems are
cited in docs/benchmarks.md, never mixed into it.

``nng_echo_sequential_rps`` is what nng itself costs here: 300-byte unsigned round trips, one at a time, through
:class:`~taonet.kernel.wire.NngContext` on both sides (no CBOR, no signatures). It is a reference for the
sequential figure, not a ceiling for the others: with many requests in flight the wire overlaps what one round
trip at a time cannot.
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
from taonet.kernel.wire import NngContext, bound_address
from taonet.ledger import Keypair

from ._stats import median_p99

SEQUENTIAL = 2000
CONCURRENT_TASKS = 64
CONCURRENT_EACH = 160
FANOUT32_QUERIES = 100
FANOUT256_QUERIES = 30
ECHO = 2000
ECHO_PAYLOAD = 300
ECHO_RECEIVERS = 4
FANOUT_CHILDREN = 2
FANOUT_AXONS_PER_CHILD = 128

FIGURES = (
    "sequential_rps", "sequential_p50_ms", "sequential_p99_ms",
    "concurrent64_rps", "concurrent64_p50_ms", "concurrent64_p99_ms",
    "fanout32_p50_ms", "fanout32_p99_ms", "fanout256_p50_ms", "fanout256_p99_ms",
    "nng_echo_sequential_rps",
)
"""Every figure one run measures; the output holds each one's median over the runs."""

LAYOUT = (
    "dendrite in the bench process; axons in spawned children: 1 child with 1 axon (+ unsigned NngContext echo) for "
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
    """An unsigned echo server on the wire's nng context layer (receive loops like the axon's), for the reference."""
    with pynng.Rep0() as sock:
        listener = sock.listen("tcp://127.0.0.1:0")

        async def serve() -> None:
            ctx = NngContext(sock)
            try:
                while True:
                    data, _ = await ctx.recv()
                    if ctx.sending:  # as the axon does: one queued send per context
                        await anyio.to_thread.run_sync(ctx.wait_sent, abandon_on_cancel=True)
                    ctx.send(data)
            finally:
                ctx.close()

        async with anyio.create_task_group() as tg:
            for _ in range(ECHO_RECEIVERS):
                tg.start_soon(serve)
            task_status.started(bound_address(listener, "tcp://127.0.0.1:0"))


async def _child_main(conn: Any, n_axons: int, echo: bool) -> None:
    async with anyio.create_task_group() as tg:
        infos = []
        for _ in range(n_axons):
            axon = Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(_double)
            info = await tg.start(axon.serve)
            infos.append((info.ip, info.port, info.hotkey))
        echo_address = await tg.start(_echo) if echo else None
        conn.send((infos, echo_address))
        await anyio.to_thread.run_sync(conn.recv)  # the parent says stop
        tg.cancel_scope.cancel()


def _child(conn: Any, n_axons: int, echo: bool, backend: str, cpu: int | None) -> None:
    """Entry point of an axon child process."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    _quiet_logs()
    anyio.run(_child_main, conn, n_axons, echo, backend=backend)


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

    def start(self, n_axons: int, *, echo: bool = False) -> tuple[list[AxonInfo], str | None]:
        """Start a child with ``n_axons`` axons (and the echo server); their infos and the echo's address."""
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child, args=(child, n_axons, echo, self.backend, self.cpu), daemon=True)
        proc.start()
        self.procs.append((proc, parent))
        if not parent.poll(120):
            raise RuntimeError("an axon child did not start within 120 s")
        infos, echo_address = parent.recv()
        return [AxonInfo(ip=ip, port=port, hotkey=hk) for ip, port, hk in infos], echo_address

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



async def _sequential(d: Dendrite, axon: AxonInfo, n: int) -> dict[str, float]:
    lat = []
    t0 = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        r = await d(axon, Double(x=i), timeout=5)
        lat.append(time.perf_counter() - t)
        if r.y != 2 * i:
            raise RuntimeError(f"bad answer {r.dendrite}")
    rps = n / (time.perf_counter() - t0)
    p50, p99 = median_p99(lat, 1000)
    return {"sequential_rps": rps, "sequential_p50_ms": p50, "sequential_p99_ms": p99}


async def _concurrent(d: Dendrite, axon: AxonInfo, tasks: int, each: int) -> dict[str, float]:
    failures = 0
    lat: list[float] = []

    async def worker(k: int) -> None:
        nonlocal failures
        for i in range(each):
            t = time.perf_counter()
            r = await d(axon, Double(x=k * each + i), timeout=10)
            lat.append(time.perf_counter() - t)
            failures += r.y != 2 * (k * each + i)

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for k in range(tasks):
            tg.start_soon(worker, k)
    elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{failures} of {tasks * each} concurrent requests failed")
    p50, p99 = median_p99(lat, 1000)
    return {"concurrent64_rps": tasks * each / elapsed, "concurrent64_p50_ms": p50, "concurrent64_p99_ms": p99}


async def _fanout(d: Dendrite, axons: list[AxonInfo], queries: int, name: str) -> dict[str, float]:
    lat = []
    for q in range(queries):
        t = time.perf_counter()
        results = await d(axons, Double(x=q), timeout=10)
        lat.append(time.perf_counter() - t)
        bad = [r.dendrite.status_code for r in results if r.y != 2 * q]
        if bad:
            raise RuntimeError(f"fan-out to {len(axons)}: {len(bad)} not answered ({bad[:5]})")
    p50, p99 = median_p99(lat, 1000)
    return {f"{name}_p50_ms": p50, f"{name}_p99_ms": p99}


async def _echo_sequential(address: str, n: int) -> dict[str, float]:
    """Unsigned round trips, one at a time, through an NngContext on a Req0 socket (the dendrite's layer)."""
    payload = bytes(ECHO_PAYLOAD)
    with pynng.Req0(dial=address, resend_time=-1) as sock:
        ctx = NngContext(sock)
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                ctx.send(payload)
                data, _ = await ctx.recv(5000)
                if len(data) != ECHO_PAYLOAD:
                    raise RuntimeError(f"the echo sent back {len(data)} bytes, not {ECHO_PAYLOAD}")
            elapsed = time.perf_counter() - t0
        finally:
            ctx.close()
    return {"nng_echo_sequential_rps": n / elapsed}


async def _one_run(single: AxonInfo, groups: list[list[AxonInfo]], echo_address: str, scale: float
                   ) -> dict[str, float]:
    n = max(1, int(SEQUENTIAL * scale))
    fan = [info for group in groups for info in group]
    fan32 = [info for group in groups for info in group[: 32 // len(groups)]]
    figures: dict[str, float] = {}
    async with Dendrite(Keypair.generate()) as d:
        await d([single, *fan], Double(x=0), timeout=30)  # connect every pooled socket first, as a validator has
        figures |= await _sequential(d, single, n)
        figures |= await _concurrent(d, single, CONCURRENT_TASKS, max(1, int(CONCURRENT_EACH * scale)))
        figures |= await _fanout(d, fan32, max(1, int(FANOUT32_QUERIES * scale)), "fanout32")
        figures |= await _fanout(d, fan, max(1, int(FANOUT256_QUERIES * scale)), "fanout256")
    figures |= await _echo_sequential(echo_address, max(1, int(ECHO * scale)))
    return figures


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
        single, echo_address = children.start(1, echo=True)
        groups = [children.start(FANOUT_AXONS_PER_CHILD)[0] for _ in range(FANOUT_CHILDREN)]
        assert echo_address is not None
        say("warm-up run")
        anyio.run(_one_run, single[0], groups, echo_address, 0.25, backend=backend)
        samples = []
        for i in range(runs):
            say(f"run {i + 1}/{runs}")
            samples.append(anyio.run(_one_run, single[0], groups, echo_address, 1.0, backend=backend))
    finally:
        children.stop()
        if pinned:
            os.sched_setaffinity(0, set(cpus))
        structlog.configure(**saved_logging)
    result: dict[str, Any] = {k: round(statistics.median(s[k] for s in samples), 2) for k in FIGURES}
    layout = LAYOUT + (f"; dendrite pinned to cpu {cpus[0]}, axon processes to cpu {cpus[1]}" if pinned else "")
    result.update(runs=runs, backend=backend, process_layout=layout)
    return result
