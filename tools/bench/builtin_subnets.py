"""The built-in subnets' figures in `taonet bench plugins` (issue 14): what their validators' checks cost and how
fast an honest prompting miner streams.

- ``prompting_tokens_per_s``: an honest prompting miner's streamed tokens per second to one validator: one Axon
  serving the prompting plugin's ``miner_forward`` (a generator, pumped from a worker thread as the miner neuron
  does) in a spawned child process, one Dendrite in this process streaming ``COMPLETIONS`` completions of 128 tokens
  one after another; tokens / seconds from the request to the last frame, median over the completions.
- ``prompting_verify_ms`` (p50, and ``_p99_ms``): checking one 128-token answer as the reward model does (32
  positions recomputed, the default ``verify_positions``), in this process.
- ``freivalds_check_ms_512`` (p50, and ``_p99_ms_512``): Freivalds' check of a 512 x 512 product (2 rounds, float64).
- ``freivalds_speedup_2048``: float64 ``A @ B`` at 2048 over the check of its product at 2048 (still float64: the
  round vectors split into two 10-bit digits keep the sums exact), medians of the same run.
- ``oracle_score_ms_256`` (p50, and ``_p99_ms_256``): the oracle's reward model over a matured round of 256
  predictions.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import statistics
import sys
import time
from typing import Any

import anyio

from ._stats import median_p99

COMPLETIONS = 40
REPEATS = 200
MATMUL_REPEATS = 3

FIGURES = ("prompting_tokens_per_s", "prompting_verify_ms", "prompting_verify_p99_ms", "freivalds_check_ms_512",
           "freivalds_check_p99_ms_512", "freivalds_speedup_2048", "oracle_score_ms_256", "oracle_score_p99_ms_256")
LAYOUT = ("prompting miner (one Axon) in a spawned child, its validator's Dendrite in this process; the checks in "
          "this process")



def _timed(fn: Any, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


# --- prompting: the miner's child and the stream ---------------------------------------------------------------


async def _miner_main(conn: Any) -> None:
    from taonet.kernel import Axon
    from taonet.ledger import Keypair
    from taonet.plugins import load_plugin

    plugin = load_plugin("prompting")
    options = plugin.options()
    cls = plugin.protocol.synapses[0]

    def forward(synapse: Any) -> Any:
        return plugin.hook.miner_forward(synapse=synapse, options=options)

    async with anyio.create_task_group() as tg:
        info = await tg.start(Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(forward, synapse=cls).serve)
        conn.send((info.ip, info.port, info.hotkey))
        await anyio.to_thread.run_sync(conn.recv)  # the parent says stop
        tg.cancel_scope.cancel()


def _miner_child(conn: Any) -> None:
    """Entry point of the prompting miner's child process."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    anyio.run(_miner_main, conn)


async def _stream(address: tuple[str, int, str], completions: int) -> list[float]:
    from taonet.kernel import AxonInfo, Dendrite
    from taonet.ledger import Keypair
    from taonet.subnets.prompting import Complete

    ip, port, hotkey = address
    info = AxonInfo(ip=ip, port=port, hotkey=hotkey)
    rates = []
    async with Dendrite(Keypair.generate()) as d:
        for i in range(completions + 1):
            syn = Complete(prompt="shall i compare thee to a summer's day", seed=i, length=128)
            t0 = time.perf_counter()
            async with d.stream(info, syn, timeout=10.0) as s:
                async for _ in s:
                    pass
            dt = time.perf_counter() - t0
            got = s.result
            if not got.is_success or len(got.tokens or ()) != 128:
                raise RuntimeError(f"the prompting miner answered {got.dendrite.status_code} in the bench")
            if i:  # the first is the warm-up
                rates.append(128 / dt)
    return rates


def _tokens_per_s(runs: int, say: Any) -> float:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_miner_child, args=(child,), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 120
        while not parent.poll(0.5):
            if not proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the prompting miner's child did not start (it exited, or took over 120 s)")
        address = parent.recv()
        medians = []
        for i in range(runs):
            say(f"prompting stream: run {i + 1}/{runs}")
            medians.append(statistics.median(anyio.run(_stream, address, COMPLETIONS)))
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    return statistics.median(medians)


# --- the checks -------------------------------------------------------------------------------------------------


def _prompting_verify(runs: int) -> tuple[float, float]:
    from taonet.kernel import TerminalInfo
    from taonet.plugins import load_plugin
    from taonet.subnets.prompting import load_model, verify

    plugin = load_plugin("prompting")
    options = plugin.options()
    model = load_model()
    positions = int(options["verify_positions"])
    samples = []
    for i in range(runs):
        task = plugin.hook.validator_task(options=options, rng=random.Random(i), step=i, block=i)
        chunks = list(plugin.hook.miner_forward(synapse=task.synapse, options=options))
        syn = task.synapse.assemble(chunks).replace(dendrite=TerminalInfo(status_code=200))
        if not verify(model, task, syn, positions):
            raise RuntimeError("the honest completion failed its check in the bench")
        samples.append(median_p99(_timed(lambda t=task, s=syn: verify(model, t, s, positions), REPEATS), 1000))
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def _freivalds(runs: int) -> dict[str, float]:
    from taonet.subnets.compute import freivalds, make_matrices, round_vectors, rounds_for

    checks, speedups = [], []
    for i in range(runs):
        a, b = make_matrices(i, 512)
        c, r = a @ b, round_vectors(i, 512, rounds_for())
        if not freivalds(a, b, c, r):
            raise RuntimeError("Freivalds rejected a correct product in the bench")
        checks.append(median_p99(_timed(lambda a=a, b=b, c=c, r=r: freivalds(a, b, c, r), REPEATS // 4), 1000))
        a, b = make_matrices(i, 2048)
        c, r = a @ b, round_vectors(i, 2048, rounds_for())
        product = statistics.median(_timed(lambda a=a, b=b: a @ b, MATMUL_REPEATS))
        check = statistics.median(_timed(lambda a=a, b=b, c=c, r=r: freivalds(a, b, c, r), MATMUL_REPEATS))
        speedups.append(product / check)
    return {"freivalds_check_ms_512": statistics.median(s[0] for s in checks),
            "freivalds_check_p99_ms_512": statistics.median(s[1] for s in checks),
            "freivalds_speedup_2048": statistics.median(speedups)}


def _oracle_score(runs: int) -> tuple[float, float]:
    from taonet.plugins import Task, load_plugin
    from taonet.subnets.oracle import SCALE, Forecast

    plugin = load_plugin("oracle")
    options = plugin.options()
    samples = []
    for i in range(runs):
        rng = random.Random(i)
        actual = rng.randrange(50 * SCALE, 150 * SCALE)
        matured = [[f"5hotkey{k:03d}", 100, 108, int(actual * rng.uniform(0.97, 1.03)), actual] for k in range(256)]
        task = Task(synapse=Forecast(block=108, horizon=8, prices=[actual]),
                    truth={"block": 108, "target": 116, "base": actual, "matured": matured})
        samples.append(median_p99(_timed(
            lambda t=task: plugin.hook.reward(task=t, responses=[], metagraph=None, options=options), REPEATS), 1000))
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def measure(runs: int, say: Any) -> dict[str, float]:
    """Every figure of :data:`FIGURES` (see the module docs): medians of ``runs`` runs after a warm-up."""
    out: dict[str, float] = {}
    out["prompting_tokens_per_s"] = _tokens_per_s(runs, say)
    say("prompting check")
    out["prompting_verify_ms"], out["prompting_verify_p99_ms"] = _prompting_verify(runs)
    say("Freivalds")
    out.update(_freivalds(runs))
    say("oracle score")
    out["oracle_score_ms_256"], out["oracle_score_p99_ms_256"] = _oracle_score(runs)
    return out
