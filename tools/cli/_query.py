"""`taonet query`: ask a subnet through a validator's gateway (an organic query), with no stake.

The payload is sent as an integer when it is one, else as the string given; with ``--json-payload`` it is read as JSON
and sent as the value it holds (an object, a list, a number, text, true, false or null), checked against what the
wire carries (ints of up to 64 bits; JSON's keys are text already). Without a wallet the query is signed by
a fresh key (a gateway needs a key, not stake); with ``--wallet-name``/``--hotkey`` by that hotkey, which a gateway
rate-limits as one caller.
"""

from __future__ import annotations

import json
import math
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


INT_MIN, INT_MAX = -(1 << 64), (1 << 64) - 1
"""The ints the wire carries (docs/wire.md): CBOR's 64-bit integers, -2**64 .. 2**64-1."""
MAX_DEPTH = 24
"""The lists and objects a JSON payload may nest: a peer decodes a message nested at most 32 deep (the codec's bound),
the synapse and the fields around the payload included, and a subnet's plugin may put it in a synapse of its own."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"holds {name}, which is not JSON: send a number, or null")


def _json_payload(text: str) -> Any:
    """PAYLOAD read as JSON (``--json-payload``): the value, or a usage error (exit 2) in one line saying why the text
    is no JSON, or what in it the wire cannot carry."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:  # "Expecting value", "Extra data"...: where, by character
        problem: str | None = (f"is not JSON ({e.msg.lower()} at character {e.pos + 1}); give one JSON value, quoted "
                               """for the shell: '{"a": [1, 2]}', text in double quotes: '"hello"'""")
    except RecursionError:
        problem = f"nests lists and objects deeper than {MAX_DEPTH} levels, which a gateway cannot take"
    except ValueError as e:  # NaN, Infinity: Python's json reads them, no other JSON does
        problem = str(e)
    else:
        problem = _uncarried(value)
    if problem is not None:
        shown = text if len(text) <= 40 else f"{text[:36]}... ({len(text):,} characters)"
        raise typer.BadParameter(f"{shown!r} {problem}", param_hint="PAYLOAD")
    return value


def _uncarried(value: Any) -> str | None:
    """What in a JSON value the wire cannot carry (an int beyond 64 bits, nesting past :data:`MAX_DEPTH`), said for
    people; None when it all can (JSON has no sets, tags or non-text keys)."""
    todo = [(value, 0)]
    while todo:
        v, depth = todo.pop()
        if isinstance(v, list | dict) and depth >= MAX_DEPTH:
            return f"nests lists and objects deeper than {MAX_DEPTH} levels, which a gateway cannot take"
        if isinstance(v, float) and not math.isfinite(v):
            return "holds a number beyond a float's range (JSON reads it as infinity); send a smaller one, or text"
        if isinstance(v, int) and not isinstance(v, bool) and not INT_MIN <= v <= INT_MAX:
            return (f"holds an int of {v.bit_length()} bits, which the wire cannot carry (at most 64: -2**64 .. "
                    "2**64-1); send it as text")
        if isinstance(v, list):
            todo.extend((x, depth + 1) for x in v)
        elif isinstance(v, dict):
            todo.extend((x, depth + 1) for x in v.values())
    return None


def _payload(text: str) -> Any:
    if text.strip().lstrip("+-").isdigit() and len(text.strip().lstrip("+-").lstrip("0")) > 20:  # past 64 bits
        number = 1 << 64  # (and past what int() takes: 4,300 digits)
    else:
        try:
            number = int(text)
        except ValueError:
            return text
    if not INT_MIN <= number <= INT_MAX:  # CBOR carries 64-bit integers; a gateway refuses a bignum (as 400)
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


def _json_default(value: Any) -> Any:
    """What JSON holds for a value it has no type for: bytes as ``0x`` hex, a set or tuple as a list, else its
    text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def shown(answer: Any) -> str:
    """An answer as `taonet query` prints it: text and numbers as they are, bytes as ``0x`` hex, anything else
    (an object, a list, true, null) as compact JSON (not Python's repr)."""
    if isinstance(answer, str | int | float) and not isinstance(answer, bool):
        return str(answer)
    if isinstance(answer, bytes | bytearray | memoryview):
        return _json_default(answer)
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def query_cmd(payload: Annotated[str, typer.Argument(help="What to ask (an integer is sent as one; with "
                                                         "--json-payload, any JSON value).")],
              netuid: Annotated[int, typer.Option("--netuid", help="The subnet.", min=0, max=0xFFFF)],
              validator: Annotated[str | None, typer.Option("--validator", help="The validator (hotkey SS58 or UID) "
                                                            "whose gateway to use (default: the most staked).")] = None,
              all_: Annotated[bool, typer.Option("--all", help="Every miner's answer, best first.")] = False,
              endpoint: Endpoint = None, wallet_name: WalletName = None, hotkey: Hotkey = None,
              wallet_path: WalletPath = None,
              timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the gateway's answer "
                                                     "(it waits for the miners first; not $TAONET_TIMEOUT).",
                                                     min=0.1, max=1e6, parser=bounded(0.1, 1e6))] = 12.0,
              as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
              json_payload: Annotated[bool, typer.Option("--json-payload", help="Read PAYLOAD as JSON and send the "
                                                         "value it holds ('{\"a\": [1, 2]}', '\"21\"', "
                                                         "null).")] = False) -> None:
    """Send PAYLOAD to subnet --netuid through a validator's gateway; print the best miner's answer (or all)."""
    import anyio

    from taonet.plugins import aquery

    value = _json_payload(payload) if json_payload else _payload(payload)
    validator = _validator(validator)
    wallet = None
    if wallet_name is not None or hotkey is not None:
        from ._common import wallet_of

        wallet = wallet_of(wallet_name, hotkey, wallet_path)  # a bad name is a usage error (exit 2)
        wallet.hotkey  # noqa: B018 - unlock (or fail: missing key, wrong password) before connecting
    answers = anyio.run(lambda: aquery(netuid, value, validator=validator, return_all=all_, endpoint=endpoint,
                                       wallet=wallet, timeout=timeout))
    # the miners the gateway asked that gave no answer (None: a gateway older than that key does not say)
    missed = answers[0].get("no_answer_from") if answers else None
    answers = [{k: v for k, v in a.items() if k != "no_answer_from"} for a in answers]
    if as_json:
        print(json.dumps({"netuid": netuid, "answers": answers, "no_answer_from": missed}, default=_json_default))
        return
    if not all_:
        print(shown(answers[0]["answer"]))
        return
    for a in answers:
        print(f"{a['uid']}\t{a['hotkey']}\t{shown(a['answer'])}")
    if missed:
        sys.stdout.flush()
        uids = ", ".join(map(str, missed))
        print(f"note: {len(missed)} of the {len(missed) + len(answers)} miners the gateway asked gave no answer "
              f"(UID{'s' if len(missed) > 1 else ''} {uids}): these answers are partial", file=sys.stderr)
