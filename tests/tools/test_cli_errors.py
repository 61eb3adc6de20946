"""Errors a user can cause are one line on stderr with a documented exit status (docs/cli.md); --debug adds the
traceback. Driven through the installed `taonet` executable, as a user would."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import typer

from taonet.kernel import subtensor
from taonet.kernel.errors import (
    BadAddress,
    BlockNotFound,
    BlockWaitTimeout,
    Busy,
    DataDirLocked,
    DataDirNotADirectory,
    ExtrinsicDropped,
    KeyFileNotFound,
    NodeHalted,
    NoNode,
    RpcTimeout,
    SignerLimit,
    UnknownSigner,
    WrongPassword,
)
from taonet.ledger.errors import (
    CorruptLog,
    EmptyBlockLog,
    InsufficientBalance,
    InvalidAddress,
    InvalidBlock,
    InvalidKey,
    StorageFailed,
    SubnetNotFound,
)
from taonet.tools.errors import run_cli

from ..kernel.client.test_blocking import free_address
from .processes import error_lines, taonet, taonet_node

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

LIST_SUBNETS = "; see `taonet subnet list` for the subnets there are"
"""What the command line adds to `subnet N does not exist`: the next step."""

ERRORS: list[tuple[BaseException, int]] = [
    (InsufficientBalance(needed=5, available=1), 3),
    (NodeHalted(number=7, reason="a system call broke a rule"), 3),
    (UnknownSigner(signer="5FHne", call="SetWeights", rule="a hotkey registered on subnet 1"), 6),  # not registered
    (UnknownSigner(signer="5FHne", call="Nominate", rule="a key with a free balance"), 3),  # an unfunded coldkey
    (ExtrinsicDropped(nonce=4, reason="an earlier extrinsic was rejected"), 3),
    (SignerLimit(limit=256), 4),
    (NoNode(method="head", address="tcp://127.0.0.1:9", reason="nothing answered"), 4),
    (RpcTimeout(method="head", address="tcp://127.0.0.1:9", timeout=1.0), 4),
    (Busy(method="metagraph", reason="over its share", retry_after=0.5), 4),
    (WrongPassword(path="/w/coldkey"), 5),
    (KeyFileNotFound(path="/w/hotkey"), 5),
    (InvalidKey("not a valid BIP39 mnemonic"), 5),
    (InvalidAddress("bad SS58 checksum"), 2),
    (SubnetNotFound(netuid=9), 6),
    (BlockNotFound(number=99, head=3), 6),
    (CorruptLog(path="/d/chain/blocks/0.seg", offset=0, reason="checksum mismatch"), 7),
    (StorageFailed(path="/d", operation="fsync", reason="disk full"), 7),
    (DataDirLocked(path="/d", pid=4242), 7),
    (DataDirNotADirectory(path="/d"), 7),
    (EmptyBlockLog(path="/d/chain/blocks"), 7),
    (InvalidBlock(number=0, reason="bad signature"), 7),
    (BadAddress(address="tcp://x", reason="Address invalid"), 2),
    (PermissionError(13, "Permission denied", "/d"), 7),
    (BlockWaitTimeout(block=9, timeout=1.0, head=3), 4),  # a TimeoutError is an OSError: not "refused data" (7)
    (TimeoutError("a deadline passed"), 4),
    (ZeroDivisionError("a bug"), 1),
]


def _raising_app(error: BaseException) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def fail(group: bool = False) -> None:
        """Raise the error (inside an ExceptionGroup with --group, as a task group delivers it)."""
        if group:
            raise BaseExceptionGroup("task group", [BaseExceptionGroup("inner", [error]), ValueError("later")])
        raise error

    @app.command()
    def ok() -> None:
        """Succeed."""

    return app


@pytest.mark.parametrize(("error", "status"), ERRORS, ids=[type(e).__name__ for e, _ in ERRORS])
@pytest.mark.parametrize("group", [False, True], ids=["bare", "in-exception-group"])
def test_each_error_class_has_its_exit_status_and_one_line(error: BaseException, status: int, group: bool) -> None:
    """The wrapper every command runs in: the documented status, one `error:` line, no traceback."""
    err = io.StringIO()
    args = ["fail", "--group"] if group else ["fail"]
    assert run_cli(_raising_app(error), args, stderr=err) == status
    lines = error_lines(err.getvalue())
    assert len(lines) == 1 and lines[0].startswith("error: ")
    if isinstance(error, PermissionError):  # the system's words with the path and what to do, not "[Errno 13]"
        assert lines[0] == "error: /d: permission denied; check its permissions, or use another path"
    elif type(error) is InsufficientBalance:  # its amounts in τ, as every line of the command line says them
        assert lines[0].startswith("error: needs τ0.000000005 but only τ0.000000001 is free: have a funded wallet ")
    elif status != 1:  # the error's own words, then (for some) the next step the command line adds
        assert lines[0] == f"error: {error}" or lines[0].startswith(f"error: {error}; ")
    else:
        assert "--debug" in lines[0]


def _strict_json(text: str) -> object:
    """``text`` parsed as JSON as any parser reads it: ``NaN`` or ``Infinity`` (which json.dumps writes for a float that
    is not finite, and most parsers refuse) fail the test."""
    import json

    def refuse(name: str) -> object:
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_a_json_error_carries_the_typed_fields_as_json_values() -> None:
    """`--json` errors carry a typed error's fields in the convention of every other `--json` document (tools/_json.py
    `jsonable`: bytes as bare hex, a 32-byte key named hotkey as SS58, tuples as lists, a non-finite float as its
    text); a plain error has none; an error inside a task group's ExceptionGroup is reported by its own fields."""
    import contextlib

    import attrs

    from taonet.ledger import Keypair
    from taonet.ledger.errors import TaonetError, WrongGenesis
    from taonet.tools.cli._common import jsonable
    from taonet.tools.errors import error_json

    doc = error_json(ExceptionGroup("g", [WrongGenesis(expected=b"\x01" * 2, got=b"\xff")]))
    assert doc["code"] == "wrong_genesis" and doc["fields"] == {"expected": "0101", "got": "ff"}
    assert "fields" not in error_json(TaonetError("plain")) and "fields" not in error_json(ValueError("x"))

    @attrs.define(auto_exc=True, str=False, slots=False)
    class KeyRefused(TaonetError):  # an error carrying a key as bytes, as events do
        hotkey: bytes
        uids: tuple[int, ...]
        weight: float

    key = Keypair.from_uri("//Alice")
    fields = error_json(KeyRefused(hotkey=key.public_key, uids=(1, 2), weight=float("nan")))["fields"]
    assert fields == {"hotkey": key.ss58_address, "uids": [1, 2], "weight": "nan"}
    assert fields == jsonable({"hotkey": key.public_key, "uids": (1, 2), "weight": float("nan")})  # one convention
    out = io.StringIO()

    def cmd(**_: object) -> None:
        raise RpcTimeout(method="head", address="tcp://127.0.0.1:1", timeout=float("inf"))

    with contextlib.redirect_stdout(out):
        status = run_cli(cmd, [], stderr=io.StringIO(), json_errors=True)
    doc = _strict_json(out.getvalue())
    assert status == 4 and doc["error"]["fields"] == {  # type: ignore[index]
        "method": "head", "address": "tcp://127.0.0.1:1", "timeout": "inf"}


def test_json_output_is_valid_json_whatever_the_floats() -> None:
    """A command's `--json` document (Out.emit) carries a non-finite float as text, never as `NaN`/`Infinity`, and
    numpy numbers as numbers."""
    import contextlib

    import numpy as np

    from taonet.tools.cli._common import Out

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        Out(as_json=True).emit({"a": float("-inf"), "b": np.float32(0.5), "c": np.int64(7), "d": {3, 1, 2}})
    assert _strict_json(out.getvalue()) == {"a": "-inf", "b": 0.5, "c": 7, "d": [1, 2, 3]}


def test_debug_adds_the_traceback_before_the_line() -> None:
    """With debug the traceback comes first; the last line is still the one-line error."""
    err = io.StringIO()
    assert run_cli(_raising_app(SubnetNotFound(netuid=9)), ["fail"], debug=True, stderr=err) == 6
    assert "Traceback (most recent call last)" in err.getvalue()
    assert error_lines(err.getvalue())[-1] == "error: subnet 9 does not exist" + LIST_SUBNETS


def test_the_exit_status_table_is_documented() -> None:
    """docs/cli.md lists every status the wrapper returns."""
    text = DOC.read_text()
    for status in range(8):
        assert re.search(rf"^\| {status} \|", text, flags=re.M), status


def test_no_node_is_one_line_and_status_4_within_seconds() -> None:
    """Every reading command with no node behind it answers in seconds: one line, status 4."""
    address = free_address()
    # the default wait once (3 s to connect), then --timeout 1 to keep the test short
    for args in (["metagraph", "1"], ["subnet", "list", "--timeout", "1"],
                 ["subnet", "hparams", "1", "--timeout", "1"]):
        out, seconds = taonet(*args, "--endpoint", address, timeout=60)
        assert out.returncode == 4, out.stderr
        assert error_lines(out.stderr) == [error_lines(out.stderr)[0]]
        assert error_lines(out.stderr)[0].startswith(f"error: no node at {address}")
        assert "taonet node run --dev" in out.stderr
        assert seconds < 20  # the connect timeout is 3 s; the margin is for a loaded machine
    out, _ = taonet("subnet", "list", "--endpoint", address, "--timeout", "0.5", timeout=60)
    assert out.returncode == 4 and "within 0.5 s" in out.stderr


def test_stake_list_of_a_wallet_with_no_coldkey_says_so_with_status_5(tmp_path: Path) -> None:
    """A named wallet that does not exist is the wallet error (status 5), not an empty table that looks like no
    stake."""
    out, _ = taonet("stake", "list", "-w", "nosuch", "-p", str(tmp_path), "--endpoint", free_address())
    assert out.returncode == 5 and len(error_lines(out.stderr)) == 1, out.stderr
    assert "nosuch" in out.stderr and "taonet wallet create" in out.stderr and out.stdout == ""


def test_bad_input_on_the_command_line_is_status_2() -> None:
    """A wrong flag or an endpoint that is not an address: one line, status 2, no traceback."""
    out, _ = taonet("metagraph", "1", "--bogus")
    assert out.returncode == 2
    assert error_lines(out.stderr) == ["error: No such option: --bogus (see taonet metagraph --help)"]
    out, _ = taonet("metagraph", "1", "-e", "nonsense")
    assert out.returncode == 2
    assert len(error_lines(out.stderr)) == 1 and "tcp://nonsense" in out.stderr
    assert "Traceback" not in out.stderr
    out, _ = taonet("node", "run", "--dev", "--rpc", "nonsense")
    assert out.returncode == 2
    assert len(error_lines(out.stderr)) == 1 and "--rpc: 'nonsense' is not an nng address" in out.stderr


@pytest.mark.slow
def test_not_found_is_status_6_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    """Against a real node: an unknown netuid and a future block are status 6; --debug (anywhere) adds the
    traceback; the same commands with good input succeed."""
    with taonet_node(tmp_path / "node") as (_proc, _header, addresses):
        rpc = addresses["rpc"]
        out, _ = taonet("metagraph", "7", "-e", rpc)
        assert out.returncode == 6
        assert error_lines(out.stderr) == ["error: subnet 7 does not exist" + LIST_SUBNETS]
        out, _ = taonet("subnet", "hparams", "7", "-e", rpc)
        assert (out.returncode, error_lines(out.stderr)) == (6, ["error: subnet 7 does not exist" + LIST_SUBNETS])
        out, _ = taonet("subnet", "list", "--json", "-e", rpc)
        assert out.returncode == 0 and out.stdout.strip() == "[]"
        out, _ = taonet("metagraph", "7", "-e", rpc, "--debug")
        assert out.returncode == 6
        assert "Traceback (most recent call last)" in out.stderr and "SubnetNotFound" in out.stderr
        assert error_lines(out.stderr)[-1] == "error: subnet 7 does not exist" + LIST_SUBNETS
        out, _ = taonet("--debug", "metagraph", "7", "-e", rpc)
        assert out.returncode == 6 and "Traceback" in out.stderr


@pytest.mark.slow
def test_a_damaged_data_dir_is_status_7(tmp_path: Path) -> None:
    """`taonet node run` on a data dir whose genesis block was overwritten: status 7, one line naming the file."""
    data = tmp_path / "node"
    with taonet_node(data) as (_proc, _header, addresses), subtensor(addresses["rpc"], timeout=20) as sub:
        sub.wait_for_block(5, timeout=30)  # the genesis record is then complete, not a torn tail
    segment = sorted((data / "chain" / "blocks").glob("*.seg"))[0]
    raw = bytearray(segment.read_bytes())
    raw[40:60] = b"garbage-garbage-garb"
    segment.write_bytes(bytes(raw))
    out, _ = taonet("node", "run", "--dev", "--data-dir", str(data), "--rpc", "tcp://127.0.0.1:0", "--feed",
                    "tcp://127.0.0.1:0", "--log-level", "warning", timeout=60)
    assert out.returncode == 7, out.stderr
    lines = error_lines(out.stderr)
    assert len(lines) == 1 and lines[0].startswith(f"error: {segment}")
    assert segment.read_bytes() == bytes(raw)  # refused, not repaired or overwritten


def test_a_data_dir_that_is_a_file_is_status_7_and_left_alone(tmp_path: Path) -> None:
    """`node run`, `node follow` and `demo` given a file as --data-dir: one line saying so (it was 'open on
    FILE/LOCK failed: File exists; free space or fix the disk', or '[Errno 17] File exists'), status 7, the file
    unchanged."""
    a_file = tmp_path / "afile"
    a_file.write_text("mine")
    for cmd in (("node", "run", "--dev", "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"),
                ("node", "follow", "--from", "tcp://127.0.0.1:9", "--rpc", "tcp://127.0.0.1:0", "--feed",
                 "tcp://127.0.0.1:0"), ("demo", "--ledger"), ("demo", "--epochs", "1")):
        out, _ = taonet(*cmd, "--data-dir", str(a_file), timeout=60)
        assert out.returncode == 7 and error_lines(out.stderr) == [
            f"error: {a_file} is a file, not a directory: give --data-dir a directory (a new one, or a node's)"], out
    assert a_file.read_text() == "mine"


def test_the_wrapper_passes_success_and_help_through() -> None:
    """A command that succeeds is status 0 with nothing on stderr; --help is 0."""
    err = io.StringIO()
    app = _raising_app(ValueError())
    assert run_cli(app, ["ok"], stderr=err) == 0
    assert run_cli(app, ["--help"], stderr=err) == 0
    assert err.getvalue() == ""


@pytest.mark.parametrize(("cause", "first_words"), [
    ("unreachable", "weights set: the node at tcp://127.0.0.1:9 went away (receipt: Connection shutdown)"),
    ("no-reply", "weights set: the node at tcp://127.0.0.1:9 stopped answering (receipt got no reply within 4 s)"),
])
def test_a_commit_whose_wait_ended_with_the_node_says_so_with_its_salt(cause: str, first_words: str,
                                                                       tmp_path: Path) -> None:
    """A weight commit whose result is "timeout" carrying the node's error (it went away: Unreachable; it stopped
    answering: RpcTimeout) says that first, not "did not finish within T s (--timeout)", and keeps the salt and the
    exact reveal command (exit 4)."""
    from taonet.kernel import Wallet
    from taonet.kernel.client import ExtrinsicResult, PendingReveal
    from taonet.kernel.errors import Unreachable
    from taonet.tools.cli._errors import CommandTimeout
    from taonet.tools.cli._weights import _commit_unrevealed
    from taonet.tools.errors import exit_status

    w = Wallet("owner", "owner", str(tmp_path))
    w.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False)
    r = PendingReveal.new(1, w.hotkey.ss58_address, [0], [1.0], salt=b"\x07" * 16)
    address = "tcp://127.0.0.1:9"
    error = (Unreachable(method="receipt", address=address, reason="Connection shutdown") if cause == "unreachable"
             else RpcTimeout(method="receipt", address=address, timeout=4.0))
    with pytest.raises(CommandTimeout) as got:
        _commit_unrevealed("weights set", ExtrinsicResult(status="timeout", error=error), r, w, None, address, 4.0)
    line = str(got.value)
    assert line.startswith(first_words + ": it may have been sent"), line
    assert "did not finish" not in line and "the commit's salt is " + "07" * 16 in line
    assert f"`taonet weights reveal 1 --uids 0 --weights 65535 --salt {'07' * 16} -w owner -H owner`" in line
    assert got.value.cause == first_words.removeprefix("weights set: ") and exit_status(got.value) == 4


@pytest.mark.parametrize("cause", ["unreachable", "no-reply"])
def test_a_write_whose_result_ended_with_the_node_says_so_and_that_it_may_have_been_sent(cause: str) -> None:
    """Any write (Out.wrote) whose result is "timeout" carrying the node's error says the node went away or stopped
    answering, that the write may have been sent, and to check before sending it again (exit 4); it used to raise
    the bare Unreachable ("submit to X failed: ...") or say only "not in a block yet"."""
    from taonet.kernel.client import ExtrinsicResult
    from taonet.kernel.errors import Unreachable
    from taonet.tools.cli._common import Out
    from taonet.tools.errors import describe, exit_status

    address = "tcp://127.0.0.1:9"
    error = (Unreachable(method="submit", address=address, reason="Connection shutdown") if cause == "unreachable"
             else RpcTimeout(method="receipt", address=address, timeout=4.0))
    with pytest.raises(RpcTimeout) as got:
        Out().wrote(ExtrinsicResult(status="timeout", error=error, sent=True), "sent τ1.0000 to 5FHne")
    line = describe(got.value)
    first = ("went away (submit: Connection shutdown)" if cause == "unreachable"
             else "stopped answering (receipt got no reply within 4 s)")
    assert line.startswith(f"sent τ1.0000 to 5FHne: the node at {address} {first}: it may have been sent"), line
    assert "once the node answers again, check with a read" in line and exit_status(got.value) == 4


@pytest.mark.parametrize(("rao", "shown"), [
    (48_999_998_001, "τ48.9999"), (999_999_999, "τ0.9999"), (10**9, "τ1.0000"), (1_234_500_000_000, "τ1,234.5000"),
    (100, "τ0.000000100"), (1, "τ0.000000001"), (0, "τ0.0000"), (-48_999_998_001, "τ-48.9999")])
def test_an_amount_is_never_shown_as_more_than_it_is(rao: int, shown: str) -> None:
    """τ amounts are cut toward zero at 4 places, never rounded up (48,999,998,001 RAO showed τ49.0000, and a user
    who then sent 49 was refused); one too small to show at 4 places is shown whole (100 RAO sent showed τ0.0000)."""
    from taonet.tools.cli._amounts import tao

    assert tao(rao) == shown


def test_an_untyped_error_s_json_code_is_in_the_same_snake_case_as_the_typed_ones() -> None:
    """A file error (a segment `replay show` cannot read) has code `permission_error`, not the class name
    `PermissionError` beside typed codes like `corrupt_log`."""
    from taonet.tools.errors import error_json

    codes = [error_json(e)["code"] for e in (PermissionError(13, "Permission denied", "/x"), FileNotFoundError(),
                                              OSError(), ValueError("x"))]
    assert codes == ["permission_error", "file_not_found_error", "os_error", "value_error"]
