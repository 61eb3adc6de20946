"""What the installed `taonet` says when it refuses, on a real dev node (docs/cli.md): `weights commit|set --save FILE`
checks the subnet, the UIDs and the hotkey before it writes FILE (a refused command leaves no file behind); a ledger
error's amounts are in τ as every other line (RAO with --rao); a next step names the subnet the command was given,
not NETUID; `delegate add` refuses a hotkey that is not a delegate, naming `stake add`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cli import Cli, one_error
from .processes import taonet_node

pytestmark = pytest.mark.slow

BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
GET_TAO = ("have a funded wallet send τ to this coldkey (taonet wallet transfer), take some from the faucet on a "
           "development chain (taonet wallet faucet), or ask for less")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks): wallet "owner" owns subnet 1 (hotkey "owner", UID 0) and subnet 2 (commit-reveal
    on); hotkey "miner" is UID 1 of both; wallet "a" holds τ10 and hotkey "h", registered nowhere."""
    root = tmp_path_factory.mktemp("refusals")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        c = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", "owner")
        c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", "miner")
        c.ok("wallet", "faucet", "--wallet-name", "owner", "--amount", "2000")
        for netuid in ("1", "2"):
            c.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
            c.ok("subnet", "register", netuid, "-w", "owner", "-H", "miner", "-y")
        c.ok("subnet", "set", "2", "--param", "commit_reveal_weights_enabled", "--value", "1", "-w", "owner", "-y")
        c.ok("wallet", "create", "--wallet-name", "a", "--hotkey", "h")
        c.ok("wallet", "faucet", "--wallet-name", "a", "--amount", "10")
        yield c


def _tao(rao: int) -> str:
    """An amount in τ, exact, with at least 4 places (τ1,000,000.000125)."""
    whole, part = divmod(rao, 10**9)
    return f"τ{whole:,}." + f"{part:09d}".rstrip("0").ljust(4, "0")


def _hotkey(cli: Cli, wallet: str, name: str) -> str:
    keys = cli.ok("wallet", "inspect", "-w", wallet, "--json").json["hotkeys"]
    return next(k["ss58"] for k in keys if k["name"] == name)


def test_a_refused_weight_commit_leaves_no_salt_file(cli: Cli, tmp_path: Path) -> None:
    """`weights commit --save FILE` by an unregistered hotkey, naming a UID the subnet lacks, or on a subnet that does
    not exist is exit 6; on a subnet without commit-reveal exit 3; `weights set --save FILE` by an unregistered hotkey
    on a commit-reveal subnet exit 6: FILE is never written (it was, before the check)."""
    saved = tmp_path / "reveal.json"
    commit = ("weights", "commit", "--uids", "1", "--weights", "1", "--save", str(saved), "-y")

    def refused(status: int, *args: str) -> str:
        r = cli(*args)
        assert not saved.exists(), r  # before the check it was written, then the command was refused
        return one_error(r, status)

    line = refused(6, *commit, "--netuid", "2", "-w", "a", "-H", "h")
    assert "is not registered on subnet 2: register it first (taonet subnet register 2)" in line, line
    line = refused(6, "weights", "commit", "2", "--uids", "7", "--weights", "1", "--save", str(saved), "-w", "owner",
                   "-H", "owner", "-y")
    assert line == "error: subnet 2 has no UID 7 (its UIDs are 0..1): taonet metagraph 2 lists them", line
    assert "subnet 9 does not exist" in refused(6, *commit, "--netuid", "9", "-w", "owner", "-H", "owner")
    assert "commit-reveal is off on subnet 1" in refused(3, *commit, "--netuid", "1", "-w", "owner", "-H", "owner")
    line = refused(6, "weights", "set", "2", "--uids", "1", "--weights", "1", "--save", str(saved), "-w", "a",
                   "-H", "h", "-y")
    assert "is not registered on subnet 2" in line, line
    # accepted: the file holds what the reveal needs
    doc = cli.ok(*commit, "--netuid", "2", "-w", "owner", "-H", "owner", "--json").json
    assert json.loads(saved.read_text()) == doc["reveal"]


def test_ledger_errors_say_amounts_in_tao_unless_rao(cli: Cli) -> None:
    """Too little balance or stake: the amounts in τ (exact, to the RAO: τ1,000,000.000000125), in RAO with --rao;
    --json's message says the same and its fields keep RAO. They were in RAO whatever the flags."""
    transfer = ("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", "1000000.000000125", "-y")
    err = cli(*transfer, "--json").json["error"]
    needed = err["fields"]["needed"]  # the amount and the fee (if any), in RAO
    assert needed >= 10**15 + 125 and err["fields"]["available"] == 10 * 10**9, err
    assert err["message"] == f"needs {_tao(needed)} but only τ10.0000 is free: {GET_TAO}", err
    assert one_error(cli(*transfer), 3) == f"error: {err['message']}"
    line = one_error(cli(*transfer[:-2], "1000000000000125", "--rao", "-y"), 3)
    assert line == f"error: needs {needed:,} RAO but only 10,000,000,000 RAO is free: {GET_TAO}", line
    on = ("-w", "owner", "--hotkey-ss58", _hotkey(cli, "owner", "owner"))
    line = one_error(cli("stake", "remove", *on, "--amount", "1000000.5", "-y"), 3)  # what is staked earns: a pattern
    assert re.fullmatch(r"error: needs τ1,000,000\.5000 of stake but only τ[\d,]+\.\d{4,9} is staked; ask for less, or "
                        r"give --all \(`taonet stake list` shows where your stake is\)", line), line
    line = one_error(cli("stake", "remove", *on, "--amount", "1000000500000000", "--rao", "-y"), 3)
    assert re.fullmatch(r"error: needs 1,000,000,500,000,000 RAO of stake but only [\d,]+ RAO is staked; .*",
                        line), line


def test_a_next_step_names_the_subnet_the_command_was_given(cli: Cli) -> None:
    """Weights the chain refuses (a UID twice) on subnet 1: the step names `taonet metagraph 1` and `taonet subnet
    hparams 1`, not NETUID."""
    line = one_error(cli("weights", "set", "--netuid", "1", "--uids", "1,1", "--weights", "1,1", "-w", "owner",
                         "-H", "owner", "-y"), 3)
    assert line == ("error: weights rejected: duplicate uids; fix --uids and --weights: `taonet metagraph 1` lists "
                    "the subnet's UIDs, `taonet subnet hparams 1` its weight limits"), line


def test_delegate_add_refuses_a_hotkey_that_is_not_a_delegate(cli: Cli) -> None:
    """`delegate add` to a hotkey never nominated: exit 3 before anything is sent, one line saying what to do; to
    the wallet's own hotkey (which the chain takes, and which it staked on without a word) it names `taonet stake
    add`; a hotkey the chain does not know is exit 6. Once the hotkey is nominated the same command stakes on it."""
    hot = _hotkey(cli, "owner", "miner")
    add = ("delegate", "add", "--delegate", hot, "--amount", "1", "-y")
    line = one_error(cli(*add, "-w", "owner"), 3)
    assert line == (f"error: hotkey {hot} is your own (wallet 'owner'), not a delegate: nothing was sent; stake on "
                    f"your own hotkey with taonet stake add -w owner --hotkey-ss58 {hot} (delegate add stakes on "
                    "delegates: taonet delegate list)"), line
    line = one_error(cli(*add, "-w", "a"), 3)
    assert line == (f"error: hotkey {hot} is not a delegate: nothing was sent; a hotkey takes stake from coldkeys "
                    "other than its owner's only once its owner nominates it (taonet delegate nominate); taonet "
                    "delegate list shows the delegates there are"), line
    assert cli(*add, "-w", "a", "--json").json["error"]["code"] == "cli_not_a_delegate"
    for wallet in ("owner", "a"):
        assert all(s["hotkey"] != hot for s in cli.ok("stake", "list", "-w", wallet, "--json").json["stakes"])
    unknown = _hotkey(cli, "a", "h")
    assert "is not known to the chain" in one_error(cli("delegate", "add", "--delegate", unknown, "--amount", "1",
                                                        "-y", "-w", "a"), 6)
    cli.ok("delegate", "nominate", "-w", "owner", "-H", "miner", "-y")
    assert cli.ok(*add, "-w", "a").stdout.startswith(f"staked τ1.0000 on {hot}")
