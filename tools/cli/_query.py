"""`taonet query`: ask a subnet through a validator's gateway (an organic query), with no stake.

The payload is sent as an integer when it is one, else as the string given. Without a wallet the query is signed by
a fresh key (a gateway needs a key, not stake); with ``--wallet-name``/``--hotkey`` by that hotkey, which a gateway
rate-limits as one caller.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ._numbers import bounded
from ._subnet import Endpoint

__all__ = ["query_cmd"]

WalletName = Annotated[str | None, typer.Option("--wallet-name", "--wallet.name", help="Sign with this wallet's "
                                                "hotkey (default: a fresh key for this query).")]
Hotkey = Annotated[str | None, typer.Option("--hotkey", "--wallet.hotkey", help="The hotkey's name (default: "
                                            "default, when --wallet-name is given).")]
WalletPath = Annotated[str | None, typer.Option("--wallet-path", "--wallet.path",
                                                help="Wallets folder ($TAONET_WALLET_PATH, ~/.taonet/wallets).")]


def _payload(text: str) -> Any:
    if text.strip().lstrip("+-").isdigit() and len(text.strip().lstrip("+-").lstrip("0")) > 20:  # past 64 bits
        number = 1 << 64  # (and past what int() takes: 4,300 digits)
    else:
        try:
            number = int(text)
        except ValueError:
            return text
    if not -(1 << 63) <= number < 1 << 64:  # CBOR carries 64-bit integers; a gateway refuses a bignum (as 400)
        shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text):,} digits)"
        raise typer.BadParameter(f"{shown} is beyond a 64-bit integer, which a gateway cannot take; send a smaller "
                                 "number", param_hint="PAYLOAD")
    return number


def query_cmd(payload: Annotated[str, typer.Argument(help="What to ask (an integer is sent as one).")],
              netuid: Annotated[int, typer.Option("--netuid", help="The subnet.", min=0, max=0xFFFF)],
              validator: Annotated[str | None, typer.Option("--validator", help="The validator (hotkey SS58 or UID) "
                                                            "whose gateway to use (default: the most staked).")] = None,
              all_: Annotated[bool, typer.Option("--all", help="Every miner's answer, best first.")] = False,
              endpoint: Endpoint = None, wallet_name: WalletName = None, hotkey: Hotkey = None,
              wallet_path: WalletPath = None,
              timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the answer.",
                                                     min=0.1, max=1e6, parser=bounded(0.1, 1e6))] = 12.0,
              as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Send PAYLOAD to subnet --netuid through a validator's gateway; print the best miner's answer (or all)."""
    import anyio

    from taonet.plugins import aquery

    value = _payload(payload)
    wallet = None
    if wallet_name is not None or hotkey is not None:
        from ._common import wallet_of

        wallet = wallet_of(wallet_name, hotkey, wallet_path)  # a bad name is a usage error (exit 2)
        wallet.hotkey  # noqa: B018 - unlock (or fail: missing key, wrong password) before connecting
    answers = anyio.run(lambda: aquery(netuid, value, validator=validator, return_all=all_,
                                       endpoint=endpoint, wallet=wallet, timeout=timeout))
    if as_json:
        print(json.dumps({"netuid": netuid, "answers": answers}, default=str))
        return
    if not all_:
        print(answers[0]["answer"])
        return
    for a in answers:
        print(f"{a['uid']}\t{a['hotkey']}\t{a['answer']}")
