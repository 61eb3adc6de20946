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

    async def read(sub: Any) -> tuple[int, dict[int, list[Any]], dict[str, int], dict[str, list[int]]]:
        from taonet.ledger import ss58_encode

        if netuid is not None:
            await sub.get_subnet_info(netuid)  # SubnetNotFound (exit 6), not "no neurons"
        stakes: dict[str, int] = {}
        subnets_of: dict[str, list[int]] = {}

        async def read_hotkey(hotkey: str) -> None:
            subnets_of[hotkey] = (await sub.call("hotkey", hotkey=hotkey))["netuids"]

        async def read_stakes() -> None:
            # every stake the coldkey holds, on any hotkey: a hotkey pruned from every subnet keeps its stake
            stakes.update({ss58_encode(h): b.rao for h, b in (await sub.get_stakes(coldkey)).items()})
            async with anyio.create_task_group() as more:
                for h in stakes.keys() - names.keys():
                    more.start_soon(read_hotkey, h)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read_stakes)
            for h in names:
                tg.start_soon(read_hotkey, h)
        netuids = {n for h in names for n in subnets_of[h]}
        if netuid is not None:
            netuids.intersection_update({netuid})
        found: dict[int, list[Any]] = {}

        async def neurons_of(n: int) -> None:
            found[n] = [x for x in await sub.neurons_lite(n) if x.hotkey in names or x.coldkey == coldkey]

        with out.status(f"reading {len(netuids)} subnets"):
            async with anyio.create_task_group() as tg:
                for n in sorted(netuids):
                    tg.start_soon(neurons_of, n)
        return (await sub.get_balance(coldkey)).rao, found, stakes, subnets_of

    free, found, stakes, subnets_of = run(read, endpoint, timeout, "wallet overview")
    neurons = [x for n in sorted(found) for x in found[n]]
    stake, emission = sum(stakes.values()), sum(x.emission.rao for x in neurons)
    # stake on hotkeys that hold no UID on any subnet (pruned, or never registered): still the coldkey's
    idle = sorted(((h, names.get(h, ""), rao) for h, rao in stakes.items() if rao and not subnets_of.get(h)),
                  key=lambda r: (-r[2], r[0]))
    if out.json:
        out.emit({"wallet": w.name, "coldkey": coldkey, "free": free, "stake": stake, "emission": emission,
                  "subnets": [{"netuid": n, "neurons": [{**neuron_json(x), "hotkey_name": names.get(x.hotkey, "")}
                                                        for x in found[n]]} for n in sorted(found)],
                  "unregistered_stake": [{"hotkey": h, "hotkey_name": name, "stake": rao} for h, name, rao in idle]})
        return
    out.line(f"wallet [bold]{escaped(w.name)}[/], coldkey {coldkey}", markup=True)
    out.line(f"free {out.amount(free)}, staked {out.amount(stake)}")
    if not neurons:
        where = "" if netuid is None else f" on subnet {netuid}"
        out.line(f"no neurons{where}: taonet subnet register --netuid NETUID --wallet-name {w.name} --hotkey NAME")
    if idle:
        h, name, _ = idle[0]
        which = f"-H {name}" if name else f"--hotkey-ss58 {h}"
        out.table(f"not registered on any subnet: {out.amount(sum(r[2] for r in idle))} of stake earning nothing",
                  ("HOTKEY", "HOTKEY_SS58", "STAKE"), [(name or "?", h, out.figure(rao)) for h, name, rao in idle],
                  left=("HOTKEY", "HOTKEY_SS58"), shorten=("HOTKEY_SS58",), wide=wide, amounts=("STAKE",))
        out.line(f"taonet stake remove -w {w.name} {which} --all takes it back")
    for n in sorted(found):
        rows = [neuron_row(out, x, w.name, names.get(x.hotkey, "?")) for x in found[n]]
        sub_stake, sub_emission = sum(x.stake.rao for x in found[n]), sum(x.emission.rao for x in found[n])
        out.table(f"subnet {n}", columns(out), rows, left=("COLDKEY", "HOTKEY", "AXON", "HOTKEY_SS58"),
                  drop=DROP_ORDER, shorten=("HOTKEY_SS58",), wide=wide,
                  caption=f"{counted(len(rows), 'neuron')}, stake {out.amount(sub_stake)}, last epoch paid "
                          f"{sub_emission:,} RAO")
