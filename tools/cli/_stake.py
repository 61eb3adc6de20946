"""`taonet stake add|remove|list` and `taonet delegate nominate|list|add|remove`: stake is per hotkey (as the seeds
describe); a --netuid, when given, is checked (the hotkey must hold a UID there)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

from ._common import (
    AsJson,
    Endpoint,
    Hotkey,
    Netuid,
    NoPrompt,
    Out,
    PasswordStdin,
    Rao,
    ReadTimeout,
    WalletName,
    WalletPath,
    Wide,
    WriteTimeout,
    check_address,
    confirm,
    conflict,
    parse_amount,
    run,
    unlock_coldkey,
    wallet_of,
)
from ._numbers import bounded

stake_app = typer.Typer(
    help="Stake: put your coldkey's τ behind a hotkey (yours or a delegate's), take it back, list it.\n\n"
         "Example: taonet stake add --hotkey validator --amount 100",
    no_args_is_help=True)
delegate_app = typer.Typer(
    help="Delegates: hotkeys that take others' stake for a take of what they earn.\n\n"
         "Example: taonet delegate list",
    no_args_is_help=True)

HotkeySs58 = Annotated[str | None, typer.Option("--hotkey-ss58", "--hotkey-ss58-address", metavar="SS58",
                                                help="A hotkey's address (instead of the wallet's --hotkey).")]
Amount = Annotated[str | None, typer.Option("--amount", metavar="TAO", help="How much (τ; RAO with --rao).")]
AllOf = Annotated[bool, typer.Option("--all", help="All of it.")]
Delegate = Annotated[str, typer.Option("--delegate", "--delegate-ss58", metavar="SS58", help="The delegate's "
                                                                                             "hotkey.")]


def _one_hotkey(hotkey: str | None, hotkey_ss58: str | None) -> None:
    """A usage error (exit 2) when both the wallet's --hotkey and --hotkey-ss58 are given (-H was dropped)."""
    if hotkey is not None and hotkey_ss58 is not None:
        raise conflict("--hotkey", "--hotkey-ss58", "both name the hotkey; give the wallet's hotkey (-H NAME) or an "
                       "address (--hotkey-ss58 SS58)")


def _hotkey_address(w: Any, hotkey_ss58: str | None, option: str = "--hotkey-ss58") -> str:
    if hotkey_ss58:
        return check_address(hotkey_ss58, option)
    return w.get_hotkeypub().ss58_address


def _move(kind: str, hotkey: str, amount: str | None, all_: bool, netuid: int | None, w: Any, endpoint: str | None,
          no_prompt: bool, password_stdin: bool, out: Out, timeout: float, delegate: bool = False) -> None:
    """Stake (kind "add") or unstake ("remove") an amount, or all of it, on ``hotkey``; one line or JSON. With
    ``delegate`` (`delegate add`), a hotkey that is not a delegate is refused (NotADelegate) before anything is
    asked or sent."""
    if (amount is None) == (not all_):
        raise typer.BadParameter("give --amount TAO or --all", param_hint="--amount")
    given = None if amount is None else parse_amount(amount, as_rao=out.rao)  # a usage error before the wallet's
    coldkey = w.get_coldkeypub().ss58_address

    async def how_much(sub: Any) -> int:
        if delegate:
            await _check_delegate(sub, hotkey, coldkey, w.name)
        if given is not None:
            return given
        if kind == "add":
            ed = (await sub.get_existential_deposit()).rao
            return max(0, (await sub.get_balance(coldkey)).rao - ed)
        return (await sub.get_stake(coldkey, hotkey)).rao

    rao = run(how_much, endpoint, timeout, f"stake {kind}", out=out)
    verb = "stake" if kind == "add" else "unstake"
    if rao == 0:  # the chain takes at least 1 RAO: say why there is nothing, before any password is asked
        from ._errors import NothingToMove

        why = ("give at least 1 RAO" if given is not None
               else f"{coldkey} has nothing free to stake beyond the existential deposit" if kind == "add"
               else f"{coldkey} has no stake on {hotkey} (taonet stake list shows where it is)")
        raise NothingToMove(what=f"stake {kind}", reason=why)
    where = f" (subnet {netuid})" if netuid is not None else ""
    confirm(f"{verb.capitalize()} {out.amount(rao)} on {hotkey}{where}?", no_prompt, out)
    unlock_coldkey(w, password_stdin)

    async def write(sub: Any) -> tuple[Any, int]:
        with out.status("waiting for inclusion"):
            if kind == "add":
                result = await (sub.add_stake(w, netuid, hotkey, rao) if netuid is not None
                                else sub.add_stake(w, hotkey, rao))
            else:
                result = await (sub.unstake(w, netuid, hotkey, rao) if netuid is not None
                                else sub.remove_stake(w, hotkey, rao))
        return result, (await sub.get_stake(coldkey, hotkey)).rao if result.success else 0

    result, now = run(write, endpoint, timeout, f"stake {kind}", out=out, write=True,
                      check=f"taonet stake list -w {w.name}")
    past = "staked" if kind == "add" else "unstaked"
    out.wrote(result, f"{past} {out.amount(rao)} on {hotkey}{where}", f"stake now {out.amount(now)}", stake=now)


async def _check_delegate(sub: Any, hotkey: str, coldkey: str, wallet: str) -> None:
    """For `delegate add`: UnknownHotkey (exit 6) for a hotkey the chain does not know, NotADelegate (exit 3) for one
    never nominated (it has no take), yours included: the chain would take stake on your own hotkey, but `delegate
    add` stakes on delegates; `stake add` is the command for your own."""
    from taonet.ledger import ss58_decode

    hk = await sub.call("hotkey", hotkey=hotkey)
    if hk["owner"] is None:
        from taonet.ledger.errors import UnknownHotkey

        raise UnknownHotkey(hotkey=hotkey)
    if hk["take"] is None:
        from ._errors import NotADelegate

        raise NotADelegate(hotkey=hotkey, own=bytes(hk["owner"]) == ss58_decode(coldkey), wallet=wallet)


@stake_app.command("add")
def stake_add(amount: Amount = None, all_: AllOf = False, wallet_name: WalletName = None, hotkey: Hotkey = None,
              hotkey_ss58: HotkeySs58 = None, netuid: Netuid = None, wallet_path: WalletPath = None,
              endpoint: Endpoint = None, no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False,
              as_json: AsJson = False, as_rao: Rao = False, timeout: WriteTimeout = 60.0) -> None:
    """Stake τ from your coldkey on a hotkey (your wallet's --hotkey, or --hotkey-ss58); --all: all that is free."""
    _one_hotkey(hotkey, hotkey_ss58)
    w = wallet_of(wallet_name, hotkey, wallet_path)
    _move("add", _hotkey_address(w, hotkey_ss58), amount, all_, netuid, w, endpoint, no_prompt, password_stdin,
          Out(as_json, as_rao), timeout)


@stake_app.command("remove")
def stake_remove(amount: Amount = None, all_: AllOf = False, wallet_name: WalletName = None, hotkey: Hotkey = None,
                 hotkey_ss58: HotkeySs58 = None, netuid: Netuid = None, wallet_path: WalletPath = None,
                 endpoint: Endpoint = None, no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False,
                 as_json: AsJson = False, as_rao: Rao = False, timeout: WriteTimeout = 60.0) -> None:
    """Unstake τ from a hotkey back to your coldkey; --all: all your stake on it."""
    _one_hotkey(hotkey, hotkey_ss58)
    w = wallet_of(wallet_name, hotkey, wallet_path)
    _move("remove", _hotkey_address(w, hotkey_ss58), amount, all_, netuid, w, endpoint, no_prompt, password_stdin,
          Out(as_json, as_rao), timeout)


@stake_app.command("list")
def stake_list(wallet_name: WalletName = None, wallet_path: WalletPath = None,
               all_: Annotated[bool, typer.Option("--all", "-a", help="Every wallet under the wallet path.")] = False,
               endpoint: Endpoint = None, wide: Wide = False, as_json: AsJson = False, as_rao: Rao = False,
               timeout: ReadTimeout = 10.0) -> None:
    """Your coldkey's stake per hotkey, with the subnets where each hotkey holds a UID."""
    from taonet.kernel import list_wallets
    from taonet.kernel.errors import WalletError
    from taonet.ledger import ss58_encode

    out = Out(as_json, as_rao)
    names = list_wallets(wallet_path) if all_ else [wallet_of(wallet_name, None, wallet_path).name]
    wallets = [wallet_of(n, None, wallet_path) for n in names]
    # a wallet named alone must have its coldkey (the one-line error says how to make it); --all passes over any
    # without one or with one that cannot be read, as `wallet balance --all` does (`wallet list` says why)
    colds = []
    for w in wallets:
        try:
            colds.append((w, w.get_coldkeypub().ss58_address))
        except WalletError:
            if not all_:
                raise
    known = {}  # hotkey address -> its name in the wallet
    for w, _ in colds:
        for h in w.list_hotkeys():
            try:
                known[wallet_of(w.name, h, wallet_path).get_hotkeypub().ss58_address] = h
            except WalletError:  # a hotkey file we cannot read has no name to show
                continue

    async def read(sub: Any) -> list[dict[str, Any]]:
        rows = []
        for w, cold in colds:
            for hot, bal in sorted((await sub.get_stakes(cold)).items()):
                addr = ss58_encode(hot)
                hk = await sub.call("hotkey", hotkey=hot)
                take = None if hk["take"] is None else hk["take"] / 0xFFFF  # None: not a delegate
                rows.append({"wallet": w.name, "coldkey": cold, "hotkey": addr, "hotkey_name": known.get(addr, ""),
                             "stake": bal.rao, "netuids": hk["netuids"], "take": take})
        return rows

    rows = run(read, endpoint, timeout, "stake list")
    # wallets that share a coldkey (a copy, a watch-only one) list the same stake: the total counts it once
    total = sum(r["stake"] for r in {(r["coldkey"], r["hotkey"]): r for r in rows}.values())
    if out.json:
        out.emit({"stakes": rows, "total": total})
        return
    shared = len({r["coldkey"] for r in rows}) < len({r["wallet"] for r in rows})
    once = " (each coldkey's stake counted once)" if shared else ""
    out.table("stake", ("WALLET", "HOTKEY", "HOTKEY_SS58", "NETUIDS", "STAKE"),
              [(r["wallet"], r["hotkey_name"], r["hotkey"], ",".join(map(str, r["netuids"])) or "-",
                out.figure(r["stake"])) for r in rows],
              left=("WALLET", "HOTKEY", "HOTKEY_SS58", "NETUIDS"), shorten=("HOTKEY_SS58",), wide=wide,
              caption=f"total {out.amount(total)}{once}", amounts=("STAKE",))


# --- delegation ------------------------------------------------------------------------------------------------
@delegate_app.command("nominate")
def delegate_nominate(take: Annotated[float, typer.Option("--take", min=0.0, max=1.0, parser=bounded(0, 1),
                                                          help="The share of what the hotkey earns that it keeps "
                                                          "(0.18: 18%), at most the chain's maximum take (18% "
                                                          "unless its genesis says otherwise; checked before "
                                                          "sending).")] = 0.18,
                      wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                      endpoint: Endpoint = None, no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False,
                      as_json: AsJson = False, timeout: WriteTimeout = 60.0) -> None:
    """Make your wallet's hotkey a delegate, keeping --take of what it earns; the rest goes to its stakers."""
    out = Out(as_json)
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    most = run(_max_take, endpoint, timeout, "delegate nominate", out=out)
    if most is not None and round(take * 0xFFFF) > most:  # as the client rounds it: the chain would refuse it
        raise typer.BadParameter(f"{take:.2%} is above the chain's maximum take, {most / 0xFFFF:.2%}: give at most "
                                 f"{math.floor((most + 0.5) / 0xFFFF * 10**4) / 10**4:g}", param_hint="--take")
    confirm(f"Make {hot.ss58_address} a delegate with a take of {take:.2%}?", no_prompt, out)
    unlock_coldkey(w, password_stdin)

    async def write(sub: Any) -> Any:
        with out.status("waiting for inclusion"):
            return await sub.nominate(w, take=take)

    out.wrote(run(write, endpoint, timeout, "delegate nominate", write=True, check="taonet delegate list"),
              f"{hot.ss58_address} is a delegate", f"take {take:.2%}")


async def _max_take(sub: Any) -> int | None:
    """The chain's maximum delegate take (u16: 65535 is 100%), as the node's ``info`` says it; None from a node
    that does not say it (the chain still refuses a take above it)."""
    most = (await sub.info()).get("max_take")
    return most if type(most) is int else None


@delegate_app.command("list")
def delegate_list(endpoint: Endpoint = None, wide: Wide = False, as_json: AsJson = False, as_rao: Rao = False,
                  timeout: ReadTimeout = 10.0) -> None:
    """Every delegate: its hotkey, owner, take, the stake on it and how many stake on it."""
    out = Out(as_json, as_rao)
    delegates = run(lambda sub: sub.get_delegates(), endpoint, timeout, "delegate list")
    delegates.sort(key=lambda d: -d.total_stake.rao)
    if out.json:
        out.emit({"delegates": [{"hotkey": d.hotkey_ss58, "owner": d.owner_ss58, "take": d.take,
                                 "stake": d.total_stake.rao, "nominators": d.nominators} for d in delegates]})
        return
    out.table("delegates", ("HOTKEY_SS58", "OWNER", "TAKE", "STAKE", "NOMINATORS"),
              [(d.hotkey_ss58, d.owner_ss58, f"{d.take:.2%}", out.figure(d.total_stake.rao), str(d.nominators))
               for d in delegates], left=("HOTKEY_SS58", "OWNER"), shorten=("OWNER", "HOTKEY_SS58"), wide=wide,
              amounts=("STAKE",))


@delegate_app.command("add")
def delegate_add(delegate: Delegate, amount: Amount = None, all_: AllOf = False, wallet_name: WalletName = None,
                 wallet_path: WalletPath = None, endpoint: Endpoint = None, no_prompt: NoPrompt = False,
                 password_stdin: PasswordStdin = False, as_json: AsJson = False, as_rao: Rao = False,
                 timeout: WriteTimeout = 60.0) -> None:
    """Stake on a delegate's hotkey (it keeps its take of what that stake earns); a hotkey that is not a delegate is
    refused (your own: `taonet stake add`)."""
    w = wallet_of(wallet_name, None, wallet_path)
    _move("add", _hotkey_address(w, delegate, "--delegate"), amount, all_, None, w, endpoint, no_prompt,
          password_stdin, Out(as_json, as_rao), timeout, delegate=True)


@delegate_app.command("remove")
def delegate_remove(delegate: Delegate, amount: Amount = None, all_: AllOf = False, wallet_name: WalletName = None,
                    wallet_path: WalletPath = None, endpoint: Endpoint = None, no_prompt: NoPrompt = False,
                    password_stdin: PasswordStdin = False, as_json: AsJson = False, as_rao: Rao = False,
                    timeout: WriteTimeout = 60.0) -> None:
    """Take stake back from a delegate's hotkey."""
    w = wallet_of(wallet_name, None, wallet_path)
    _move("remove", _hotkey_address(w, delegate, "--delegate"), amount, all_, None, w, endpoint, no_prompt,
          password_stdin, Out(as_json, as_rao), timeout)
