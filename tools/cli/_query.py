"""`taonet query`: ask a subnet through a validator's gateway (an organic query), with no stake.

The payload is sent as an integer when it is one, else as the string given. Without a wallet the query is signed by
a fresh key (a gateway needs a key, not stake); with ``--wallet-name``/``--hotkey`` by that hotkey, which a gateway
rate-limits as one caller.
"""

from __future__ import annotations

import json
import sys
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


def _validator(text: str | None) -> str | None:
    """``--validator`` as :func:`~taonet.plugins.aquery` matches it: a UID (``07`` is 7), or a hotkey's SS58 address;
    anything else is a usage error (exit 2), not a validator that "publishes no gateway"."""
    if text is None:
        return None
    if text.strip().isdigit():
        uid = int(text)
        if uid > 0xFFFF:
            raise typer.BadParameter(f"UID {uid} is not a UID: they are 0..65535", param_hint="--validator")
        return str(uid)
    from taonet.ledger import ss58_decode
    from taonet.ledger.errors import InvalidAddress

    try:
        ss58_decode(text)
    except InvalidAddress as e:
        why = str(e).removeprefix(repr(text)).strip()  # "is not an SS58 address", "has a wrong checksum"
        what = ("is not an SS58 address or a UID" if why == "is not an SS58 address"
                else f"is not a UID, and as an SS58 address it {why}")
        raise typer.BadParameter(f"{text!r} {what}: give the validator's hotkey (SS58) or its UID (taonet metagraph "
                                 "NETUID lists both)", param_hint="--validator") from None
    return text


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
    validator = _validator(validator)
    wallet = None
    if wallet_name is not None or hotkey is not None:
        from ._common import wallet_of

        wallet = wallet_of(wallet_name, hotkey, wallet_path)  # a bad name is a usage error (exit 2)
        wallet.hotkey  # noqa: B018 - unlock (or fail: missing key, wrong password) before connecting
    answers = anyio.run(lambda: aquery(netuid, value, validator=validator, return_all=all_,
                                       endpoint=endpoint, wallet=wallet, timeout=timeout))
    # the miners the gateway asked that gave no answer (None: a gateway older than that key does not say)
    missed = answers[0].get("no_answer_from") if answers else None
    answers = [{k: v for k, v in a.items() if k != "no_answer_from"} for a in answers]
    if as_json:
        print(json.dumps({"netuid": netuid, "answers": answers, "no_answer_from": missed}, default=str))
        return
    if not all_:
        print(answers[0]["answer"])
        return
    for a in answers:
        print(f"{a['uid']}\t{a['hotkey']}\t{a['answer']}")
    if missed:
        sys.stdout.flush()
        uids = ", ".join(map(str, missed))
        print(f"note: {len(missed)} of the {len(missed) + len(answers)} miners the gateway asked gave no answer "
              f"(UID{'s' if len(missed) > 1 else ''} {uids}): these answers are partial", file=sys.stderr)
