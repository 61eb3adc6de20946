"""`taonet demo`: a development node with a few clients that build a subnet and earn emission, until Ctrl-C.

The node runs in this process (its RPC on a free loopback port); each client is its own task with its own
Subtensor connection, doing what a subnet's participants do: the owner creates a subnet, validators and miners
register, validators stake and set weights every tempo, and the metagraph is shown after each epoch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
from rich.console import Console
from rich.table import Table

from taonet.kernel import Node, NodeConfig, Subtensor
from taonet.ledger import DEV_SUBNET_DEFAULTS, EpochCompleted, Keypair, dev_genesis

from .demo import fresh_demo_dir
from .signals import signal_stopped_group


@attrs.frozen
class Participant:
    """A coldkey/hotkey pair with a role."""

    name: str
    coldkey: Keypair
    hotkey: Keypair

    @classmethod
    def dev(cls, name: str, cold: str) -> Participant:
        """//Cold for the coldkey, //Cold//name for the hotkey."""
        return cls(name, Keypair.from_uri(f"//{cold}"), Keypair.from_uri(f"//{cold}//{name}"))


OWNER = Participant.dev("owner", "Alice")
VALIDATORS = [Participant.dev("validator1", "Bob"), Participant.dev("validator2", "Charlie")]
MINERS = [Participant.dev(f"miner{i}", "Dave" if i < 2 else "Eve") for i in range(1, 5)]
QUALITY = {"miner1": 0.9, "miner2": 0.6, "miner3": 0.35, "miner4": 0.1}
"""How good each miner's (pretend) work is; the validators score close to this, each with its own bias."""


def _metagraph_table(mg: Any, names: dict[str, str], epoch: int) -> Table:
    from rich import box

    table = Table(title=f"subnet {mg.netuid} after epoch {epoch} (block {mg.block})", box=box.SIMPLE_HEAD)
    for col in ("uid", "who", "S (τ)", "vp", "I", "D", "C", "Tv", "E (τ)"):
        table.add_column(col, justify="left" if col == "who" else "right", no_wrap=True)
    for uid in range(mg.n):
        table.add_row(str(uid), names.get(mg.hotkeys[uid], mg.hotkeys[uid][:8]), f"{mg.S[uid]:,.2f}",
                      "*" if mg.validator_permit[uid] else "", f"{mg.I[uid]:.4f}", f"{mg.D[uid]:.4f}",
                      f"{mg.C[uid]:.4f}", f"{mg.Tv[uid]:.4f}", f"{int(mg.E[uid]) / 1e9:,.4f}")
    return table


async def _setup(sub: Subtensor, console: Console) -> dict[str, int]:
    r = await sub.create_subnet(OWNER)
    console.print(f"owner {OWNER.coldkey.ss58_address[:8]}… created subnet 1: {r.message}")
    uids: dict[str, int] = {OWNER.name: 0}

    async def register(p: Participant) -> None:
        async with Subtensor(sub.endpoint) as own:  # each participant is its own client
            res = await own.burned_register(p, 1)
            if res.uid is None:
                raise RuntimeError(f"{p.name} could not register: {res.message}")
            uids[p.name] = res.uid
            console.print(f"{p.name:>10} registered at UID {res.uid} (burned in block {res.block})")

    async with anyio.create_task_group() as tg:
        for p in VALIDATORS + MINERS:
            tg.start_soon(register, p)
    for v, amount in zip(VALIDATORS, (300.0, 100.0), strict=True):
        r = await sub.add_stake(v, v.hotkey, amount)
        console.print(f"{v.name:>10} staked τ{amount:,.0f} on its hotkey: {r.message}")
    return uids


async def _validator(p: Participant, endpoint: str, uids: dict[str, int], bias: float) -> None:
    """Set weights from (pretend) scores every tempo; retries quietly until the first epoch gives it a permit."""
    async with Subtensor(endpoint) as sub:
        tempo = await sub.tempo(1)
        while True:
            scores = [max(0.0, QUALITY[m.name] + bias * (k - 1.5) / 10) for k, m in enumerate(MINERS)]
            await sub.set_weights(p, 1, [uids[m.name] for m in MINERS], scores)
            await sub.wait_for_block((await sub.get_current_block()) + tempo)


async def run_devnet(console: Console, *, data_dir: Path | None = None, block_time: float = 0.25,
                     epochs: int | None = None) -> list[Any]:
    """Run the demo network; stop after ``epochs`` epochs (None: until Ctrl-C). Returns the metagraphs shown."""
    data_dir = data_dir or fresh_demo_dir("node")
    config, authority = dev_genesis(subnet_defaults=attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=12, weights_rate_limit=1))
    node = Node(NodeConfig(data_dir=data_dir, authority=authority, genesis=config, block_time=block_time,
                           rpc="tcp://127.0.0.1:0", feed="tcp://127.0.0.1:0", fsync=False))
    shown: list[Any] = []
    names = {p.hotkey.ss58_address: p.name for p in [OWNER, *VALIDATORS, *MINERS]}
    async with signal_stopped_group(lambda: console.print("\n[bold]stopping[/] the clients and the node…")) as tg:
        addresses = await tg.start(node.run)
        console.rule("[bold]taonet dev network")
        for name, value in (("rpc", addresses["rpc"]), ("feed", addresses["feed"]), ("log", data_dir)):
            console.print(f"{name}: {value}", soft_wrap=True, markup=False, highlight=False)
        async with Subtensor(addresses["rpc"]) as sub:
            uids = await _setup(sub, console)
            for v, bias in zip(VALIDATORS, (1.0, -1.0), strict=True):
                tg.start_soon(_validator, v, addresses["rpc"], uids, bias)
            console.print("validators set weights every tempo; the metagraph is shown after each epoch "
                          "(Ctrl-C to stop)")
            seen = await sub.get_current_block()
            epoch = 0
            while epochs is None or epoch < epochs:
                head = await sub.wait_for_block(seen + 1)
                found = [b for b, _, e in await sub.get_events(seen + 1, head + 1, types=["ev.epoch_completed"])
                         if isinstance(e, EpochCompleted)]
                seen = head
                if not found:
                    continue
                epoch += 1
                mg = await sub.metagraph(1, block=found[-1])
                shown.append(mg)
                console.print(_metagraph_table(mg, names, epoch))
        tg.cancel_scope.cancel()
    return shown
