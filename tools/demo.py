"""`taonet demo`: a chain on disk in a few blocks, then replayed from its log; and where the demos keep their chains.

Both demos (this one, ``--ledger``, and the dev network of devnet.py) keep their chain under one directory,
``$TAONET_DEMO_DIR`` or ``~/.taonet/demo``, replaced on each run, so repeated runs leave nothing else behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from taonet.ledger import (
    DEV_ACCOUNTS,
    TAO,
    AddStake,
    BurnedRegister,
    Chain,
    CreateSubnet,
    FileStore,
    Keypair,
    Transfer,
    dev_genesis,
    hotkey_binding_payload,
    replay,
)


def demo_root() -> Path:
    """Where the demos keep their chains: ``$TAONET_DEMO_DIR`` or ``~/.taonet/demo``."""
    return Path(os.environ.get("TAONET_DEMO_DIR") or Path.home() / ".taonet" / "demo")


def fresh_demo_dir(name: str) -> Path:
    """``demo_root()/name``, emptied: the previous run's chain there is removed, nothing else is touched."""
    path = demo_root() / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _tao(rao: int) -> str:
    return f"τ{rao / TAO:,.4f}"


def run_demo(console: Console, *, data_dir: Path | None = None, blocks: int = 5) -> None:
    """Seal a genesis and ``blocks`` blocks of transfers, a subnet, registrations and stake; replay the log."""
    if data_dir is None:
        data_dir = fresh_demo_dir("ledger")
    data_dir.mkdir(parents=True, exist_ok=True)
    # a flat log (blocks/), or a node's data directory (chain/): never written beside, nor replayed instead
    if ((data_dir / "blocks").exists() and any((data_dir / "blocks").iterdir())) or (data_dir / "chain").exists():
        console.print(f"{data_dir} already holds a chain; using a fresh folder inside it", style="yellow",
                      markup=False)
        data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=data_dir))
    keys = {name: Keypair.from_uri(f"//{name}") for name in DEV_ACCOUNTS}
    config, authority = dev_genesis()
    console.rule("[bold]taonet demo: the chain")
    with FileStore(data_dir) as store:
        chain = Chain.create(config, authority, store=store)
        console.print(f"genesis {chain.genesis_hash.hex()[:16]}…  ({len(DEV_ACCOUNTS)} dev accounts funded)")
        alice, bob, charlie = keys["Alice"], keys["Bob"], keys["Charlie"]
        owner_hot = Keypair.from_uri("//Alice//owner")
        miner_hot = Keypair.from_uri("//Bob//miner")
        plan = [
            [(alice, Transfer(dest=bob.public_key, amount=250 * TAO)),
             (bob, Transfer(dest=charlie.public_key, amount=100 * TAO))],
            [(alice, CreateSubnet(hotkey=owner_hot.public_key, hotkey_signature=owner_hot.sign(
                hotkey_binding_payload(chain.genesis_hash, alice.public_key))))],
            [(bob, BurnedRegister(netuid=1, hotkey=miner_hot.public_key, hotkey_signature=miner_hot.sign(
                hotkey_binding_payload(chain.genesis_hash, bob.public_key))))],
            [(alice, AddStake(hotkey=owner_hot.public_key, amount=500 * TAO)),
             (bob, AddStake(hotkey=miner_hot.public_key, amount=50 * TAO))],
        ]
        for i in range(blocks):
            for signer, call in plan[i] if i < len(plan) else [(charlie, Transfer(dest=alice.public_key, amount=TAO))]:
                chain.call(signer, call)
            result = chain.seal()
            names = ", ".join(type(r.event).__name__ for r in result.events) or "no events"
            console.print(f"block {result.block.number:>3}  {result.block.hash.hex()[:16]}…  {names}")
            for ext, err in result.rejected:
                console.print(f"  [red]rejected[/] {type(ext.call).__name__}: {err}")
        head_digest = chain.state.digest()
        height = chain.height
    console.rule("[bold]replay from the log on disk")
    with FileStore(data_dir) as store:
        report = store.verify()
        state = replay(store)
    console.print(f"{report.blocks} blocks, {report.extrinsics} extrinsics: hashes and signatures verified")
    console.print(f"log: {data_dir}", soft_wrap=True)
    table = Table(title=f"balances at block {height}")
    for col in ("account", "address", "free", "staked"):
        table.add_column(col, justify="right" if col in ("free", "staked") else "left")
    for name, kp in keys.items():
        staked = sum(amount for (cold, _hot), amount in state.items("stake") if cold == kp.public_key)
        table.add_row(name, kp.ss58_address, _tao(state.free(kp.public_key)), _tao(staked))
    console.print(table)
    ok = state.digest() == head_digest
    console.print(f"state digest {state.digest().hex()}  "
                  f"{'[green]matches the live chain[/]' if ok else '[red]DIFFERS from the live chain[/]'}")
    if not ok:
        raise SystemExit(1)
