"""The neuron host's and the gateway's figures, part of `taonet bench plugins`.

One dev network (a ``taonet.testing.LocalNet`` node, block time ``BLOCK_TIME``, tempo ``TEMPO``) with two neuron
hosts as processes (`taonet neurons run FILE`): host A runs ``HOST_MINERS`` template miners; host B runs one validator
with a gateway (relaying to ``GATEWAY_MINERS`` miners).

- ``neuron_host_rss_mb_64``: host A's resident memory after ``HOST_TEMPOS`` tempos (median of ``runs`` samples, one a
  block).
- ``neuron_host_cpu_64``: host A's CPU (user + system, in % of one core) while this process queries each of its
  miners 4 times a second (a Dendrite signed by the validator's hotkey, which holds a permit, so the miners' default
  blacklist lets it in); the median of ``runs`` windows of ``LOAD_SECONDS``.
- ``gateway_query_p50_ms`` / ``_p99_ms``: one organic query (the template's number) sent from this process to host
  B's gateway and answered by the best of ``GATEWAY_MINERS`` miners; p50 and p99 of ``GATEWAY_QUERIES`` queries per
  run, the median over ``runs`` runs after a warm-up run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from ._procs import stop
from ._stats import median_p99

HOST_MINERS = 64
GATEWAY_MINERS = 8
HOST_TEMPOS = 2
LOAD_SECONDS = 5.0
QUERIES_PER_SECOND = 4
GATEWAY_QUERIES = 100
BLOCK_TIME = 0.25
TEMPO = 10

FIGURES = ("neuron_host_rss_mb_64", "neuron_host_cpu_64", "gateway_query_p50_ms", "gateway_query_p99_ms")
LAYOUT = ("a dev node, host A (the miners) and host B (one validator with a gateway) as processes; the miners' "
          "load and the organic queries from the bench process")


def _proc(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds user + system) of a process, from /proc."""
    rss = next(int(line.split()[1]) / 1024 for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")




def _wallet(root: Path, name: str, cold: str, hotkeys: list[str]) -> list[Any]:
    from taonet.kernel import Wallet

    out = []
    for i, h in enumerate(hotkeys):
        w = Wallet(name, h, root / "wallets")
        if i == 0:
            w.create_coldkey_from_uri(cold, encrypt=False)
        w.create_hotkey_from_uri(f"{cold}//{name}//{h}")
        out.append(w)
    return out


async def _register(endpoint: str, netuid: int, cold_uri: str, wallets: list[Any], stake: float) -> None:
    from taonet.kernel import Subtensor
    from taonet.ledger import BurnedRegister, Extrinsic, Keypair, hotkey_binding_payload

    cold = Keypair.from_uri(cold_uri)
    async with Subtensor(endpoint, timeout=60.0) as sub:
        genesis, nonce = await sub.genesis_hash(), await sub.get_nonce(cold)
        exts = [Extrinsic.sign(BurnedRegister(netuid=netuid, hotkey=w.hotkey.public_key, hotkey_signature=w.hotkey.sign(
            hotkey_binding_payload(genesis, cold.public_key)), max_burn=(1 << 64) - 1), cold, nonce=nonce + i,
            genesis=genesis) for i, w in enumerate(wallets)]
        await sub.submit_batch(exts)
        with anyio.fail_after(120):
            for w in wallets:
                while await sub.get_uid_for_hotkey_on_subnet(w.hotkey.public_key, netuid) is None:
                    await sub.wait_for_block()
        for w in wallets if stake else []:
            await sub.add_stake(cold, w.hotkey.ss58_address, stake)


def _host(root: Path, name: str, rows: str, endpoint: str) -> subprocess.Popen[str]:
    from taonet.testing import TAONET, read_line

    (root / f"{name}.toml").write_text(f'endpoint = "{endpoint}"\nwallet_path = "wallets"\n{rows}')
    with open(root / "logs" / f"{name}.log", "w") as log:
        proc = subprocess.Popen([*TAONET, "neurons", "run", str(root / f"{name}.toml"), "--log-json",
                                 "--log-level", "warning"], stdout=subprocess.PIPE, stderr=log, text=True, cwd=root)
    line = read_line(proc, "neurons", 180)
    if not line.endswith(" 0 restarting, 0 failed"):
        raise RuntimeError(f"host {name}: {line}; see {root / 'logs' / f'{name}.log'}")
    return proc


async def _load(validator: Any, axons: list[Any], seconds: float) -> None:
    """Each axon queried QUERIES_PER_SECOND times a second for ``seconds``."""
    from taonet.kernel import Dendrite
    from taonet.subnets.template import Double

    period = 1.0 / QUERIES_PER_SECOND
    sent = answered = 0
    async with Dendrite(validator) as d:
        end = anyio.current_time() + seconds
        tick = anyio.current_time()
        while tick < end:
            out = await d(axons, Double(number=3), timeout=2.0)
            sent, answered = sent + len(out), answered + sum(1 for o in out if o.doubled == 6)
            tick += period
            await anyio.sleep(max(0.0, tick - anyio.current_time()))
    if answered < 0.95 * sent:
        raise RuntimeError(f"the host's miners answered {answered} of {sent} queries; see its log")


async def _gateway_latencies(endpoint: str, netuid: int, n: int) -> list[float]:
    from taonet.kernel import Dendrite, Subtensor
    from taonet.ledger import Keypair
    from taonet.plugins import OrganicQuery, find_gateways

    async with Subtensor(endpoint, timeout=30.0) as sub:
        (gateway, *_) = await find_gateways(sub, netuid)
    out = []
    async with Dendrite(Keypair.generate()) as d:
        for i in range(n):
            t0 = time.perf_counter()
            q = await d.call(gateway, OrganicQuery(netuid=netuid, query=i + 1), timeout=5.0)
            out.append(time.perf_counter() - t0)
            if q.dendrite.status_code != 200 or not q.answers or q.answers[0]["answer"] != 2 * (i + 1):
                raise RuntimeError(f"the gateway did not answer: {q.dendrite.status_code} {q.error or ''}")
    return out


def measure(runs: int, say: Any) -> dict[str, float]:
    """Every figure of this module (see its docs)."""
    from taonet.testing import LocalNet

    hp = {"weights_rate_limit": 2, "max_registrations_per_block": 256, "burn_increase_mult_milli": 1000}
    procs: list[subprocess.Popen[str]] = []
    with (tempfile.TemporaryDirectory(prefix="taonet-bench-host-") as tmp,
          LocalNet(tmp, "template", block_time=BLOCK_TIME, tempo=TEMPO, hyperparameters=hp, timeout=60.0) as net):
        root = Path(tmp)
        try:
            say(f"neuron host: registering {HOST_MINERS} miners and a validator")
            miners = _wallet(root, "miners", "//Bob", [f"m{i}" for i in range(HOST_MINERS)])
            (validator,) = _wallet(root, "validators", "//Charlie", ["v0"])
            anyio.run(_register, net.endpoint, net.netuid, "//Bob", miners, 0.0)
            anyio.run(_register, net.endpoint, net.netuid, "//Charlie", [validator], 1000.0)
            common = f'plugin = "template"\nnetuid = {net.netuid}\n'
            procs.append(host_a := _host(root, "miners", f'[[neurons]]\nrole = "miner"\n{common}wallet = "miners"\n'
                                         f'hotkey = "m{{i}}"\ncount = {HOST_MINERS}\nstate_dir = "state/m{{i}}"\n',
                                         net.endpoint))
            procs.append(_host(root, "validator", f'[[neurons]]\nrole = "validator"\n{common}wallet = "validators"\n'
                               f'hotkey = "v0"\nstate_dir = "state/v0"\ngateway = "127.0.0.1:0"\noptions = {{ '
                               f'organic_miners = {GATEWAY_MINERS}, gateway_rate = 100000.0, gateway_total_rate = '
                               '100000.0 }\n', net.endpoint))
            say(f"neuron host: {HOST_TEMPOS} tempos")
            net.advance(tempos=HOST_TEMPOS)
            rss = []
            for _ in range(max(runs, 1)):
                rss.append(_proc(host_a.pid)[0])
                net.advance(blocks=1)
            mg = net.metagraph()
            axons = [mg.axons[mg.hotkeys.index(w.hotkey.ss58_address)] for w in miners]
            cpu = []
            anyio.run(_load, validator.hotkey, axons, 1.0)  # warm-up
            for i in range(max(runs, 1)):
                say(f"neuron host: load window {i + 1}/{runs}")
                _, c0 = _proc(host_a.pid)
                t0 = time.monotonic()
                anyio.run(_load, validator.hotkey, axons, LOAD_SECONDS)
                _, c1 = _proc(host_a.pid)
                cpu.append(100.0 * (c1 - c0) / (time.monotonic() - t0))
            say("gateway: warm-up")
            anyio.run(_gateway_latencies, net.endpoint, net.netuid, max(5, GATEWAY_QUERIES // 5))
            samples = []
            for i in range(max(runs, 1)):
                say(f"gateway: run {i + 1}/{runs}")
                latencies = anyio.run(_gateway_latencies, net.endpoint, net.netuid, GATEWAY_QUERIES)
                samples.append(median_p99(latencies, 1000))
        finally:
            for p in procs:
                stop(p, timeout=15)
    return {"neuron_host_rss_mb_64": statistics.median(rss), "neuron_host_cpu_64": statistics.median(cpu),
            "gateway_query_p50_ms": statistics.median(s[0] for s in samples),
            "gateway_query_p99_ms": statistics.median(s[1] for s in samples)}
