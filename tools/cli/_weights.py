"""`taonet weights set|show`: a validator's weights on a subnet, as btcli takes them (--uids 1,2 --weights
0.3,0.7), or by hotkey (--hotkeys SS58,SS58)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ._common import (
    AsJson,
    Endpoint,
    Hotkey,
    Netuid,
    NetuidArg,
    NoPrompt,
    Out,
    ReadTimeout,
    WalletName,
    WalletPath,
    WriteTimeout,
    confirm,
    netuid_of,
    parse_list,
    run,
    wallet_of,
)

weights_app = typer.Typer(
    help="Weights: what a validator says each miner is worth (signed by its hotkey).\n\n"
         "Example: taonet weights set --netuid 1 --uids 1,2 --weights 0.3,0.7",
    no_args_is_help=True)


@weights_app.command("set")
def weights_set(weights: Annotated[str, typer.Option("--weights", "-w8", metavar="W,W,...",
                                                     help="Weights, in the order of --uids or --hotkeys.")],
                uids: Annotated[str | None, typer.Option("--uids", metavar="UID,UID,...", help="The UIDs weighed.")
                                ] = None,
                hotkeys: Annotated[str | None, typer.Option("--hotkeys", metavar="SS58,SS58,...",
                                                            help="The hotkeys weighed (instead of --uids).")] = None,
                netuid_arg: NetuidArg = None, netuid: Netuid = None,
                version_key: Annotated[int, typer.Option("--version-key", min=0, help="The subnet's weights "
                                                         "version your validator runs.")] = 0,
                wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                endpoint: Endpoint = None, no_prompt: NoPrompt = False, as_json: AsJson = False,
                timeout: WriteTimeout = 60.0) -> None:
    """Set your hotkey's weights on a subnet (floats, max-upscaled to u16 as the chain stores them)."""
    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    values = parse_list(weights, float, "--weights")
    if (uids is None) == (hotkeys is None):
        raise typer.BadParameter("give --uids or --hotkeys (one of them)", param_hint="--uids")
    targets: list[Any] = parse_list(uids, int, "--uids") if uids is not None else parse_list(hotkeys, str, "--hotkeys")
    if len(targets) != len(values) or not values:
        raise typer.BadParameter(f"{len(targets)} targets but {len(values)} weights: give one weight per target",
                                 param_hint="--weights")
    if any(v < 0 for v in values):
        raise typer.BadParameter("weights are not negative", param_hint="--weights")
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    confirm(f"Set {len(values)} weights on subnet {n} from {hot.ss58_address}?", no_prompt, out)

    async def write(sub: Any) -> tuple[Any, list[int]]:
        ids = list(targets)
        if hotkeys is not None:
            from taonet.ledger.errors import HotkeyNotRegistered

            ids = []
            for h in targets:
                uid = await sub.get_uid_for_hotkey_on_subnet(h, n)
                if uid is None:
                    raise HotkeyNotRegistered(hotkey=h, netuid=n)
                ids.append(uid)
        with out.status("waiting for inclusion"):
            return await sub.set_weights(hot, n, ids, values, version_key=version_key), ids

    result, ids = run(write, endpoint, timeout, "weights set")
    pairs = ", ".join(f"{u}: {v:g}" for u, v in zip(ids, values, strict=True))
    out.wrote(result, f"weights set on subnet {n} by {hot.ss58_address}", pairs)


@weights_app.command("show")
def weights_show(netuid_arg: NetuidArg = None, netuid: Netuid = None,
                 uid: Annotated[int | None, typer.Option("--uid", min=0, help="Only this validator's weights.")
                                ] = None,
                 endpoint: Endpoint = None, as_json: AsJson = False, timeout: ReadTimeout = 10.0) -> None:
    """The weights each validator of a subnet set (normalised to sum to 1 per validator), newest on the chain."""
    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    neurons = run(lambda sub: sub.neurons(n), endpoint, timeout, "weights show")
    rows = []
    for x in neurons:
        if (uid is not None and x.uid != uid) or not x.weights:
            continue
        total = sum(v for _, v in x.weights) or 1
        rows.append({"uid": x.uid, "hotkey": x.hotkey, "last_update": x.last_update,
                     "weights": [[t, v / total] for t, v in x.weights]})
    if out.json:
        out.emit({"netuid": n, "block": neurons[0].block if neurons else None, "validators": rows})
        return
    out.table(f"weights on subnet {n}", ("FROM_UID", "TO_UID", "WEIGHT", "SET_AT_BLOCK"),
              [(str(r["uid"]), str(t), f"{v:.4f}", str(r["last_update"])) for r in rows for t, v in r["weights"]])
