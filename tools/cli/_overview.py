"""`taonet wallet overview`: every neuron a wallet holds, per subnet, with btcli's columns (fit to the terminal)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from .._words import counted
from ._common import (
    AsJson,
    Endpoint,
    Out,
    Rao,
    ReadTimeout,
    WalletName,
    WalletPath,
    Wide,
    escaped,
    run,
    wallet_of,
)
from ._neurontable import DROP_ORDER, columns, neuron_json, neuron_row

__all__ = ["overview"]


def _wallet_hotkeys(w: Any, wallet_path: str | None) -> dict[str, str]:
    """The wallet's hotkeys readable from disk: address -> name."""
    from taonet.kernel.errors import WalletError

    out = {}
    for name in w.list_hotkeys():
        try:
            out[wallet_of(w.name, name, wallet_path).get_hotkeypub().ss58_address] = name
        except WalletError:
            continue
    return out


def overview(wallet_name: WalletName = None, wallet_path: WalletPath = None,
             netuid: Annotated[int | None, typer.Option("--netuid", min=0, max=0xFFFF,
                                                        help="Only this subnet.")] = None,
             endpoint: Endpoint = None, wide: Wide = False, as_json: AsJson = False, as_rao: Rao = False,
             timeout: ReadTimeout = 10.0) -> None:
    """Every neuron of your wallet's hotkeys (and of its coldkey), per subnet: stake, scores, emission, axon."""
    import anyio

    out = Out(as_json, as_rao)
    w = wallet_of(wallet_name, None, wallet_path)
    coldkey = w.get_coldkeypub().ss58_address
    names = _wallet_hotkeys(w, wallet_path)

    async def read(sub: Any) -> tuple[int, dict[int, list[Any]]]:
        if netuid is not None:
            await sub.get_subnet_info(netuid)  # SubnetNotFound (exit 6), not "no neurons yet"
        netuids: set[int] = set()

        async def subnets_of(hotkey: str) -> None:
            netuids.update((await sub.call("hotkey", hotkey=hotkey))["netuids"])

        async with anyio.create_task_group() as tg:
            for h in names:
                tg.start_soon(subnets_of, h)
        if netuid is not None:
            netuids.intersection_update({netuid})
        found: dict[int, list[Any]] = {}

        async def neurons_of(n: int) -> None:
            found[n] = [x for x in await sub.neurons_lite(n) if x.hotkey in names or x.coldkey == coldkey]

        with out.status(f"reading {len(netuids)} subnets"):
            async with anyio.create_task_group() as tg:
                for n in sorted(netuids):
                    tg.start_soon(neurons_of, n)
        return (await sub.get_balance(coldkey)).rao, found

    free, found = run(read, endpoint, timeout, "wallet overview")
    neurons = [x for n in sorted(found) for x in found[n]]
    stake, emission = sum(x.stake.rao for x in neurons), sum(x.emission.rao for x in neurons)
    if out.json:
        out.emit({"wallet": w.name, "coldkey": coldkey, "free": free, "stake": stake, "emission": emission,
                  "subnets": [{"netuid": n, "neurons": [{**neuron_json(x), "hotkey_name": names.get(x.hotkey, "")}
                                                        for x in found[n]]} for n in sorted(found)]})
        return
    out.line(f"wallet [bold]{escaped(w.name)}[/], coldkey {coldkey}", markup=True)
    out.line(f"free {out.amount(free)}, staked {out.amount(stake)}")
    if not neurons:
        out.line("no neurons yet: taonet subnet register --netuid NETUID --wallet-name "
                 f"{w.name} --hotkey NAME")
    for n in sorted(found):
        rows = [neuron_row(out, x, w.name, names.get(x.hotkey, "?")) for x in found[n]]
        sub_stake, sub_emission = sum(x.stake.rao for x in found[n]), sum(x.emission.rao for x in found[n])
        out.table(f"subnet {n}", columns(out), rows, left=("COLDKEY", "HOTKEY", "AXON", "HOTKEY_SS58"),
                  drop=DROP_ORDER, shorten=("HOTKEY_SS58",), wide=wide,
                  caption=f"{counted(len(rows), 'neuron')}, stake {out.amount(sub_stake)}, last epoch paid "
                          f"{sub_emission:,} RAO")
