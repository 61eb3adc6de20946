"""`taonet bench cli`: how long the `taonet` command takes, process start included, as a user waits for it.

Process layout: a dev node runs as `taonet node run --dev` in a child process (0.25 s blocks, no fsync); every
measured command is a fresh `taonet` process (the console script pip installed next to this interpreter), its output
discarded; this process only starts them and sets the chain up through the SDK.

- ``cli_help_s``: `taonet --help`.
- ``cli_read_s``: `taonet subnet list --json` against the running node.
- ``overview_256_s``: `taonet wallet overview` (the table, at 80 columns) of a wallet whose coldkey has
  :data:`HOTKEYS` hotkeys on a subnet of :data:`UIDS` UIDs (the rest registered by //Alice), tempo 360.

Each figure is the median of ``runs`` measured runs after one warm-up run, with the p99 (nearest rank) beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from taonet.kernel import Subtensor, Wallet
from taonet.ledger import BurnedRegister, Extrinsic, Keypair, hotkey_binding_payload

from ._procs import start_node, stop
from ._stats import median_p99

__all__ = ["FIGURES", "HOTKEYS", "UIDS", "run"]

UIDS = 256
HOTKEYS = 16
BLOCK_TIME = 0.25
FIGURES = ("cli_help_s", "cli_help_p99_s", "cli_read_s", "cli_read_p99_s", "overview_256_s", "overview_256_p99_s")

TAONET = str(Path(sys.executable).parent / "taonet")




async def _setup(rpc: str, wallets: Path, uids: int, hotkeys: int) -> None:
    """Subnet 1 owned by //Alice, full with ``uids`` UIDs; wallet "bench" (coldkey //Bob) holds ``hotkeys`` of them."""
    alice, bob = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob")
    w = Wallet("bench", path=wallets)
    w.regenerate_coldkeypub(bob.ss58_address)
    mine = []
    for i in range(hotkeys):
        kp = Keypair.from_uri(f"//Bob//bench{i}")
        Wallet("bench", f"h{i}", wallets).create_hotkey(kp)
        mine.append(kp)
    others = [Keypair.from_uri(f"//Alice//bench{i}") for i in range(uids - 1 - hotkeys)]

    class Owner:
        coldkey, hotkey = alice, Keypair.from_uri("//Alice//owner")

    async with Subtensor(rpc, timeout=60) as sub:
        if not (created := await sub.create_subnet(Owner)).success:
            raise RuntimeError(f"setup: {created.message}")
        # tempo 360 (the real chain's): an epoch of the full subnet every 90 s, not every 2.5 s, so the figures
        # measure the command rather than the node's consensus competing with it for the cores
        for name, value in (("max_registrations_per_block", uids), ("max_allowed_validators", min(64, uids)),
                            ("max_allowed_uids", uids), ("tempo", 360)):
            if not (r := await sub.set_hyperparameter(alice, 1, name, value)).success:
                raise RuntimeError(f"setup: {r.message}")
        genesis = await sub.genesis_hash()
        exts = []
        for cold, hots in ((alice, others), (bob, mine)):
            nonce = await sub.get_nonce(cold)
            for hot in hots:
                call = BurnedRegister(netuid=1, hotkey=hot.public_key, max_burn=(1 << 64) - 1,
                                      hotkey_signature=hot.sign(hotkey_binding_payload(genesis, cold.public_key)))
                exts.append(Extrinsic.sign(call, cold, nonce=nonce, genesis=genesis))
                nonce += 1
        results = await sub.submit_batch(exts)
        if bad := [r for r in results if not r.success]:
            raise RuntimeError(f"setup registration refused: {bad[0].error}")
        with anyio.fail_after(120):
            while (await sub.get_subnet_info(1))["n"] < uids:
                await sub.wait_for_block()


def _time(args: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    out = subprocess.run([TAONET, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                         timeout=120)
    took = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"taonet {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()}")
    return took



def run(*, runs: int = 5, progress: Any = None, uids: int | None = None, hotkeys: int | None = None
        ) -> dict[str, Any]:
    """Measure the figures (see the module docs); one dict with only what this run measured and how it ran."""
    uids, hotkeys = uids or UIDS, hotkeys or HOTKEYS
    with tempfile.TemporaryDirectory(prefix="taonet-bench-cli-") as tmp:
        root = Path(tmp)
        proc, rpc = start_node([TAONET, "node", "run", "--dev", "--block-time", str(BLOCK_TIME), "--data-dir",
                                str(root / "node"), "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0",
                                "--no-fsync", "--mempool-per-signer", "10000", "--log-level", "warning"])
        try:
            anyio.run(_setup, rpc, root / "wallets", uids, hotkeys)
            env = {k: v for k, v in os.environ.items() if not k.startswith("TAONET_")}
            env.update({"TAONET_ENDPOINT": rpc, "TAONET_WALLET_PATH": str(root / "wallets"), "COLUMNS": "80"})
            out: dict[str, Any] = {}
            for name, args in (("cli_help", ["--help"]), ("cli_read", ["subnet", "list", "--json"]),
                               ("overview_256", ["wallet", "overview", "--wallet-name", "bench"])):
                if progress is not None:
                    progress.print(f"{name}: {runs} runs after a warm-up")
                _time(args, env)
                median, p99 = median_p99([_time(args, env) for _ in range(runs)])
                out[f"{name}_s"], out[f"{name}_p99_s"] = round(median, 4), round(p99, 4)
        finally:
            stop(proc)
    out.update({"runs": runs, "uids": uids, "hotkeys": hotkeys,
                "process_layout": "node: a `taonet node run --dev` child process; each measured command: a fresh "
                                  "`taonet` process (start included); this process: setup through the SDK"})
    return out
