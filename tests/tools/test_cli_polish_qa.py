"""What a QA pass (as a btcli user) found in the command line, through the installed `taonet` against a dev node: a
"not registered" mistake with two exit statuses, one-line errors without a next step, `--rao` amounts without a
unit, a key file open to other users used without a word, and `wallet create` on a watch-only wallet showing a
coldkey it does not have (docs/cli.md)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import Keypair

from .cli import Cli, one_error
from .processes import taonet_node

BOB = Keypair.from_uri("//Bob").ss58_address


@pytest.fixture(scope="module")
def online(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks); wallet "a" funded, owning subnet 1 with hotkey "h" (UID 0); wallet "b" funded with
    hotkey "x" registered (UID 1); wallet "c" with hotkey "y", neither funded nor registered."""
    root = tmp_path_factory.mktemp("cli-polish")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, _addresses):
        cli = Cli(wallets=root / "wallets", endpoint=_addresses["rpc"])
        for wallet, hotkey in (("a", "h"), ("b", "x"), ("c", "y")):
            cli.ok("wallet", "create", "-w", wallet, "-H", hotkey)
        cli.ok("wallet", "faucet", "-w", "a", "--amount", "2000")
        cli.ok("wallet", "faucet", "-w", "b", "--amount", "5")
        cli.ok("subnet", "create", "-w", "a", "-H", "h", "-y")
        cli.ok("subnet", "register", "1", "-w", "b", "-H", "x", "-y")
        yield cli


def _hotkey(cli: Cli, wallet: str) -> str:
    return cli.ok("wallet", "inspect", "-w", wallet, "--json").json["hotkeys"][0]["ss58"]


# --- 1. "not registered" is one exit status ----------------------------------------------------------------------
def test_an_unregistered_hotkey_is_exit_6_whoever_finds_it(online: Cli) -> None:
    """`weights set` signed by an unregistered hotkey was exit 3 (the node refused it at admission) while `--hotkeys`
    naming one was exit 6 (the command's own check): both are "not found", 6, as HotkeyNotRegistered is everywhere;
    an unfunded coldkey's fee-free call stays 3 (the chain refused it: fund the key)."""
    y = _hotkey(online, "c")
    line = one_error(online("weights", "set", "1", "--hotkeys", y, "--weights", "1", "-w", "a", "-H", "h", "-y"), 6)
    assert f"hotkey {y} is not registered on subnet 1" in line, line
    for verb in ("set", "commit"):
        r = online("weights", verb, "1", "--uids", "0", "--weights", "1", "-w", "c", "-H", "y", "-y", "--json")
        line = one_error(r, 6)
        assert y in line and "taonet subnet register 1" in line, line
        assert r.json["error"]["exit_status"] == 6 and r.json["error"]["code"] == "unknown_signer", r
    line = one_error(online("delegate", "nominate", "-w", "c", "-H", "y", "-y"), 3)
    assert "fund the key first" in line, line


# --- 2. one-line errors say what to do ---------------------------------------------------------------------------
def test_a_subnet_that_does_not_exist_names_the_command_that_lists_them(online: Cli) -> None:
    """`subnet 99 does not exist` said nothing more: each command names `taonet subnet list` (a past block: a later
    block); --json's message is the same line."""
    for args in (("subnet", "show", "99"), ("metagraph", "99"), ("weights", "show", "99"),
                 ("subnet", "register", "99", "-w", "b", "-H", "x", "-y")):
        line = one_error(online(*args), 6)
        assert line == "error: subnet 99 does not exist; see `taonet subnet list` for the subnets there are", line
    r = online("subnet", "show", "99", "--json")
    assert r.json["error"]["message"] == r.stderr[0].removeprefix("error: ")
    line = one_error(online("metagraph", "1", "--block", "0"), 6)
    assert line.startswith("error: subnet 1 does not exist at block 0; ask for a later block") and \
        "taonet subnet list" in line, line


def test_chain_refusals_that_said_only_what_happened_say_what_to_do(online: Cli) -> None:
    """Too little stake, a hotkey registered already, weights or a hyperparameter out of bounds: one line each that
    names the command to run next."""
    line = one_error(online("stake", "remove", "-w", "b", "-H", "x", "--amount", "3", "-y"), 3)
    assert "only τ0.0000 is staked; ask for less, or give --all (`taonet stake list`" in line, line
    line = one_error(online("subnet", "register", "1", "-w", "b", "-H", "x", "-y"), 3)
    assert "already registered (or waiting) on subnet 1; it needs no second registration: `taonet metagraph 1`" in line
    line = one_error(online("weights", "set", "1", "--uids", "0,0", "--weights", "1,1", "-w", "a", "-H", "h", "-y"),
                     3)  # a UID the subnet does not have is exit 6 before anything is sent (test_cli_hints_qa.py)
    assert "duplicate uids" in line and "`taonet metagraph 1` lists the subnet's UIDs" in line, line
    line = one_error(online("subnet", "set", "1", "--param", "tempo", "--value", "0", "-w", "a", "-y"), 3)
    assert "outside its bounds [1, 50,400]: give a value within them (taonet subnet hparams 1" in line, line
    line = one_error(online("wallet", "regen-coldkey", "-w", "z", "--mnemonic", "foo bar", "--no-password"), 5)
    assert "not a valid BIP39 mnemonic" in line and "check the mnemonic, seed or secret URI given" in line, line


# --- 3. --rao says its unit --------------------------------------------------------------------------------------
def test_rao_amounts_say_their_unit_and_json_stays_integers(online: Cli) -> None:
    """`--rao` printed `sent 1,000 to ...` and bare columns: a line says RAO, a table's amount column rho (btcli's
    RAO) in its header; --json is plain integers."""
    line = online.ok("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", "1000", "--rao", "-y").stdout
    assert line.startswith(f"sent 1,000 RAO to {BOB}: included in block ") and line.rstrip().endswith(" RAO"), line
    assert re.fullmatch(r"creating a subnet locks [\d,]+ RAO\n", online.ok("subnet", "burn-cost", "--rao").stdout)
    text = online.ok("wallet", "balance", "-w", "b", "--rao").stdout
    assert "FREE(\u03c1)" in text and "TOTAL(\u03c1)" in text, text
    text = online.ok("stake", "list", "-w", "a", "--rao").stdout
    assert "STAKE(\u03c1)" in text and re.search(r"total [\d,]+ RAO", text), text  # the caption
    assert re.search(r" lock +[\d,]+ RAO ", online.ok("subnet", "show", "1", "--rao").stdout)
    assert "\u03c4" in online.ok("subnet", "list").stdout
    assert "BURN(\u03c1)" in online.ok("subnet", "list", "--rao").stdout
    doc = online.ok("wallet", "balance", "-w", "b", "--rao", "--json").json["balances"][0]
    assert all(isinstance(doc[k], int) for k in ("free", "staked", "total")), doc
    doc = online.ok("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", "1000", "--rao", "-y", "--json").json
    assert isinstance(doc["balance"], int), doc


# --- 4. a key file open to others is said once ------------------------------------------------------------------
def test_a_key_file_other_users_can_read_is_warned_about_once(online: Cli) -> None:
    """A coldkey and a hotkey of mode 644 were used without a word (btcli warns): one line each on stderr naming the
    file and `chmod 600`; the command still works, and a file of mode 600 says nothing."""
    coldkey, hotkey = online.wallets / "a" / "coldkey", online.wallets / "a" / "hotkeys" / "h"
    try:
        for f in (coldkey, hotkey):
            os.chmod(f, 0o644)
        r = online("weights", "set", "1", "--uids", "0", "--weights", "1", "-w", "a", "-H", "h", "-y")
        assert r.status == 0 and r.stderr == [
            f"warning: key file {hotkey} can be read by other users (mode 644): run chmod 600 {hotkey}"], r
        r = online("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", "0.001", "-y", "--json")
        assert r.status == 0 and json.loads(r.stdout)["status"] == "included", r
        assert r.stderr == [f"warning: key file {coldkey} can be read by other users (mode 644): run chmod 600 "
                            f"{coldkey}"], r
        os.chmod(coldkey, 0o660)
        r = online("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", "0.001", "-y")
        assert r.status == 0 and r.stderr == [f"warning: key file {coldkey} can be read and changed by other users "
                                              f"(mode 660): run chmod 600 {coldkey}"], r
    finally:
        for f in (coldkey, hotkey):
            os.chmod(f, 0o600)
    online.ok("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", "0.001", "-y")  # stderr empty


def test_the_wire_logs_an_open_key_file_and_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    """The library says it as a log event (the command prints the line): `keyfile.open_to_others` with the path,
    the mode and the fix, once per file; a public key file is not warned about."""
    from structlog.testing import capture_logs

    from taonet.kernel import Wallet

    w = Wallet(name="w", hotkey="h", path=str(tmp_path))
    w.create_new_hotkey()
    os.chmod(w.hotkey_file, 0o644)
    os.chmod(w.hotkeypub_file, 0o644)
    with capture_logs() as logs:
        w.get_hotkey()
        Wallet(name="w", hotkey="h", path=str(tmp_path)).get_hotkey()
        w.get_hotkeypub()
    assert logs == [{"event": "keyfile.open_to_others", "log_level": "warning", "path": str(w.hotkey_file),
                     "mode": "644", "fix": f"chmod 600 {w.hotkey_file}"}], logs
    assert capsys.readouterr() == ("", "")


# --- 5. wallet create on a watch-only wallet ---------------------------------------------------------------------
def test_create_on_a_watch_only_wallet_says_so_and_how_to_sign(online: Cli) -> None:
    """`wallet create -w watch` printed `coldkey watch: ADDRESS` as if the coldkey were there: it says the wallet is
    watch-only and the command that restores its coldkey (which then works as it says)."""
    online.ok("wallet", "regen-coldkeypub", "-w", "watch", "--ss58", BOB)
    out = online.ok("wallet", "create", "-w", "watch", "-H", "wh").stdout.splitlines()
    assert out[0] == f"coldkeypub watch: {BOB}", out
    assert "wallet watch is watch-only" in out[1] and out[1].endswith(
        'taonet wallet regen-coldkey -w watch --mnemonic "WORDS" --overwrite'), out
    assert out[2].startswith("hotkey wh: "), out
    assert not (online.wallets / "watch" / "coldkey").exists()
    keys = online.ok("wallet", "create", "-w", "watch", "-H", "wh", "--json").json["keys"]
    assert keys[0] == {"key": "coldkeypub", "name": "watch", "ss58": BOB, "existed": True, "watch_only": True}, keys
    online.ok("wallet", "regen-coldkey", "-w", "watch", "--uri", "//Bob", "--overwrite", "--no-password")
    out = online.ok("wallet", "create", "-w", "watch", "-H", "wh").stdout.splitlines()
    assert out[0].startswith("coldkey watch: ") and "watch-only" not in "\n".join(out), out
