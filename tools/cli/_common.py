"""What every `taonet` verb shares: its options (btcli's names too), output (tables, --json, --rao), passwords,
confirmations and the bounded run against a node.

This module imports only typer and the standard library at load time, so `taonet --help` and a read stay fast; the
kernel (and numpy, behind it) is imported by the commands that need it, when they run.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from .._json import jsonable
from ._amounts import tao as tao

if TYPE_CHECKING:
    from rich.console import Console

    from taonet.kernel import Subtensor, Wallet

__all__ = [
    "ALIASES", "MAX_TIMEOUT", "READ_TIMEOUT", "U16_MAX", "U64_MAX", "WRITE_TIMEOUT", "AsJson", "Endpoint", "Hotkey",
    "NetuidArg", "Netuid", "NoPrompt", "Out", "PasswordStdin", "Rao", "ReadTimeout", "WalletName", "WalletPath",
    "Wide", "WriteTimeout",
    "btcli_aliases", "check_address", "clashing_options", "confirm", "conflict", "fit_columns", "jsonable",
    "list_hint", "netuid_of", "parse_amount", "parse_list",
    "password_source", "result_json", "run", "short_address", "tao", "unlock_coldkey", "wallet_of",
]

T = TypeVar("T")

U16_MAX = 0xFFFF
"""The largest netuid or UID the chain has (they travel as u16)."""
U64_MAX = (1 << 64) - 1
"""The largest amount (RAO), block number or version key the chain carries."""
MAX_TIMEOUT = 1e6
"""The longest --timeout (about 11 days; nng counts a wait in 32-bit milliseconds, and inf is not a wait)."""
READ_TIMEOUT = 10.0
"""Seconds a reading command may take in all (``--timeout``; ``$TAONET_TIMEOUT``)."""
DEADLINE_GRACE = 0.1
"""Seconds past ``--timeout`` before a command that is still waiting stops (its last call's own error first)."""
WRITE_TIMEOUT = 60.0
"""Seconds a writing command may take in all, waiting for inclusion included (``--timeout``)."""

# --- options (each verb declares the ones it takes; the names and help are the same everywhere) ----------------
ALIASES = {
    "--wallet.name": "--wallet-name", "--wallet.hotkey": "--hotkey",
    "--wallet-hotkey": "--hotkey", "--wallet.path": "--wallet-path", "--network": "--endpoint",
    "--subtensor.network": "--endpoint", "--subtensor.chain_endpoint": "--endpoint", "--yes": "-y",
    "--no-prompt": "-y",
}
"""btcli's spellings of our options, accepted anywhere on the line (kept out of --help to keep it readable)."""


def btcli_aliases(args: list[str]) -> list[str]:
    """``args`` with btcli's option spellings (``--wallet.name x``, ``--wallet.hotkey=y``) as ours."""
    out = []
    for a in args:
        if a == "--":
            out.extend(args[len(out):])
            break
        name, eq, value = a.partition("=")
        if name in ALIASES:
            a = ALIASES[name] + (eq + value if eq else "")
        out.append(a)
    return out


_ONE_VALUE = {"-w": "--wallet-name", "-H": "--hotkey", "-p": "--wallet-path", "-e": "--endpoint"}
"""The short names of the options btcli spells otherwise, each taking one value: a line that gives one twice (under
any of its names) with two values is refused, not settled by taking the last."""


def clashing_options(typed: Sequence[str]) -> tuple[str, str, str] | None:
    """The first option of ``typed`` (the line as the user wrote it) given twice with different values, as
    (first spelling, second spelling, our long name): ``-e tcp://X --subtensor.network tcp://Y``; None if none."""
    given: dict[str, tuple[str, str]] = {}  # our long name -> (its first spelling, its value)
    i = 0
    while i < len(typed):
        name, eq, value = typed[i].partition("=") if typed[i].startswith("--") else (typed[i], "", "")
        if name == "--":
            break
        ours = ALIASES.get(name, name)
        ours = _ONE_VALUE.get(ours, ours)
        if ours in _ONE_VALUE.values():
            if not eq:
                i += 1
                if i == len(typed):  # no value: click says so
                    break
                value = typed[i]
            if ours in given and given[ours][1] != value:
                return given[ours][0], name, ours
            given.setdefault(ours, (name, value))
        i += 1
    return None


_LISTS = {"--uids": r"\d+", "--weights": r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", "--hotkeys": r"5\w{40,}",
          "-w8": r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"}
"""The options that take a list in one argument (``--uids 1,2``), each with the pattern of one of its items."""


def list_hint(typed: Sequence[str], message: str) -> str:
    """``message`` (a usage error's) with a hint when ``typed`` (the line as given, btcli's spellings rewritten) has
    a list option's items apart (``--uids 1 2``: 2 was taken as NETUID, or as an extra argument) and the error is about
    what they became (the netuid, an extra argument, a list): give each list in one argument, with commas. btcli's
    `sudo` group, which taonet does not have, is answered with the command that takes its place."""
    apart: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(typed):
        name, eq, value = typed[i].partition("=")
        if name == "--":
            break
        if name in _LISTS:
            if not eq:
                i += 1
                if i == len(typed):
                    break
                value = typed[i]
            items = [value]
            # a value with commas already is a list: what follows it is meant apart (NETUID, say)
            while "," not in value and i + 1 < len(typed) and re.fullmatch(_LISTS[name], typed[i + 1]):
                i += 1
                items.append(typed[i])
            if len(items) > 1:
                apart.append((name, items))
        i += 1
    if message.startswith("No such command 'sudo'"):  # btcli's group for the owner's settings
        return (f"{message.rstrip('.')}: taonet has no sudo group; btcli's `sudo set` is `taonet subnet set NETUID "
                "--param NAME --value VALUE` (`taonet subnet hparams NETUID` lists them)")
    words = ("NETUID", "--netuid", "extra argument", *_LISTS)
    if not apart or not any(w in message for w in words):
        return message
    lists = "a list is one argument" if len(apart) == 1 else "lists are one argument each"
    given = " ".join(f"{name} {','.join(items)}" for name, items in apart)
    typed_so = " ".join(f"{name} {' '.join(items)}" for name, items in apart)
    return f"{message.rstrip('.')}; {lists}, with commas: {given} (not {typed_so})"


def conflict(first: str, second: str, why: str) -> typer.BadParameter:
    """The usage error (exit 2) of two options that cannot be given together."""
    return typer.BadParameter(f"{first} and {second} cannot be given together: {why}", param_hint=first)


Endpoint = Annotated[str | None, typer.Option(
    "--endpoint", "-e", metavar="ADDRESS",
    help="The node: local (tcp://127.0.0.1:9944), HOST:PORT or an nng address ($TAONET_ENDPOINT, else local; "
         "also --network).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout (errors too), nothing else.")]
Rao = Annotated[bool, typer.Option("--rao", help="Amounts in RAO (integers) instead of τ.")]
Wide = Annotated[bool, typer.Option("--wide", help="Every column, whatever the terminal's width.")]
NoPrompt = Annotated[bool, typer.Option("-y", "--no-prompt", help="Do not ask for confirmation.")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the coldkey's password from stdin (else $TAONET_PASSWORD, "
                             "$TAONET_PASSWORD_FILE, or a prompt on a terminal).")]
WalletName = Annotated[str | None, typer.Option(
    "--wallet-name", "-w", metavar="NAME", help="The wallet ($TAONET_WALLET_NAME, else default; also --wallet.name).")]
Hotkey = Annotated[str | None, typer.Option(
    "--hotkey", "-H", metavar="NAME",
    help="The wallet's hotkey ($TAONET_WALLET_HOTKEY, else default; also --wallet.hotkey).")]
WalletPath = Annotated[str | None, typer.Option(
    "--wallet-path", "-p", metavar="DIR",
    help="Where wallets live ($TAONET_WALLET_PATH, else ~/.taonet/wallets; also --wallet.path).")]
Netuid = Annotated[int | None, typer.Option("--netuid", min=0, max=U16_MAX, metavar="NETUID", help="The subnet.")]
NetuidArg = Annotated[int | None, typer.Argument(min=0, max=U16_MAX, metavar="NETUID", help="The subnet (or --netuid).",
                                                 show_default=False)]


def _timeout(default: float) -> Any:
    from ._numbers import bounded  # nan is "not a number", not "should be less than or equal to 1000000"

    return Annotated[float, typer.Option("--timeout", min=0.1, max=MAX_TIMEOUT, envvar="TAONET_TIMEOUT",
                                         parser=bounded(0.1, MAX_TIMEOUT),
                                         metavar="SECONDS",
                                         help=f"Seconds the whole command may take (default {default:g}; "
                                              "$TAONET_TIMEOUT).")]


ReadTimeout = _timeout(READ_TIMEOUT)
"""``--timeout`` of a reading command."""
WriteTimeout = _timeout(WRITE_TIMEOUT)
"""``--timeout`` of a writing command (waiting for inclusion included)."""


def netuid_of(arg: int | None, opt: int | None) -> int:
    """The netuid given as an argument or as ``--netuid`` (a usage error if neither, or both differ)."""
    if arg is not None and opt is not None and arg != opt:
        raise typer.BadParameter(f"two netuids given: {arg} and --netuid {opt}", param_hint="--netuid")
    value = arg if arg is not None else opt
    if value is None:
        raise typer.BadParameter("which subnet? give --netuid NETUID (taonet subnet list shows them)",
                                 param_hint="--netuid")
    from ..errors import command_subnet

    return command_subnet(value)  # an error's next step then names this subnet


# --- output ------------------------------------------------------------------------------------------------------
def result_json(result: Any) -> dict[str, Any]:
    """An ExtrinsicResult as JSON: status, block, extrinsic hash, events (and uid, error when there are)."""
    out: dict[str, Any] = {"status": result.status, "block": result.block, "extrinsic_hash": result.hash.hex(),
                           "events": [jsonable(e) for e in result.events]}
    if result.uid is not None:
        out["uid"] = result.uid
    if result.error is not None:
        out["error"] = str(result.error)
    return out


class Out:
    """Where a command's output goes: one JSON document on stdout (``--json``), or tables and lines for people.

    Progress and status go to stderr, and never in JSON mode."""

    def __init__(self, as_json: bool = False, as_rao: bool = False) -> None:
        self.json = as_json
        self.rao = as_rao
        self.spent = 0.0  # seconds this command has spent talking to the node (see run)
        self._console: Console | None = None
        self._err: Console | None = None

    @property
    def console(self) -> Console:
        """The rich console on stdout (made when first used)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        return self._console

    @property
    def err(self) -> Console:
        """The rich console on stderr, for status and progress."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False)
        return self._err

    def amount(self, rao: int, places: int = 4) -> str:
        """An amount in a line: in τ (``τ1.5000``), or in RAO with ``--rao``, its unit said (``1,500,000,000 RAO``)."""
        return tao(rao, self.rao, places)

    def figure(self, rao: int, places: int = 4) -> str:
        """An amount in a table's cell: in τ, or with ``--rao`` the bare RAO figure, its column headed with the unit
        (:meth:`table`'s ``amounts``)."""
        return f"{rao:,}" if self.rao else tao(rao, False, places)

    def emit(self, data: Any) -> None:
        """Print ``data`` as the command's one JSON document."""
        print(json.dumps(jsonable(data), allow_nan=False), flush=True)

    def line(self, text: str, *, markup: bool = False) -> None:
        """One line for people on stdout; with ``markup``, rich markup in it is styled (so any value put in it must
        go through ``rich.markup.escape``: names and text from the chain may hold brackets)."""
        self.console.print(printable(text), soft_wrap=True, markup=markup)

    def status(self, text: str) -> Any:
        """A spinner on stderr while something long runs (a no-op in JSON mode or without a terminal)."""
        import contextlib

        if self.json or not self.err.is_terminal:
            return contextlib.nullcontext()
        return self.err.status(text)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], *,
              left: Iterable[str] = (), drop: Sequence[str] = (), shorten: Iterable[str] = (),
              wide: bool = False, caption: str | None = None, amounts: Iterable[str] = (),
              wrap: Iterable[str] = ()) -> None:
        """A table in btcli's style (text columns named in ``left`` flush left, numbers right) that fits the
        terminal: unless ``wide``, the addresses in ``shorten`` columns become ``5Abc…xyz`` and then the columns in
        ``drop`` go, in that order, until it fits (``--wide`` shows everything). With ``--rao`` the columns named in
        ``amounts`` (cells of :meth:`figure`) are headed with the unit as btcli writes RAO, rho: ``STAKE(\\u03c1)``.
        The columns in ``wrap`` wrap their cells onto more lines where the width is short, instead of cutting them
        (unless ``wide``)."""
        from rich import box
        from rich.table import Table
        from rich.text import Text

        columns, rows, wrap = list(columns), [list(r) for r in rows], set() if wide else set(wrap)
        if not wide and not wrap:
            # the table takes two more columns than its cells (its edges): fit those too, or rich cuts a cell
            columns, rows = fit_columns(columns, rows, self.console.width - 2, drop=drop, shorten=shorten)
        left = set(left)
        if self.rao:
            units = set(amounts)
            left |= {f"{c}(\u03c1)" for c in left & units}
            columns = [f"{c}(\u03c1)" if c in units else c for c in columns]
        # every cell and the title as plain text: a name, description or URL from the chain is shown as it is, never
        # taken as rich markup (which would hide part of it, or fail on an unbalanced tag)
        t = Table(title=Text(title), box=box.SIMPLE_HEAD, caption=None if caption is None else Text(caption),
                  pad_edge=False, title_justify="left", collapse_padding=True)
        for c in columns:
            t.add_column(c, justify="left" if c in left else "right", no_wrap=c not in wrap,
                         overflow="fold" if c in wrap else "ellipsis")
        for r in rows:
            t.add_row(*(Text(printable(c)) if isinstance(c, str) else c for c in r))
        if wide and _table_width(columns, rows) + 2 > self.console.width:
            from rich.console import Console

            Console(highlight=False, width=_table_width(columns, rows) + 2).print(t)
        else:
            self.console.print(t)

    def wrote(self, result: Any, what: str, after: str = "", **extra: Any) -> None:
        """Report a write in one line (or its JSON, with ``extra`` fields such as the new balance); a rejected or
        timed-out write raises its error."""
        if not result.success:
            _raise_failure(result, what)
        if self.json:
            self.emit({**result_json(result), **extra})
            return
        tail = f"; {after}" if after else ""
        self.line(f"{what}: included in block {result.block}{tail}")


_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (0x09, 0x0A)}


def printable(text: str) -> str:
    """``text`` with its control characters but newline and tab written as ``\\xNN``: anyone can put text on the
    chain (a subnet's description, a commitment), and an escape sequence written raw would drive the reader's
    terminal (rich passes them through)."""
    return text.translate(_CONTROLS)


def escaped(value: object) -> str:
    """``value`` as text to put in a line printed with markup: its brackets shown, never taken as markup."""
    from rich.markup import escape

    return escape(str(value))


def _table_width(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """The width a table of these cells takes (each column's widest cell, two spaces between columns)."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    return sum(widths) + 2 * max(0, len(widths) - 1)


def short_address(ss58: str) -> str:
    """``5CXyfC…Q8s7BW``: an address people can still match by eye."""
    return ss58 if len(ss58) <= 13 else f"{ss58[:6]}…{ss58[-6:]}"


def fit_columns(columns: list[str], rows: list[list[str]], width: int, *, drop: Sequence[str] = (),
                shorten: Iterable[str] = ()) -> tuple[list[str], list[list[str]]]:
    """The columns and cells that fit ``width``: shorten the address columns, then drop columns in order."""
    if _table_width(columns, rows) <= width:
        return columns, rows
    for name in shorten:
        if name in columns:
            i = columns.index(name)
            for r in rows:
                r[i] = short_address(r[i])
    for name in drop:
        if _table_width(columns, rows) <= width:
            break
        if name in columns:
            i = columns.index(name)
            columns = columns[:i] + columns[i + 1:]
            rows = [r[:i] + r[i + 1:] for r in rows]
    return columns, rows


def _raise_failure(result: Any, what: str) -> None:
    if result.status == "timeout":
        from taonet.kernel.errors import RpcTimeout, Unreachable

        from ._errors import CommandTimeout, NotIncluded, node_cause

        error = result.error
        if isinstance(error, Unreachable | RpcTimeout):  # the node went away, or stopped answering (a lookup before
            # the submit, its nonce: nothing was sent; or after it: it may be included)
            raise CommandTimeout(method=what, address=error.address, timeout=getattr(error, "timeout", 0.0),
                                 write=True, sent=getattr(result, "sent", True), cause=node_cause(error, error.address))
        if error is not None:
            raise error
        raise NotIncluded(method=what, address="the node", timeout=0)
    raise result.error if result.error is not None else RuntimeError(f"{what}: {result.status}")


# --- parsing -----------------------------------------------------------------------------------------------------
def parse_amount(text: str, *, option: str = "--amount", as_rao: bool = False) -> int:
    """An amount given on the command line, in RAO: τ by default (``1.5``), RAO with ``--rao`` (an integer)."""
    if "_" in text or "," in text:  # Decimal takes 1_000 as 1000: a separator is refused, not guessed at
        raise typer.BadParameter(f"{text!r} is not an amount: write its digits without separators, a point before "
                                 "a fraction (1000, 1.5)", param_hint=option)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option) from None
    if not value.is_finite():
        raise typer.BadParameter(f"{text!r} is not an amount", param_hint=option)
    # bounds first, on the value as given: no exponent can overflow, or make a huge integer, below
    most = Decimal(U64_MAX) if as_rao else Decimal(U64_MAX).scaleb(-9)
    if value > most:
        raise typer.BadParameter(f"{text!r} is more than any account can hold (at most "
                                 f"{most:f}{' RAO' if as_rao else ' τ'})", param_hint=option)
    if value < 0 or (value != 0 and value.adjusted() < (0 if as_rao else -9)):
        raise typer.BadParameter(f"{text!r}: amounts are whole RAO (10^-9 τ) and not negative", param_hint=option)
    rao = value if as_rao else value.scaleb(9)
    if rao != rao.to_integral_value():
        raise typer.BadParameter(f"{text!r}: amounts are whole RAO (10^-9 τ) and not negative", param_hint=option)
    return int(rao)


def parse_list(text: str | None, kind: Callable[[str], T], option: str) -> list[T]:
    """``1,2,3`` (or ``1 2 3``) as a list, each item converted by ``kind``; a usage error names the bad item, an
    empty one (``1,,2``) by its position: dropped, it paired every value after it with the wrong target."""
    if not text or not text.strip():
        return []
    out = []
    for i, item in enumerate(re.split(r"\s*,\s*|\s+", text.strip()), 1):
        if not item:
            raise typer.BadParameter(f"item {i} of {text!r} is empty: give one value between each two commas",
                                     param_hint=option)
        if "_" in item and kind in (int, float):  # int() and float() take 1_000 as 1000
            raise typer.BadParameter(f"{item!r} in {text!r}: write numbers without separators "
                                     f"({item.replace('_', '')})", param_hint=option)
        try:
            out.append(kind(item))
        except ValueError:
            raise typer.BadParameter(f"{item!r} in {text!r}", param_hint=option) from None
    return out


def check_address(text: str, option: str) -> str:
    """``text`` if it is an SS58 address, else a usage error naming ``option`` (exit 2)."""
    from taonet.ledger import ss58_decode
    from taonet.ledger.errors import InvalidAddress

    try:
        ss58_decode(text)
    except InvalidAddress as e:
        raise typer.BadParameter(str(e), param_hint=option) from None
    return text


# --- wallets and passwords -------------------------------------------------------------------------------------
def wallet_of(name: str | None, hotkey: str | None, path: str | None) -> Wallet:
    """The Wallet the options name (flags win over the environment, the environment over defaults)."""
    from taonet.kernel import Wallet

    for option, value in (("--wallet-name", name), ("--hotkey", hotkey), ("--wallet-path", path)):
        if value is not None and not value.strip():  # -w "$UNSET" must not quietly mean the default wallet
            raise typer.BadParameter("is empty: give a name (or leave the option out for the default)",
                                     param_hint=option)
    try:
        return Wallet(name, hotkey, path)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def password_source(password_stdin: bool) -> str | None:
    """The password read from stdin with ``--password-stdin`` (one trailing newline dropped), else None: the
    wallet then asks the environment and, on a terminal, the user."""
    if not password_stdin:
        return None
    try:
        text = sys.stdin.readline()
        text.encode()  # bytes that are not text arrive as surrogates, which no key file can be unlocked with
    except (UnicodeDecodeError, UnicodeEncodeError):
        from taonet.kernel.errors import WalletError

        raise WalletError("the password given on stdin (--password-stdin) is not UTF-8 text: send it as UTF-8 text "
                          "(or leave --password-stdin out and type it at the prompt)") from None
    return text.removesuffix("\n").removesuffix("\r")


def unlock_coldkey(wallet: Wallet, password_stdin: bool) -> Any:
    """The wallet's coldkey unlocked (password from stdin, environment or prompt; wrong: exit 5)."""
    return wallet.get_coldkey(password_source(password_stdin))


def confirm(question: str, no_prompt: bool, out: Out, *, default: bool = True) -> None:
    """Ask ``question`` on the terminal unless ``-y``; without a terminal, a usage error that says to pass -y. An
    answer of no, or a prompt closed (Ctrl-C, Ctrl-D), is :class:`~._errors.Interrupted` (exit 130; SIGTERM there:
    143): nothing was done. Enter alone answers ``default`` (no, for what cannot be undone)."""
    if no_prompt:
        return
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        from ..errors import usage_error

        raise usage_error(f"this asks for confirmation ({question}) and there is no terminal to ask on: pass -y "
                          "(--no-prompt) to go ahead")
    from taonet.kernel.wire import read_line

    from ..signals import Terminated

    yes: bool | None = None
    terminated = False
    while yes is None:
        try:
            answer = read_line(f"{question} {'[Y/n]' if default else '[y/N]'}: ").strip().lower()
        except (KeyboardInterrupt, EOFError) as e:  # Ctrl-C (SIGTERM) or Ctrl-D: the prompt's line has no end yet
            print(file=sys.stderr)
            terminated = isinstance(e, Terminated)
            break
        yes = default if not answer else True if answer in ("y", "yes") else False if answer in ("n", "no") else None
    if not yes:
        from ._errors import Interrupted

        raise Interrupted(declined=True, terminated=terminated)


# --- running against a node --------------------------------------------------------------------------------------
def run(main: Callable[[Subtensor], Awaitable[T]], endpoint: str | None, timeout: float, what: str, *,
        out: Out | None = None, write: bool = False, check: str = "") -> T:
    """Run ``main(subtensor)`` on a fresh event loop, within ``timeout`` seconds.

    A command that talks to the node more than once (a read, a prompt, then the write) passes its ``out``: its runs
    share one budget of ``timeout`` seconds (the time at a prompt does not count). Past the deadline the command
    ends with :class:`CommandTimeout` (exit 4), whatever it was waiting for (saying so if the node went away
    meanwhile: its connection closed); with ``write`` (``main`` submits) it says whether the write was sent: not
    yet (nothing changed), or it may still be included (then ``check``, a command, shows whether it was). Ctrl-C (or
    the SIGTERM the entry point takes as one) during a write is :class:`~._errors.Interrupted`, saying the same."""
    import time

    import anyio

    from taonet.kernel import Subtensor
    from taonet.kernel.errors import ConnectionsRefused, RpcTimeout

    from ._errors import CommandTimeout, gone_cause

    budget = timeout if out is None else max(0.1, timeout - out.spent)
    sub = Subtensor(endpoint, timeout=budget)
    linked = [True]  # whether the connection to the node was still open when the command stopped waiting

    async def go() -> T:
        # a moment past the budget: one call's own error (NoNode, RpcTimeout, ...) says more, so it comes first
        with anyio.fail_after(budget + DEADLINE_GRACE):
            async with sub:
                try:
                    return await main(sub)
                finally:  # read before the client closes its socket
                    linked[0] = sub.rpc.connection_open

    started = time.monotonic()
    try:
        value = anyio.run(go)
    except KeyboardInterrupt as e:
        if not write:
            raise
        from ..signals import Terminated
        from ._errors import Interrupted

        raise Interrupted(method=what, sent=sub.submitted > 0, check=check,
                          terminated=isinstance(e, Terminated)) from None
    except TimeoutError as e:  # the deadline, or one call's own RpcTimeout
        reached = anyio.run(sub.rpc.never_reached, what, timeout)  # async: it may probe the address (0.5 s)
        # nothing ever answered, or every connection was one the node closed at once (its bounds; the last attempt
        # cut by the deadline): the node read nothing this client sent
        if not sub.rpc.connected or (sub.rpc.refused and isinstance(reached, ConnectionsRefused)):
            raise reached from None
        if isinstance(e, RpcTimeout) and not write:
            raise
        # a write says whether the client had submitted it (it may still be included) or not (nothing changed); a
        # read says the command ran out of time
        raise CommandTimeout(method=what, address=sub.endpoint, timeout=timeout, write=write,
                             sent=sub.submitted > 0, check=check,
                             cause="" if linked[0] else gone_cause(sub.endpoint)) from None
    finally:
        if out is not None:
            out.spent += time.monotonic() - started
    if write:
        _raise_node_gone(value, what, sub.endpoint, timeout, check)
    return value


def _raise_node_gone(value: Any, what: str, address: str, timeout: float, check: str) -> None:
    """A write whose wait for its outcome ended because the node went away or stopped answering (its result, or the
    first of the results ``main`` returned, has status "timeout" with that error): the same CommandTimeout as when
    the command's own deadline passes (its name, may have been sent, ``check``), said as soon as the client knows."""
    from taonet.kernel import ExtrinsicResult
    from taonet.kernel.errors import RpcTimeout, Unreachable

    from ._errors import CommandTimeout, node_cause

    result = value[0] if isinstance(value, tuple) and value else value
    if (isinstance(result, ExtrinsicResult) and result.status == "timeout"
            and isinstance(result.error, Unreachable | RpcTimeout)):
        raise CommandTimeout(method=what, address=address, timeout=timeout, write=True, sent=result.sent, check=check,
                             cause=node_cause(result.error, address))
