"""`taonet subnet list|hparams` and `taonet metagraph`: reading the chain from a node, as btcli shows it."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from taonet.kernel import subtensor
from taonet.ledger import HYPERPARAMETER_BOUNDS, TAO

subnet_app = typer.Typer(help="Subnets on the chain.", no_args_is_help=True)
console = Console()

Endpoint = Annotated[str | None, typer.Option("--endpoint", "-e", help="Node RPC address ($TAONET_ENDPOINT, local).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for the node's answers ($TAONET_TIMEOUT).",
                                        envvar="TAONET_TIMEOUT", min=0.1)]
DEFAULT_TIMEOUT = 10.0


def _print_json(value: Any) -> None:
    print(json.dumps(value, default=lambda b: b.hex() if isinstance(b, bytes) else str(b)))


@subnet_app.command("list")
def subnet_list(endpoint: Endpoint = None, as_json: AsJson = False, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
    """Every subnet: neurons, tempo, burn, difficulty, pending emission."""
    with subtensor(endpoint, timeout=timeout) as sub:
        subnets = sub.call("subnets")
    if as_json:
        _print_json(subnets)
        return
    table = Table(title="subnets")
    for col in ("NETUID", "NEURONS", "MAX_N", "TEMPO", "BURN(τ)", "DIFFICULTY", "PENDING(τ)"):
        table.add_column(col, justify="right")
    for s in subnets:
        table.add_row(str(s["netuid"]), str(s["n"]), str(s["max_n"]), str(s["tempo"]), f"{s['burn'] / TAO:,.6f}",
                      f"{s['difficulty']:,}", f"{s['pending_emission'] / TAO:,.4f}")
    console.print(table)


@subnet_app.command("hparams")
def subnet_hparams(netuid: Annotated[int, typer.Argument(help="The subnet.")], endpoint: Endpoint = None,
                   as_json: AsJson = False, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
    """A subnet's hyperparameters by name, with the bounds its owner may set them within."""
    with subtensor(endpoint, timeout=timeout) as sub:
        hp = sub.get_subnet_hyperparameters(netuid)
    if as_json:
        _print_json(hp)
        return
    table = Table(title=f"subnet {netuid} hyperparameters")
    for col in ("NAME", "VALUE", "BOUNDS"):
        table.add_column(col, justify="left" if col == "NAME" else "right")
    for name, value in hp.items():
        lo, hi = HYPERPARAMETER_BOUNDS[name]
        table.add_row(name, str(value), f"[{lo:,}, {hi:,}]")
    console.print(table)


def metagraph_cmd(netuid: Annotated[int, typer.Argument(help="The subnet.")], endpoint: Endpoint = None,
                  block: Annotated[int | None, typer.Option(help="A past block (the head by default).")] = None,
                  as_json: AsJson = False, timeout: Timeout = DEFAULT_TIMEOUT) -> None:
    """The metagraph of a subnet: stake, rank, trust, consensus, incentive, dividends, emission per UID."""
    with subtensor(endpoint, timeout=timeout) as sub:
        mg = sub.metagraph(netuid, block=block)
    print_metagraph(netuid, mg, as_json)


def metagraph_json(netuid: int, mg: Any) -> dict[str, Any]:
    """What ``metagraph --json`` prints for a synced Metagraph (``replay show`` prints the same)."""
    rows = [{"uid": int(u), "hotkey": mg.hotkeys[u], "stake": float(mg.S[u]), "rank": float(mg.R[u]),
             "trust": float(mg.T[u]), "consensus": float(mg.C[u]), "incentive": float(mg.I[u]),
             "dividends": float(mg.D[u]), "emission": int(mg.E[u]), "vtrust": float(mg.Tv[u]),
             "vpermit": bool(mg.validator_permit[u]), "updated": int(mg.block - mg.last_update[u]),
             "axon": f"{mg.axons[u].ip}:{mg.axons[u].port}" if mg.axons[u].is_serving else ""}
            for u in range(mg.n)]
    return {"netuid": netuid, "block": mg.block, "neurons": rows}


def print_metagraph(netuid: int, mg: Any, as_json: bool) -> None:
    """Print a synced Metagraph as ``metagraph`` does: a table, or one JSON object with ``as_json``."""
    data = metagraph_json(netuid, mg)
    if as_json:
        _print_json(data)
        return
    table = Table(title=f"metagraph of subnet {netuid} at block {mg.block}")
    for col in ("UID", "STAKE(τ)", "RANK", "TRUST", "CONSENSUS", "INCENTIVE", "DIVIDENDS", "EMISSION(RAO)", "VTRUST",
                "VPERMIT", "UPDATED", "AXON", "HOTKEY"):
        table.add_column(col, justify="left" if col in ("AXON", "HOTKEY") else "right")
    for r in data["neurons"]:
        table.add_row(str(r["uid"]), f"{r['stake']:,.3f}", f"{r['rank']:.4f}", f"{r['trust']:.4f}",
                      f"{r['consensus']:.4f}", f"{r['incentive']:.4f}", f"{r['dividends']:.4f}",
                      f"{r['emission']:,}", f"{r['vtrust']:.4f}", "*" if r["vpermit"] else "", str(r["updated"]),
                      r["axon"], r["hotkey"][:10] + "…")
    console.print(table)
