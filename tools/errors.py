"""What the `taonet` command says and returns when something goes wrong: one line on stderr and an exit status.

Every command runs through :func:`run_cli`, so the rule holds for every command, now and later: an error a user can
cause is one line saying what happened and what to do, with the status below; a traceback only with ``--debug``.
docs/cli.md documents the table; tests/tools/test_cli_errors.py checks it on the installed command.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

import typer

__all__ = [
    "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_NOT_FOUND", "EXIT_OK", "EXIT_REFUSED_DATA", "EXIT_REJECTED",
    "EXIT_TERMINATED", "EXIT_UNREACHABLE", "EXIT_USAGE", "EXIT_WALLET", "ReaderGone", "command_subnet", "describe",
    "exit_status", "guard_stdout", "run_cli", "usage_error",
]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_UNREACHABLE = 4
EXIT_WALLET = 5
EXIT_NOT_FOUND = 6
EXIT_REFUSED_DATA = 7
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
"""128 + SIGTERM: a command stopped by SIGTERM (`timeout`, a service manager) as by Ctrl-C (tools/signals.py)."""

_subnets_named: list[int] = []
"""The subnet the running command was given last (:func:`command_subnet`): one item at most."""


def command_subnet(netuid: int) -> int:
    """Note that the running command acts on subnet ``netuid`` (its NETUID or ``--netuid``), so the next step an
    error's line is given names it rather than the placeholder NETUID; returns ``netuid``."""
    _subnets_named[:] = [netuid]
    return netuid


# click's exception classes, wherever this typer takes click from (its own vendored copy, or click itself)
_ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def usage_error(message: str) -> Exception:
    """A usage error (exit 2) of the command running now: said as ``message (see taonet COMMAND --help)``."""
    import importlib

    click_globals = importlib.import_module(_UsageError.__module__.rpartition(".")[0] + ".globals")
    return _UsageError(message, ctx=click_globals.get_current_context(silent=True))  # type: ignore[call-arg]


@functools.cache
def _exit_table(plugins: bool = True) -> tuple[tuple[tuple[type[BaseException], ...], int], ...]:
    """:data:`EXIT_STATUS`, built when first needed: the error classes load the kernel and the ledger, which a
    command that succeeds (or `taonet --help`) should not wait for. Without ``plugins``, the table lacks the plugins'
    and the launcher's errors (for a process that never loaded them, so cannot have raised one)."""
    import pynng

    from taonet.kernel.errors import (
        AlreadyQueued,
        BadAddress,
        BlockNotFound,
        Busy,
        DataDirLocked,
        ExtrinsicDropped,
        InvalidMetagraphFile,
        MempoolFull,
        NodeHalted,
        NotAnActor,
        RefusedReply,
        RpcBadRequest,
        RpcTimeout,
        SignerLimit,
        UnknownSigner,
        Unreachable,
        WalletError,
    )
    from taonet.ledger.errors import (
        CodecError,
        ExtrinsicRejected,
        HotkeyNotRegistered,
        InvalidAddress,
        InvalidBlock,
        InvalidGenesis,
        InvalidKey,
        StorageError,
        SubnetNotFound,
        UnknownHotkey,
    )

    from .cli._errors import Interrupted

    return (
        # most specific first: SubnetNotFound is an ExtrinsicRejected, NoNode an Unreachable
        *(_plugin_rows() if plugins else ()),
        ((Interrupted,), EXIT_INTERRUPTED),
        ((SubnetNotFound, BlockNotFound, UnknownHotkey, HotkeyNotRegistered), EXIT_NOT_FOUND),
        ((StorageError, DataDirLocked, InvalidBlock, InvalidGenesis, InvalidMetagraphFile, CodecError, RefusedReply),
         EXIT_REFUSED_DATA),
        ((BadAddress, RpcBadRequest, InvalidAddress, pynng.AddressInvalid, pynng.NoEntry), EXIT_USAGE),
        # TimeoutError (BlockWaitTimeout, a deadline) is an OSError: it must come before the OSError row
        ((Unreachable, RpcTimeout, Busy, MempoolFull, SignerLimit, pynng.AddressInUse, TimeoutError),
         EXIT_UNREACHABLE),
        ((WalletError, InvalidKey, NotAnActor), EXIT_WALLET),
        ((ExtrinsicRejected, AlreadyQueued, NodeHalted, UnknownSigner, ExtrinsicDropped), EXIT_REJECTED),
        ((OSError,), EXIT_REFUSED_DATA),  # a data dir or file the system refuses: permissions, missing, full disk
    )


def _plugin_rows() -> tuple[tuple[tuple[type[BaseException], ...], int], ...]:
    """The first rows of :func:`_exit_table`: the plugins' and the launcher's errors."""
    from taonet.plugins.errors import (
        InvalidOption,
        NoGateway,
        NotInstalled,
        PluginError,
        PluginMismatch,
        QueryFailed,
        QueryRefused,
        UnknownPlugin,
    )
    from taonet.tools.launcher.errors import NoLog, NoNetwork

    return (
        ((UnknownPlugin, NotInstalled, NoGateway, NoNetwork, NoLog), EXIT_NOT_FOUND),
        ((QueryRefused,), EXIT_REJECTED),
        ((QueryFailed,), EXIT_UNREACHABLE),
        ((PluginMismatch, InvalidOption), EXIT_USAGE),
        ((PluginError,), EXIT_REFUSED_DATA),  # a plugin that fails to import, misses a hook, or whose name is taken
    )


def __getattr__(name: str) -> Any:
    """``EXIT_STATUS``: error classes and the exit status each gets; anything else a command raises is an
    internal error (1)."""
    if name == "EXIT_STATUS":
        return _exit_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def root_error(e: BaseException) -> BaseException:
    """The error to report: inside task groups' ExceptionGroups, the first TaonetError (else the first error)."""
    from taonet.ledger.errors import TaonetError, error_leaves

    leaves = error_leaves(e)
    return next((x for x in leaves if isinstance(x, TaonetError)), leaves[0])  # never empty


def exit_status(e: BaseException) -> int:
    """The exit status for ``e`` (see :data:`EXIT_STATUS`)."""
    e = root_error(e)
    if _by_sigterm(e):
        return EXIT_TERMINATED
    if isinstance(e, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if _hotkey_not_registered(e):
        return EXIT_NOT_FOUND
    # an error of the plugins or the launcher is one of a module this process loaded (not loading them saves ~50 ms)
    loaded = "taonet.plugins.errors" in sys.modules or "taonet.tools.launcher.errors" in sys.modules
    for classes, status in _exit_table(loaded):
        if isinstance(e, classes):
            return status
    return EXIT_INTERNAL


def _by_sigterm(e: BaseException) -> bool:
    """Whether ``e`` is the stop of a command by SIGTERM: :class:`~.signals.Terminated`, or the command line's
    Interrupted saying so."""
    from .signals import Terminated

    if isinstance(e, Terminated):
        return True
    if not _is_taonet_error(e):
        return False
    from .cli._errors import Interrupted

    return isinstance(e, Interrupted) and e.terminated


def _hotkey_not_registered(e: BaseException) -> bool:
    """Whether ``e`` is the node's admission refusing a hotkey call (weights, an axon, a commitment) because the
    hotkey holds no UID on the call's subnet: the mistake :class:`HotkeyNotRegistered` names when the chain or the
    command finds it, so it gets the same status (6, not found) rather than 3. An unfunded coldkey's fee-free call
    (`UnknownSigner` too) stays 3."""
    from taonet.kernel.errors import UnknownSigner

    if not isinstance(e, UnknownSigner):
        return False
    import taonet.ledger

    call = getattr(taonet.ledger, e.call, None)
    return isinstance(call, type) and issubclass(call, taonet.ledger.Call) and call.SIGNER == "hotkey"


def _is_address_in_use(e: BaseException) -> bool:
    import pynng

    return isinstance(e, pynng.AddressInUse)


def _listen_problem(e: BaseException) -> str | None:
    """What nng's refusal of an address to listen on means (a host not of this machine, an ipc:// folder that does
    not exist), or None for any other error."""
    import pynng

    if isinstance(e, pynng.AddressInvalid):
        return ("an address this command listens on is not valid here (a host that is not this machine's, or a bad "
                "port): use 127.0.0.1 or 0.0.0.0 and a port (0: any free one)")
    if isinstance(e, pynng.NoEntry):
        return ("an address this command listens on cannot be used (a host that does not resolve, or an ipc:// "
                "folder that does not exist): check the address")
    return None


def _is_taonet_error(e: BaseException) -> bool:
    from taonet.ledger.errors import TaonetError

    return isinstance(e, TaonetError)


def describe(e: BaseException, as_rao: bool = False) -> str:
    """One line for people: what happened and what to do; amounts in τ (in RAO with ``as_rao``: `--rao`)."""
    e = root_error(e)
    if isinstance(e, KeyboardInterrupt):
        text = "terminated (SIGTERM)" if _by_sigterm(e) else "interrupted"
    elif _is_address_in_use(e):
        text = ("an address this command listens on is already in use: stop the process using it, or give another "
                "(a node's --rpc/--feed, a miner's --port, a validator's --gateway; port 0: any free one)")
    elif (problem := _listen_problem(e)) is not None:
        text = problem
    elif _is_taonet_error(e):
        _in_command_words(e)
        text = _in_tao(e, as_rao) or str(e) or type(e).__name__
        step = _next_step(e)
        if step and "taonet " not in text:  # a line that names a command already says what to do
            text = f"{text}; {step}"
    elif isinstance(e, OSError):
        text = _os_error_line(e)
    else:
        text = (f"internal error: {type(e).__name__}: {e}; run again with --debug for the traceback, "
                "and please report it")
    return " ".join(text.split())


def _in_command_words(e: BaseException) -> None:
    """An error whose advice names Python's arguments by default (``password=``) is said with the command's flags."""
    from taonet.kernel.errors import PasswordRequired

    if isinstance(e, PasswordRequired):
        e.command_line = True


def _in_tao(e: BaseException, as_rao: bool) -> str | None:
    """The line of a ledger error that names amounts, with them in τ as every other line of the command line (in
    RAO with ``as_rao``); None for any other error. The ledger's own words (RAO) stay as they are: its messages and
    events are part of the chain's record. Only the exact class: a subclass (``FaucetShort``) says its own."""
    from taonet.ledger.errors import BelowExistentialDeposit, InsufficientBalance, InsufficientStake

    kind = type(e)
    if kind is InsufficientBalance:
        return (f"needs {_exact(e.needed, as_rao)} but only {_exact(e.available, as_rao)} is free: have a funded "
                "wallet send τ to this coldkey (taonet wallet transfer), take some from the faucet on a development "
                "chain (taonet wallet faucet), or ask for less")
    if kind is InsufficientStake:
        return f"needs {_exact(e.needed, as_rao)} of stake but only {_exact(e.available, as_rao)} is staked"
    if kind is BelowExistentialDeposit:
        least = _exact(e.minimum, as_rao)
        return f"{_exact(e.amount, as_rao)} is below the existential deposit of {least}; send at least {least}"
    return None


def _exact(rao: int, as_rao: bool) -> str:
    """An amount as the command line writes it (``τ1.5000``; ``1,500,000,000 RAO`` with ``as_rao``), with as many
    places as it needs to be exact (``τ1.000125``): an error's two amounts must not look alike when they differ."""
    from .cli._amounts import tao

    digits = f"{rao % 10**9:09d}".rstrip("0")
    return tao(rao, as_rao, max(4, len(digits)))


def _next_step(e: BaseException) -> str | None:
    """What to do after an error of another layer whose own words say only what happened (``subnet 9 does not
    exist``): the command to run next, in the command line's words (the library's message stays as it is). Only the
    exact class: a subclass (``UidNotFound``, ``SubnetNotInLog``) says its own next step."""
    from taonet.kernel.errors import AlreadyQueued, InvalidKeyFile
    from taonet.ledger.errors import (
        AlreadyRegistered,
        InsufficientStake,
        InvalidHyperparameter,
        InvalidKey,
        InvalidWeights,
        NotDelegate,
        ProofOfWorkInvalid,
        RevealTooEarly,
        StaleNonce,
        StaleVersionKey,
        SubnetLimitReached,
        SubnetNotFound,
    )

    # the error's own subnet, else the one the command was given; NETUID only where neither is known
    kind, netuid = type(e), getattr(e, "netuid", None)
    if netuid is None:
        netuid = _subnets_named[-1] if _subnets_named else "NETUID"
    if kind is SubnetNotFound:
        if getattr(e, "block", None) is None:
            return "see `taonet subnet list` for the subnets there are"
        return "ask for a later block (a subnet exists from the block that created it), or see `taonet subnet list`"
    if kind is InsufficientStake:
        return "ask for less, or give --all (`taonet stake list` shows where your stake is)"
    if kind is AlreadyRegistered:
        return (f"it needs no second registration: `taonet metagraph {netuid}` shows its UID; to register another, "
                "make a hotkey (`taonet wallet new-hotkey`)")
    if kind is InvalidWeights:
        return (f"fix --uids and --weights: `taonet metagraph {netuid}` lists the subnet's UIDs, `taonet subnet "
                f"hparams {netuid}` its weight limits")
    if kind is InvalidHyperparameter:
        if (m := re.search(r"cannot go below the (\d+) UIDs in use", str(e))) is not None:
            return (f"give at least {m[1]}: a subnet never drops UIDs to shrink (`taonet metagraph {netuid}` lists "
                    "them)")
        return f"`taonet subnet hparams {netuid}` shows each value and its bounds"
    if kind is StaleVersionKey:
        return (f"give --version-key {e.required} (or higher): the subnet's owner raised weights_version "
                f"(`taonet subnet hparams {netuid}`); a validator sends its plugin's protocol version")
    if kind is RevealTooEarly:
        return f"run the reveal again once the window is open (`taonet weights pending {netuid}` shows it)"
    if kind is ProofOfWorkInvalid:
        return "run `taonet subnet pow-register` again for a fresh proof of work"
    if kind is SubnetLimitReached:
        return "register on a subnet there is instead (`taonet subnet list`, then `taonet subnet register NETUID`)"
    if kind is NotDelegate:
        return "`taonet delegate list` shows the delegates"
    if kind is StaleNonce:
        return "another write signed by the same key went first: run the command again"
    if kind is AlreadyQueued:
        return ("wait for it to be included (a block or two), then check with a read (`taonet wallet balance`, "
                "`taonet stake list`) before sending again")
    if kind is InvalidKeyFile:
        if "cannot be read" in str(e):
            return "check the file and its permissions (`chmod 600 FILE` for a key file of yours)"
        return ("restore it from a backup, or make the key again from its mnemonic (`taonet wallet regen-coldkey` or "
                "`taonet wallet regen-hotkey` with --overwrite)")
    if kind is InvalidKey:
        return ("check the mnemonic, seed or secret URI given (a mnemonic is 12 to 24 BIP39 words, a seed 32 bytes "
                "in hex)")
    return None


_OS_HINTS = {
    errno.ENOENT: "check the path (its folder must exist)",
    errno.ENOTDIR: "a part of the path is a file, not a folder: check the path",
    errno.EISDIR: "it is a folder: give a file",
    errno.EACCES: "check its permissions, or use another path",
    errno.EPERM: "check its permissions, or use another path",
    errno.EROFS: "the file system is read-only: use another path",
    errno.ENOSPC: "the disk is full: free some space",
    errno.EEXIST: "something is there already (a file where a folder is wanted?): remove it or use another path",
}


def _os_error_line(e: OSError) -> str:
    """An error of the operating system for people: the path, what the system said, what to do (never
    ``[Errno 2] ...``)."""
    if not e.strerror:
        return str(e) or type(e).__name__
    what = e.strerror[:1].lower() + e.strerror[1:]
    where = "" if e.filename is None else f"{e.filename}: "
    if e.filename2 is not None:
        where = f"{e.filename} -> {e.filename2}: "
    return f"{where}{what}; {_OS_HINTS.get(e.errno or 0, 'check the path and try again')}"


def _usage_line(e: Any, hint: Callable[[str], str] | None = None) -> str:
    message = " ".join(str(e.format_message()).split())
    if hint is not None:
        message = hint(message)
    ctx = getattr(e, "ctx", None)
    # a group's arguments appear in its path as typer's metavar ("taonet replay {DIR} events"): as people write them
    where = f"{ctx.command_path.replace('{', '').replace('}', '')} --help" if ctx is not None else "taonet --help"
    return f"{message} (see {where})"


def run_cli(command: Callable[..., Any], args: Sequence[str], *, debug: bool = False,
            stderr: TextIO | None = None, json_errors: bool = False, spelled: dict[str, str] | None = None,
            usage_hint: Callable[[str], str] | None = None) -> int:
    """Run the click/typer ``command`` with ``args``; the exit status, having said any error in one line.

    With ``json_errors`` (a command given ``--json``) an error is also one JSON document on stdout:
    ``{"error": {"message": ..., "exit_status": ..., "code": ..., "fields": ...}}`` (see :func:`error_json`).
    ``spelled`` maps an option of ``args`` to how the user wrote it (a btcli spelling the entry point rewrote), so an
    unknown option is named as typed; ``usage_hint`` turns a usage error's words into the line said (a hint added
    where the line as typed explains the error)."""
    err = stderr or sys.stderr
    said = _Said(err, json_errors)
    try:
        rv = command(args=list(args), prog_name="taonet", standalone_mode=False)
        if rv == EXIT_INTERRUPTED:  # typer's answer to a Ctrl-C (or SIGTERM) the command did not handle itself
            return said(_interrupted(), *_interrupted_status())
        return rv if isinstance(rv, int) else EXIT_OK
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_INTERNAL)
    except typer.Exit as e:
        return int(getattr(e, "exit_code", EXIT_OK))
    except typer.Abort:  # a prompt closed (Ctrl-C, SIGTERM, Ctrl-D) before the command handled it
        return said(f"{_interrupted('aborted')} at a prompt", *_interrupted_status())
    except _UsageError as e:
        if debug:
            traceback.print_exc(file=err)
        if str(e.format_message()).strip():  # type: ignore[attr-defined]  # empty: click showed the help instead
            line = _usage_line(e, usage_hint)
            for ours, theirs in (spelled or {}).items():
                line = line.replace(f"No such option: {ours}", f"No such option: {theirs}")
            return said(line, EXIT_USAGE, "usage")
        return EXIT_USAGE
    except _ClickException as e:
        if debug:
            traceback.print_exc(file=err)
        return said(" ".join(str(e.format_message()).split()),  # type: ignore[attr-defined]
                    int(getattr(e, "exit_code", EXIT_INTERNAL)))
    except BaseException as e:  # the one place every error of a command is reported
        if _reader_gone(e):  # `| head` has what it wanted: nothing went wrong
            return EXIT_OK
        if debug:
            traceback.print_exception(e, file=err)
        doc = error_json(e, as_rao="--rao" in args)  # amounts in the line as the command's output says them
        return said(doc["message"], doc["exit_status"], doc["code"], doc.get("fields"))


def _interrupted(word: str = "interrupted") -> str:
    """What stopped the command, said: ``word`` (Ctrl-C), or ``terminated (SIGTERM)``."""
    from .signals import terminated

    return "terminated (SIGTERM)" if terminated() else word


def _interrupted_status() -> tuple[int, str]:
    """The exit status and JSON code of a command stopped by Ctrl-C, or by SIGTERM (tools/signals.py)."""
    from .signals import terminated

    return (EXIT_TERMINATED, "terminated") if terminated() else (EXIT_INTERRUPTED, "interrupted")


class ReaderGone(BaseException):
    """Raised by :func:`guard_stdout`'s stream when standard output's reader has gone (`taonet ... | head -1`): the
    command stops there, and ends with status 0 and nothing said. A BaseException, so no ``except Exception`` of a
    command carries on writing."""


def _reader_gone(e: BaseException) -> bool:
    from taonet.ledger.errors import error_leaves

    return any(isinstance(x, ReaderGone) for x in error_leaves(e))


class _GuardedStream:
    """Standard output that raises :class:`ReaderGone` (once) where writing to it breaks the pipe, then drops what
    is written."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._went()

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._went()

    def _went(self) -> NoReturn:
        self.gone = True
        # what is still buffered (and the flush at exit) goes nowhere rather than failing again
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        raise ReaderGone

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, buffer...: the stream's own
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """From now on, a reader of standard output that goes away (`| head -1`) ends the command quietly with status 0
    (Python and rich would end it with status 1, saying nothing or a traceback). For entry points: it replaces
    ``sys.stdout``."""
    if sys.stdout is not None and not isinstance(sys.stdout, _GuardedStream):
        sys.stdout = _GuardedStream(sys.stdout)  # type: ignore[assignment]


def error_json(e: BaseException, as_rao: bool = False) -> dict[str, Any]:
    """What `--json` prints for ``e`` under ``"error"``: its one line, its exit status, its code and, for a typed
    error with fields, those fields in the convention of every `--json` document (tools/_json.py: keys as SS58, other
    bytes as hex, a non-finite float as its text), so a script reads e.g. a timeout's ``sent`` without parsing the
    line.

    A command whose JSON document reports a failure itself (``replay verify``) puts this in that document. With
    ``as_rao`` (`--rao`) the line says amounts in RAO; the fields always hold RAO."""
    import attrs

    from taonet.ledger.errors import TaonetError

    from ._json import jsonable

    root = root_error(e)
    doc: dict[str, Any] = {"message": describe(e, as_rao), "exit_status": exit_status(e), "code": _code(root)}
    if isinstance(root, TaonetError) and attrs.has(type(root)):
        fields = jsonable(root.fields())
        if fields:
            doc["fields"] = fields
    return doc


def _code(e: BaseException) -> str:
    """An error's code for scripts: a typed error's ``CODE``; another's class name in the same snake case
    (``PermissionError``: ``permission_error``)."""
    import re

    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(e).__name__)
    return getattr(e, "CODE", None) or words.lower()


class _Said:
    """Say an error: one line on stderr and, in JSON mode, one JSON document on stdout; returns the status."""

    def __init__(self, err: TextIO, as_json: bool) -> None:
        self.err, self.as_json = err, as_json

    def __call__(self, text: str, status: int, code: str = "error", fields: dict[str, Any] | None = None) -> int:
        print(f"error: {text}", file=self.err)
        if self.as_json:
            import json

            doc: dict[str, Any] = {"message": text, "exit_status": status, "code": code}
            if fields:
                doc["fields"] = fields
            with contextlib.suppress(ReaderGone):  # the line on stderr said it; the status still says it
                print(json.dumps({"error": doc}, allow_nan=False), flush=True)
        return status
