"""Wallet, stake and weights mistakes a QA pass found, through the installed `taonet`: the same coldkey counted more
than once in a total, two options that clash taken silently, numbers and lists read loosely, and the docs and help
promising what the commands do not do. Each mistake is one `error:` line with its documented exit status
(docs/cli.md)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import Keypair

from ..kernel.client.test_blocking import free_address
from .cli import Cli, one_error
from .processes import taonet_node

BOB = Keypair.from_uri("//Bob").ss58_address
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"



@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    """`taonet` with a wallet path of its own and an endpoint where nothing listens (these mistakes are caught
    before any node is asked)."""
    return Cli(wallets=tmp_path / "wallets", endpoint=free_address())


# --- options that clash ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("verb", ["add", "remove"])
def test_a_wallet_hotkey_and_a_hotkey_address_are_refused_together(offline: Cli, verb: str) -> None:
    """`stake add|remove -H h --hotkey-ss58 ADDR`: exit 2 naming both (it staked on ADDR, -H dropped)."""
    for hotkey in ("-H", "--wallet.hotkey"):
        line = one_error(offline("stake", verb, "-w", "a", hotkey, "h", "--hotkey-ss58", BOB, "--amount", "1",
                                  "-y"), 2)
        assert "--hotkey and --hotkey-ss58 cannot be given together" in line, line


@pytest.mark.parametrize(("args", "first", "second"), [
    (("-e", "tcp://127.0.0.1:1", "--subtensor.network", "tcp://127.0.0.1:2"), "-e", "--subtensor.network"),
    (("--network=tcp://127.0.0.1:1", "--endpoint", "tcp://127.0.0.1:2"), "--network", "--endpoint"),
    (("-w", "a", "--wallet.name", "b"), "-w", "--wallet.name"),
])
def test_one_option_under_two_names_with_two_values_is_refused(offline: Cli, args: tuple[str, ...], first: str,
                                                               second: str) -> None:
    """`wallet balance -e X --subtensor.network Y` took the last: exit 2 naming both spellings, as typed."""
    line = one_error(offline("wallet", "balance", *args), 2)
    assert f"{first} and {second} cannot be given together" in line, line


def test_one_option_given_twice_with_two_values_is_refused(offline: Cli) -> None:
    """`-w a -w b`: exit 2 (the last was taken); the same value twice is no clash."""
    assert "-w: is given twice" in one_error(offline("wallet", "balance", "-w", "a", "-w", "b"), 2)
    line = one_error(offline("wallet", "balance", "-w", "a", "--wallet.name", "a"), 5)  # no such wallet: not a clash
    assert "does not exist" in line, line


# --- numbers and lists -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", ["1_000", "1,000", "1_000.5"])
def test_an_amount_with_separators_is_refused(offline: Cli, amount: str) -> None:
    """`--amount 1_000` was 1000 τ (Decimal and float take underscores) while `1,000` was refused: both exit 2."""
    for args in (("wallet", "transfer", "-w", "a", "--dest", BOB, "-y"),
                 ("stake", "add", "-w", "a", "--hotkey-ss58", BOB, "-y"), ("wallet", "faucet", "-w", "a")):
        line = one_error(offline(*args, "--amount", amount), 2)
        assert "--amount" in line and "without separators" in line, line


@pytest.mark.parametrize(("uids", "weights", "option", "position"), [
    ("1,,2", "1,1,1", "--uids", 2), ("1,2", "1,,1", "--weights", 2), ("1,2", "1,1,", "--weights", 3),
    (",1", "1", "--uids", 1),
])
def test_an_empty_list_item_is_refused_by_its_position(offline: Cli, uids: str, weights: str, option: str,
                                                       position: int) -> None:
    """`--uids 1,,2 --weights 1,,1` was taken after dropping the empty items: exit 2 naming the option and where."""
    for verb in ("set", "commit"):
        line = one_error(offline("weights", verb, "1", "--uids", uids, "--weights", weights, "-y"), 2)
        assert option in line and f"item {position} of" in line and "is empty" in line, line


def test_an_underscore_in_a_listed_number_is_refused(offline: Cli) -> None:
    """`--uids 1_0` was UID 10: exit 2, as for an amount."""
    line = one_error(offline("weights", "set", "1", "--uids", "1_0", "--weights", "1", "-y"), 2)
    assert "--uids" in line and "without separators (10)" in line, line


# --- docs and help -----------------------------------------------------------------------------------------------
def _option_row(option: str) -> str:
    return next(line for line in DOCS.read_text().splitlines() if line.startswith(f"| `{option}`"))


def test_the_docs_say_which_verbs_take_a_hotkey(offline: Cli) -> None:
    """docs/cli.md listed -H among "options every verb takes", but `wallet overview -H` is "No such option": the row
    names the verbs that take it (each does) and says overview does not."""
    row = _option_row("--hotkey")
    assert "Not `wallet overview`" in row, row
    assert "No such option: -H" in one_error(offline("wallet", "overview", "-w", "c1", "-H", "h"), 2)
    for verb in (("wallet", "create"), ("stake", "add"), ("delegate", "nominate"), ("weights", "set")):
        assert "-H" in offline(*verb, "--help").stdout, verb
        assert f"`{verb[1]}`" in row or f"`{' '.join(verb)}`" in row, (verb, row)


def test_the_docs_say_faucet_takes_no_password(offline: Cli) -> None:
    """--password-stdin was documented for every write; `wallet faucet` refuses it (it unlocks no key of yours)."""
    assert "not `wallet faucet`" in _option_row("--password-stdin")
    assert "No such option: --password-stdin" in one_error(offline("wallet", "faucet", "--password-stdin"), 2)


def test_the_take_help_says_the_chains_maximum(offline: Cli) -> None:
    """`delegate nominate --take` help said only "0.18: 18%" and a bound of 1: it names the chain's maximum."""
    text = " ".join(offline("delegate", "nominate", "--help").stdout.split())
    assert "the chain's maximum take" in text, text


# --- against a dev node ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def online(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks) and `taonet` pointed at it; wallet "a" funded, owning subnet 1 with hotkey "h"
    (UID 0), and wallet "b"'s hotkey "x" registered there (UID 1)."""
    root = tmp_path_factory.mktemp("wallet-mistakes")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "create", "-w", "a", "-H", "h")
        cli.ok("wallet", "create", "-w", "b", "-H", "x")
        cli.ok("wallet", "faucet", "-w", "a", "--amount", "2000")
        cli.ok("wallet", "faucet", "-w", "b", "--amount", "5")
        cli.ok("subnet", "create", "-w", "a", "-H", "h", "-y")
        cli.ok("subnet", "register", "1", "-w", "b", "-H", "x", "-y")
        yield cli


def test_balance_all_counts_each_coldkey_once(online: Cli) -> None:
    """Wallet a, a copy of a and a watch-only wallet of a's address each show a's balance; the total row added all
    three. It counts each coldkey once, and a note under the table says so."""
    a = online.ok("wallet", "inspect", "-w", "a", "--json").json["coldkey"]
    shutil.copytree(online.wallets / "a", online.wallets / "acopy")
    online.ok("wallet", "regen-coldkeypub", "-w", "watch", "--ss58", a)
    try:
        rows = online.ok("wallet", "balance", "--all", "--json").json["balances"]
        assert [r["wallet"] for r in rows] == ["a", "acopy", "b", "watch"]
        text = online.ok("wallet", "balance", "--all", "--rao", "--wide").stdout
        cells = {line.split()[0]: int(line.split()[-1].replace(",", "")) for line in text.splitlines()
                 if line.split()[:1] in (["a"], ["acopy"], ["b"], ["watch"], ["total"])}
        assert cells["a"] == cells["acopy"] == cells["watch"], text  # one read: emission may grow a's stake meanwhile
        assert cells["total"] == cells["a"] + cells["b"], text
        assert "the total counts each coldkey once (4 wallets, 2 coldkeys)" in " ".join(text.split()), text
    finally:
        shutil.rmtree(online.wallets / "acopy")
        shutil.rmtree(online.wallets / "watch")


def test_weights_set_echoes_the_u16_values_sent(online: Cli) -> None:
    """`--weights 1e308,1` was echoed as `0: 1e+308, 1: 1`: the line shows what was sent, max-upscaled to u16."""
    line = online.ok("weights", "set", "1", "--uids", "0,1", "--weights", "1e308,1", "-w", "a", "-H", "h",
                     "-y").stdout
    assert re.fullmatch(r"weights set on subnet 1 by \w+: included in block \d+; 0: 65535, 1: 0 \(u16 as sent: the "
                        r"largest is 65535\)\n", line), line
    assert online.ok("weights", "show", "1", "--json").json["validators"][0]["weights"] == [[0, 1.0], [1, 0.0]]


def test_a_take_above_the_chains_maximum_is_refused_before_sending(online: Cli) -> None:
    """`delegate nominate --take 0.5` was sent and refused by the chain (exit 3): exit 2 before anything is sent,
    saying the chain's maximum (18% on a dev chain) and the most to give."""
    for take in ("0.5", "0.1801"):
        line = one_error(online("delegate", "nominate", "-w", "a", "-H", "h", "--take", take, "-y"), 2)
        assert "--take" in line and "above the chain's maximum take, 18.00%: give at most 0.18" in line, line
    online.ok("delegate", "nominate", "-w", "a", "-H", "h", "--take", "0.18", "-y")
