"""`taonet weights commit|reveal` and `weights set` on a commit-reveal subnet, through the installed executable on a
real dev node: the commit prints its salt and window, a reveal too early or not matching is exit 3 with the reason,
the right one in the window is included; `weights set` commits, waits and reveals by itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.kernel import subtensor

from .cli import Cli
from .processes import taonet_node

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks), wallet "owner" owning subnet 1 with commit-reveal on, tempo 40 and period 2 (a
    window opens 4 s or more after its commit and stays open 4 s: room for a few commands)."""
    root = tmp_path_factory.mktemp("cr")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        c = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", "owner")
        c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", "miner")
        c.ok("wallet", "faucet", "--wallet-name", "owner", "--amount", "1000")
        c.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
        c.ok("subnet", "register", "1", "-w", "owner", "-H", "miner", "-y")
        for name, value in (("tempo", "40"), ("commit_reveal_weights_enabled", "1"), ("commit_reveal_period", "2")):
            c.ok("subnet", "set", "1", "--param", name, "--value", value, "-w", "owner", "-y")
        yield c


def test_commit_then_reveal_with_the_printed_salt(cli: Cli, tmp_path: Path) -> None:
    """commit --json gives the salt and window (and --save the same JSON); reveal before the window is exit 3
    "too early", a wrong salt exit 3 "no pending weight commit", `reveal --from FILE` in the window succeeds."""
    hp = cli.ok("subnet", "hparams", "1", "--json").json
    assert hp["commit_reveal_weights_enabled"] is True and hp["commit_reveal_period"] == 2
    refused = cli.fails(3, "subnet", "set", "1", "--param", "commit_reveal_period", "--value", "101", "-w", "owner",
                        "-y")
    assert "[1, 100]" in refused
    saved = tmp_path / "reveal.json"
    doc = cli.ok("weights", "commit", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner",
                 "--save", str(saved), "-y", "--json").json
    reveal = doc["reveal"]
    assert doc["action"] == "committed" and reveal["reveal_from"] > doc["block"] and len(reveal["salt"]) == 32
    assert json.loads(saved.read_text()) == reveal
    early = cli.fails(3, "weights", "reveal", "1", "--uids", "1", "--weights", "1", "--salt", reveal["salt"],
                      "-w", "owner", "-H", "owner", "-y")
    assert "too early" in early and str(reveal["reveal_from"]) in early
    pending = cli.ok("weights", "pending", "1", "--json").json["commits"]
    assert [(p["block"], p["reveal_from"], p["reveal_until"]) for p in pending] == [
        (doc["block"], reveal["reveal_from"], reveal["reveal_until"])]
    table = cli.ok("weights", "pending", "1").stdout
    assert str(reveal["reveal_from"]) in table and all(len(x) <= 80 for x in table.splitlines())
    with subtensor(cli.endpoint) as sub:
        sub.wait_for_block(reveal["reveal_from"], timeout=30)
    wrong = cli.fails(3, "weights", "reveal", "1", "--uids", "1", "--weights", "1", "--salt", "00" * 16,
                      "-w", "owner", "-H", "owner", "-y")
    assert "no pending weight commit" in wrong
    line = cli.ok("weights", "reveal", "--from", str(saved), "-w", "owner", "-H", "owner", "-y").stdout
    assert line.startswith("weights revealed on subnet 1 by ") and "included in block" in line
    assert cli.ok("weights", "pending", "1", "--json").json["commits"] == []
    shown = cli.ok("weights", "show", "1", "--uid", "0", "--json").json["validators"]
    assert shown[0]["weights"] == [[1, 1.0]]


def test_weights_set_commits_and_reveals_by_itself(cli: Cli) -> None:
    """On a commit-reveal subnet `weights set` says it revealed; a salt that is not hex, or a reveal without one,
    is a usage error (exit 2)."""
    line = cli.ok("weights", "set", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner", "-y").stdout
    assert line.startswith("weights revealed (committed, then revealed) on subnet 1"), line
    assert "hex" in cli.fails(2, "weights", "commit", "1", "--uids", "1", "--weights", "1", "--salt", "nothex",
                              "-w", "owner", "-H", "owner", "-y")
    assert "--salt" in cli.fails(2, "weights", "reveal", "1", "--uids", "1", "--weights", "1", "-w", "owner",
                                 "-H", "owner", "-y")


NO_SUBNET_5 = "error: subnet 5 does not exist; see `taonet subnet list` for the subnets there are"
"""The line for a netuid the chain does not have, with the next step the command line adds."""

def test_a_subnet_that_does_not_exist_or_a_stranger_gets_the_true_reason(cli: Cli) -> None:
    """The node refuses a fee-free call naming a subnet that does not exist as SubnetNotFound (exit 6, as `weights
    show 5` says), an unfunded non-owner's `subnet set` as "only the owner" (exit 3), and an unregistered hotkey's
    weights with "register the hotkey", never "fund the key"."""
    assert cli.fails(6, "weights", "show", "5") == NO_SUBNET_5
    for verb in ("set", "commit"):
        line = cli.fails(6, "weights", verb, "5", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner", "-y")
        assert line == NO_SUBNET_5, line
    cli.ok("wallet", "create", "--wallet-name", "stranger", "--hotkey", "h")  # no funds, owns nothing
    line = cli.fails(3, "subnet", "set", "1", "--param", "tempo", "--value", "20", "-w", "stranger", "-y")
    assert "only the owner of subnet 1 may do this" in line and "fund" not in line, line
    assert cli.fails(6, "subnet", "set", "5", "--param", "tempo", "--value", "20", "-w", "stranger",
                     "-y") == NO_SUBNET_5
    # not registered: exit 6, as HotkeyNotRegistered is wherever it is found (docs/cli.md)
    line = cli.fails(6, "weights", "commit", "1", "--uids", "1", "--weights", "1", "-w", "stranger", "-H", "h", "-y")
    assert "register the hotkey on subnet 1" in line and "fund" not in line, line


def test_reveal_from_a_file_checks_the_file_and_the_netuid(cli: Cli, tmp_path: Path) -> None:
    """`weights reveal --from FILE` takes only what `weights commit --save` writes: a netuid other than the file's,
    or a key whose value a commit could not have had, is a usage error (exit 2) naming them; the file as saved, with
    its netuid given, goes to the chain (too early here: exit 3)."""
    saved = tmp_path / "reveal.json"
    cli.ok("weights", "commit", "1", "--uids", "0,1", "--weights", "0.5,1", "-w", "owner", "-H", "miner",
           "--save", str(saved), "-y")
    who = ("-w", "owner", "-H", "miner", "-y")
    early = cli.fails(3, "weights", "reveal", "1", "--from", str(saved), *who)  # the file as saved: to the chain
    assert "too early" in early, early
    doc = json.loads(saved.read_text())
    assert set(doc) == {"netuid", "hotkey", "uids", "values", "salt", "version_key", "block", "reveal_from",
                        "reveal_until"}
    for given in (("2",), ("--netuid", "2")):
        line = cli.fails(2, "weights", "reveal", *given, "--from", str(saved), *who)
        assert "subnet 2 given" in line and str(saved) in line and "subnet 1" in line, line
    assert "not both" in cli.fails(2, "weights", "reveal", "1", "--from", str(saved), "--salt", doc["salt"], *who)
    text = saved.read_text()
    damaged = {  # key -> what replaces its value in the saved JSON
        "values": ("[1e400, 1]", "[1e30, 1]", "[-1, 1]", "[1.5, 1]", '["1", 1]', "[true, 1]", "[NaN, 1]", "[1]"),
        "uids": ("[99999, 1]", "[0.0, 1]", "3"),
        "version_key": ('"x"', "1.5", "null", "-1", str(1 << 64)),
        "netuid": ("1.0", "70000", '"1"'),
        "salt": ('"zz"', '"00"', "null"),
        "hotkey": ('"5Fnot"', "7"),
        "block": ('"x"', "-1"),
    }
    bad = tmp_path / "bad.json"
    for key, values in damaged.items():
        for value in values:
            bad.write_text(json.dumps({**doc, key: "@@"}).replace('"@@"', value))
            line = cli.fails(2, "weights", "reveal", "--from", str(bad), *who)
            assert str(bad) in line and f'"{key}"' in line, (key, value, line)
    bad.write_text(json.dumps({k: v for k, v in doc.items() if k != "salt"}))
    assert '"salt" is missing' in cli.fails(2, "weights", "reveal", "--from", str(bad), *who)
    bad.write_text(json.dumps({**doc, "pepper": 1}))
    assert '"pepper"' in cli.fails(2, "weights", "reveal", "--from", str(bad), *who)
    bad.write_text(text[:-5])
    assert "not JSON" in cli.fails(2, "weights", "reveal", "--from", str(bad), *who)


def test_subnet_set_notes_a_rate_limit_longer_than_an_interval_on_a_commit_reveal_subnet(cli: Cli) -> None:
    """On this commit-reveal subnet (tempo 40: an interval of 41 blocks) a weights_rate_limit of 100 lets a reveal be
    refused as rate limited until its window closes: `subnet set` says so in a note (stderr; `note` in --json), and
    says nothing once the limit fits an interval (or for a parameter that plays no part)."""
    set_ = ("subnet", "set", "1", "-w", "owner", "-y", "--param")
    try:
        r = cli(*set_, "weights_rate_limit", "--value", "100")
        assert r.status == 0 and "subnet 1: weights_rate_limit = 100: included in block" in r.stdout, r
        assert len(r.stderr) == 1 and r.stderr[0].startswith(
            "note: weights_rate_limit (100 blocks) is longer than an epoch interval (tempo + 1 = 41 blocks)"), r
        assert "commit at most once every 3 intervals, or set weights_rate_limit to at most 41" in r.stderr[0], r
        doc = cli.ok(*set_, "tempo", "--value", "40", "--json").json  # the note in the JSON, nothing on stderr
        assert doc["note"].startswith("weights_rate_limit (100 blocks) is longer"), doc
        assert "note" not in cli.ok(*set_, "commit_reveal_period", "--value", "2", "--json").json
    finally:
        cli.ok(*set_, "weights_rate_limit", "--value", "41")
    assert "note" not in cli.ok(*set_, "tempo", "--value", "40", "--json").json
