"""`taonet bench plugins`: the validator's step against 256 template miners, a miner process's memory, and the cost
of importing the plugin layer.

- ``validator_step_256_p50_ms`` / ``_p99_ms``: one full step of the validator neuron (:func:`validator_step`: the
  template's task, 256 miners queried under the timeout, the reward model, the per-hotkey moving averages, a
  journal record) plus the atomic save of the scores that follows it, in this process. The 256 template miners
  are Axons serving the template plugin's ``miner_forward`` behind a blacklist (the miner neuron's default: only
  known validators), in one child process (``spawn``). The metagraph is a stand-in holding the 256 axons and
  hotkeys (no chain: the step does not read one); the chain's part is measured by ``taonet bench node``.
- ``miner_process_rss_mb``: the resident memory of one ``taonet miner run`` process of the template, alone, on a
  dev node (a ``taonet.testing.LocalNet``), after it served for ``MINER_BLOCKS`` blocks.
- ``import_plugins_s``: a fresh ``python -c "import taonet.plugins"`` (interpreter start included), and
  ``python_startup_s``, a fresh ``python -c pass``, beside it.

Each figure is the median over ``runs`` runs after a warm-up; latencies have their p50 and p99 (nearest rank).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import anyio
import structlog

from . import builtin_subnets, host
from ._stats import median_p99

MINERS = 256
STEPS = 40
MINER_BLOCKS = 30
IMPORT_RUNS = 5

FIGURES = ("validator_step_256_p50_ms", "validator_step_256_p99_ms", "miner_process_rss_mb", "import_plugins_s",
           "python_startup_s", *builtin_subnets.FIGURES)
FIGURES += host.FIGURES  # the neuron host and the gateway (tools/bench/host.py)
LAYOUT = ("validator step in this process, 256 template miners (Axons) in one spawned child; the miner process "
          "and its dev node as separate processes; imports in fresh interpreters; " + builtin_subnets.LAYOUT)


def _quiet_logs() -> None:
    """Warnings and worse only, on stderr: stdout carries the figures (one JSON object with --json)."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                        logger_factory=structlog.PrintLoggerFactory(sys.stderr))


# --- the miners' child process ---------------------------------------------------------------------------------


async def _miners_main(conn: Any, n: int, validator: str) -> None:
    from taonet.kernel import Axon
    from taonet.ledger import Keypair
    from taonet.plugins import load_plugin

    plugin = load_plugin("template")
    options = plugin.options()
    synapse_type = plugin.protocol.synapses[0]

    async def forward(synapse: Any) -> Any:
        return await plugin.hook.miner_forward(synapse=synapse, options=options)

    async def blacklist(synapse: Any) -> tuple[bool, str]:
        ok = synapse.dendrite.hotkey == validator
        return (not ok, "" if ok else "not a registered validator with a permit")

    async with anyio.create_task_group() as tg:
        infos = []
        for _ in range(n):
            axon = Axon(Keypair.generate(), "tcp://127.0.0.1:0").attach(forward, blacklist, synapse=synapse_type)
            info = await tg.start(axon.serve)
            infos.append((info.ip, info.port, info.hotkey))
        conn.send(infos)
        await anyio.to_thread.run_sync(conn.recv)  # the parent says stop
        tg.cancel_scope.cancel()


def _miners_child(conn: Any, n: int, validator: str) -> None:
    """Entry point of the miners' child process."""
    _quiet_logs()
    anyio.run(_miners_main, conn, n, validator)


# --- the validator step (this process) -------------------------------------------------------------------------



async def _steps(keypair: Any, infos: list[tuple[str, int, str]], steps: int, folder: Path) -> list[float]:
    from taonet.kernel import AxonInfo, Dendrite
    from taonet.plugins import Journal, Scores, StateDir, load_plugin, validator_step

    plugin = load_plugin("template")
    options = plugin.options({"sample_size": str(len(infos))})
    axons = [AxonInfo(ip=ip, port=port, hotkey=hk) for ip, port, hk in infos]
    metagraph = types.SimpleNamespace(n=len(axons), axons=axons, hotkeys=[a.hotkey for a in axons])
    scores = Scores()
    latencies = []
    with StateDir(folder) as state:
        journal = Journal(state.journal_dir, {"plugin": "template", "netuid": 1, "hotkey": keypair.ss58_address})
        journal.open()
        try:
            async with Dendrite(keypair) as dendrite:
                for block in range(steps):
                    t0 = time.perf_counter()
                    record = await validator_step(plugin, options, scores, block=block, metagraph=metagraph,
                                                  dendrite=dendrite, hotkey=keypair.ss58_address, journal=journal)
                    await anyio.to_thread.run_sync(state.save_scores, scores)
                    latencies.append(time.perf_counter() - t0)
                    if record is None or any(r["status"] != 200 for r in record["responses"]):
                        raise RuntimeError("a template miner did not answer 200 in the bench")
        finally:
            journal.close()
    return latencies


def _validator_step(runs: int, say: Any) -> dict[str, float]:
    from taonet.ledger import Keypair

    keypair = Keypair.generate()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_miners_child, args=(child, MINERS, keypair.ss58_address), daemon=True)
    proc.start()
    try:
        if not parent.poll(120):
            raise RuntimeError("the miners' child did not start within 120 s")
        infos = parent.recv()
        with tempfile.TemporaryDirectory(prefix="taonet-bench-plugins-") as tmp:
            say("validator step: warm-up")
            anyio.run(_steps, keypair, infos, 5, Path(tmp) / "warm")
            samples = []
            for i in range(runs):
                say(f"validator step: run {i + 1}/{runs}")
                samples.append(median_p99(anyio.run(_steps, keypair, infos, STEPS, Path(tmp) / f"run{i}"), 1000))
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
    return {"validator_step_256_p50_ms": statistics.median(s[0] for s in samples),
            "validator_step_256_p99_ms": statistics.median(s[1] for s in samples)}


# --- a miner process's memory ------------------------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc (this figure needs Linux)")


def _miner_rss(runs: int, say: Any) -> dict[str, float]:
    from taonet.testing import LocalNet

    samples = []
    for i in range(runs):
        say(f"miner process: run {i + 1}/{runs}")
        with (tempfile.TemporaryDirectory(prefix="taonet-bench-miner-") as tmp,
              LocalNet(tmp, "template", timeout=60.0) as net):
            miner = net.add_miner()
            net.advance(blocks=MINER_BLOCKS)
            assert miner.proc is not None
            samples.append(_rss_mb(miner.proc.pid))
    return {"miner_process_rss_mb": statistics.median(samples)}


# --- imports -------------------------------------------------------------------------------------------------------


def _fresh(code: str, runs: int) -> float:
    subprocess.run([sys.executable, "-c", code], check=True)  # warm-up: the OS's file cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(*, runs: int = 5, progress: Any = None) -> dict[str, Any]:
    """Measure the plugin layer (see the module docs); medians of ``runs`` runs after a warm-up."""
    say = (lambda m: progress.print(f"[dim]{m}[/]")) if progress is not None else (lambda m: None)
    saved_logging = structlog.get_config()
    _quiet_logs()
    try:
        result: dict[str, Any] = {}
        result.update(_validator_step(runs, say))
        result.update(_miner_rss(max(1, min(runs, 3)), say))
        say("imports")
        result["import_plugins_s"] = _fresh("import taonet.plugins", max(runs, IMPORT_RUNS))
        result["python_startup_s"] = _fresh("pass", max(runs, IMPORT_RUNS))
        result.update(host.measure(runs, say))
        result.update(builtin_subnets.measure(runs, say))
    finally:
        structlog.configure(**saved_logging)
    out: dict[str, Any] = {k: round(result[k], 3) for k in FIGURES}
    out.update(runs=runs, process_layout=f"{LAYOUT}; {host.LAYOUT}")
    return out
