"""Real nodes for tests: in-process (a task group) or as `taonet node run` processes, always stopped at the end."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio

from taonet.kernel import Node, NodeConfig, Subtensor
from taonet.kernel import Wallet as DiskWallet
from taonet.kernel.node import Replica
from taonet.ledger import Hyperparameters, Keypair, dev_genesis

TAONET = [sys.executable, "-m", "taonet.tools"]


@asynccontextmanager
async def running_node(data_dir: Path, *, hyper: Hyperparameters | None = None, **config: Any
                       ) -> AsyncIterator[tuple[Node, Subtensor]]:
    """A dev node with fast blocks on free loopback ports, and a client connected to it."""
    genesis, authority = dev_genesis(subnet_defaults=hyper)
    opts: dict[str, Any] = {"block_time": 0.1, "rpc": "tcp://127.0.0.1:0", "feed": "tcp://127.0.0.1:0",
                            "fsync": False}
    opts.update(config)
    node = Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=genesis, **opts))
    async with anyio.create_task_group() as tg:
        addresses = await tg.start(node.run)
        async with Subtensor(addresses["rpc"], timeout=20.0) as sub:
            yield node, sub
        tg.cancel_scope.cancel()


def replica(data_dir: Path, leader: str) -> Replica:
    """A replica of the node at ``leader`` keeping its chain in ``data_dir``, on free loopback ports (not started)."""
    return Replica(NodeConfig(data_dir=data_dir, authority=Keypair.generate(), rpc="tcp://127.0.0.1:0",
                              feed="tcp://127.0.0.1:0", fsync=False), leader)


@contextmanager
def node_process(data_dir: Path, *args: str, block_time: float = 0.1, env: dict[str, str] | None = None
                 ) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`taonet node run --dev` as a child process; yields it and its printed addresses; kills it at the end."""
    cmd = [*TAONET, "node", "run", "--dev", "--block-time", str(block_time), "--data-dir", str(data_dir),
           "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    try:
        addresses = read_addresses(proc)
        yield proc, addresses
    finally:
        stop(proc)


def free_node_ports() -> tuple[int, int]:
    """(rpc, feed): a loopback RPC port whose next two are free too (the feed at +1, the node's actors' channel at
    +2), for a node restarted on the same ports."""
    for _ in range(50):
        with contextlib.ExitStack() as stack:
            try:
                first = stack.enter_context(socket.socket())
                first.bind(("127.0.0.1", 0))
                base = first.getsockname()[1]
                for port in (base + 1, base + 2):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
            return base, base + 1
    raise RuntimeError("no three free ports in a row")


@contextmanager
def node_on_ports(data_dir: Path, rpc: int | str, feed: int | str, *args: str, block_time: float = 0.1
                  ) -> Iterator[subprocess.Popen[str]]:
    """`taonet node run --dev` (no fsync, warnings only on its discarded stderr) with its RPC and feed on the given
    loopback ports (or nng addresses), the same again after a restart; stopped at the end."""
    where = [f"tcp://127.0.0.1:{x}" if isinstance(x, int) else x for x in (rpc, feed)]
    with node_process(data_dir, "--rpc", where[0], "--feed", where[1], "--no-fsync", "--log-level", "warning", *args,
                      block_time=block_time) as (proc, _):
        yield proc


def read_addresses(proc: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, str]:
    """The `rpc:` and `feed:` lines a node prints first, within ``timeout`` seconds (else RuntimeError, even if the
    node hangs before printing). Read a byte at a time from the pipe, so nothing after them is taken from a later
    reader of ``proc.stdout``."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    out: dict[str, str] = {}
    line = bytearray()
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while len(out) < 2:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"node did not print its addresses within {timeout:g} s (exit {proc.poll()})")
            if not sel.select(min(left, 0.5)):
                continue
            byte = os.read(fd, 1)
            if not byte:  # the node closed its output: it ended
                raise RuntimeError(f"node did not print its addresses (exit {proc.poll()})")
            if byte != b"\n":
                line += byte
                continue
            key, colon, value = line.decode(errors="replace").partition(":")
            line.clear()
            if colon:
                out[key.strip()] = value.strip()
    return out


def end(proc: subprocess.Popen[str], sig: int, timeout: float) -> None:
    """Send ``sig`` if ``proc`` still runs and wait up to ``timeout`` seconds for it, then kill it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str], timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
    end(proc, signal.SIGTERM, timeout)
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


class Wallet:
    """A coldkey and hotkey pair for tests (the kernel's Wallet stores keys on disk; tests need none)."""

    def __init__(self, name: str) -> None:
        self.coldkey = Keypair.from_uri(f"//{name}")
        self.hotkey = Keypair.from_uri(f"//{name}//hot")
        self.coldkeypub = self.coldkey.ss58_address


def dev_wallet(root: Path, name: str, cold: str) -> DiskWallet:
    """An unencrypted wallet ``name`` under ``root / "wallets"``: coldkey from the dev URI ``cold``, hotkey from
    ``cold//name``."""
    w = DiskWallet(name, "default", root / "wallets")
    w.create_coldkey_from_uri(cold, encrypt=False)
    w.create_hotkey_from_uri(f"{cold}//{name}")
    return w
