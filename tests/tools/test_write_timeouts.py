"""A write cut off by `--timeout`, through the installed `taonet` on a real dev node: it says whether it was sent
(nothing changed, run it again) or may have been (check with the command it names), and a weight commit cut off after
it went out says its salt and the reveal command, which then reveals it.

The node runs its tempo scheduler in another process (`--remote-actor scheduler`); stopping that process (SIGSTOP)
holds block production while the node still answers, so a write is admitted and then waits for a block that does not
come until the test lets the scheduler go on (SIGCONT)."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import pytest

from taonet.kernel import Wallet, subtensor
from tests.kernel.node.nodes import stop

from .cli import Cli
from .processes import TAONET_EXE, taonet_node

pytestmark = pytest.mark.slow

DEST = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"  # //Ferdie's address


@attrs.frozen
class Net:
    """The CLI against the node, and the scheduler process whose stop holds block production."""

    cli: Cli
    scheduler: subprocess.Popen[str]

    @contextmanager
    def held(self) -> Iterator[None]:
        """No block is sealed inside (the node waits on its stopped scheduler); they come again after."""
        head = self.head()
        self.scheduler.send_signal(signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 10
            while True:  # the block under way when the scheduler stopped may still come: no new one for 1 s
                time.sleep(1.0)
                now = self.head()
                if now == head or time.monotonic() > deadline:
                    break
                head = now
            yield
        finally:
            self.scheduler.send_signal(signal.SIGCONT)

    def head(self) -> int:
        """The chain's head block."""
        with subtensor(self.cli.endpoint, timeout=10) as sub:
            return sub.get_current_block()


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """A dev node (0.1 s blocks) whose scheduler runs apart; wallet "owner" owns subnet 1 (commit-reveal on, tempo
    100, period 1: a commit's window opens a second or more after it and stays open 10 s: a reveal run by the
    installed command on a loaded machine missed a 4 s window) where its hotkey "miner"
    holds UID 1, and subnet 2, whose proof of work no one can solve (its difficulty at least 10^15)."""
    root = tmp_path_factory.mktemp("wt")
    with taonet_node(root / "node", "--block-time", "0.1", "--remote-actor", "scheduler") as (_p, _h, addresses):
        scheduler = subprocess.Popen([TAONET_EXE, "actor", "run", "scheduler", "--node", addresses["rpc"],
                                      "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     text=True)
        try:
            c = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
            for hot in ("owner", "miner", "pow"):
                c.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", hot)
            c.ok("wallet", "faucet", "--wallet-name", "owner", "--amount", "1000")
            c.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
            c.ok("subnet", "register", "1", "-w", "owner", "-H", "miner", "-y")
            for name, value in (("tempo", "100"), ("commit_reveal_weights_enabled", "1"),
                                ("commit_reveal_period", "1")):
                c.ok("subnet", "set", "1", "--param", name, "--value", value, "-w", "owner", "-y")
            c.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
            for name, value in (("adjustment_interval", "1"), ("min_difficulty", str(10**15))):
                c.ok("subnet", "set", "2", "--param", name, "--value", value, "-w", "owner", "-y")
            net = Net(c, scheduler)
            deadline = time.monotonic() + 30
            while c.ok("subnet", "show", "2", "--json").json["difficulty"] < 10**15:
                assert time.monotonic() < deadline, "subnet 2's difficulty did not rise"
                time.sleep(0.2)
            yield net
        finally:
            scheduler.send_signal(signal.SIGCONT)
            stop(scheduler)


def _pending(cli: Cli) -> list[dict[str, object]]:
    return cli.ok("weights", "pending", "1", "--json").json["commits"]


def _committed_soon(cli: Cli) -> dict[str, object]:
    """The one pending commit on subnet 1, once a block includes it (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not (commits := _pending(cli)):
        assert time.monotonic() < deadline, "the commit was never included"
        time.sleep(0.2)
    assert len(commits) == 1, commits
    return commits[0]


def _reveal_command(line: str) -> list[str]:
    """The arguments of the `taonet weights reveal ...` command an error line names (between backquotes)."""
    start = line.index("`taonet weights reveal ")
    return shlex.split(line[start + 1:line.index("`", start + 1)])[1:]


def _reveal_in_window(cli: Cli, commit: dict[str, object], args: list[str]) -> None:
    with subtensor(cli.endpoint, timeout=10) as sub:
        sub.wait_for_block(int(commit["reveal_from"]), timeout=60)  # type: ignore[call-overload]
    line = cli.ok(*args, "-y").stdout
    assert line.startswith("weights revealed on subnet 1 by ") and "included in block" in line, line
    assert _pending(cli) == []


def test_weights_set_cut_after_its_commit_says_the_salt_and_the_reveal_that_works(net: Net) -> None:
    """`weights set` on a commit-reveal subnet whose commit is admitted but not in a block at --timeout: exit 4, one
    line saying it may have been sent, how to check (`weights pending`), the salt and the exact reveal command;
    that command reveals the commit once its window opens (the salt was made inside set_weights and lost)."""
    cli = net.cli
    with net.held():
        line = cli.fails(4, "weights", "set", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner",
                         "-y", "--timeout", "3")
    assert "may have been sent" in line and "`taonet weights pending 1 --hotkey-ss58 " in line, line
    args = _reveal_command(line)
    salt = args[args.index("--salt") + 1]
    assert len(salt) == 32 and f"the commit's salt is {salt}" in line
    assert args[:2] == ["weights", "reveal"] and args[-4:] == ["-w", "owner", "-H", "owner"]
    _reveal_in_window(cli, _committed_soon(cli), args)


def test_weights_set_save_writes_the_salt_before_committing(net: Net, tmp_path: Path) -> None:
    """`weights set --save FILE` cut off after its commit: FILE already holds the salt (no block yet), the line
    names `weights reveal --from FILE`, and that reveals the commit in its window."""
    cli, saved = net.cli, tmp_path / "reveal.json"
    with net.held():
        line = cli.fails(4, "weights", "set", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner",
                         "--save", str(saved), "-y", "--timeout", "3")
        kept = json.loads(saved.read_text())
    assert kept["block"] is None and kept["uids"] == [1] and kept["values"] == [65535] and len(kept["salt"]) == 32
    assert f"the commit's salt is {kept['salt']} (kept in {saved})" in line, line
    args = _reveal_command(line)
    assert args == ["weights", "reveal", "--from", str(saved), "-w", "owner", "-H", "owner"]
    _reveal_in_window(cli, _committed_soon(cli), args)


def test_weights_commit_cut_off_says_its_salt(net: Net) -> None:
    """`weights commit` (salt made by the command) cut off after it went out: the line gives the salt and the
    reveal, which works in the window."""
    cli = net.cli
    with net.held():
        line = cli.fails(4, "weights", "commit", "1", "--uids", "1", "--weights", "0.5", "-w", "owner", "-H",
                         "owner", "-y", "--timeout", "3")
    assert "may have been sent" in line and "the commit's salt is " in line, line
    _reveal_in_window(cli, _committed_soon(cli), _reveal_command(line))


def test_a_write_cut_after_it_was_sent_names_the_check(net: Net) -> None:
    """A transfer admitted but not in a block at --timeout: exit 4 saying it may have been sent and to check with
    `taonet wallet balance -w owner`; and it was: once blocks come again, the balance shows it."""
    cli = net.cli
    before = cli.ok("wallet", "balance", "-w", "owner", "--json", "--rao").json["balances"][0]["free"]
    with net.held():
        r = cli("wallet", "transfer", "-w", "owner", "--dest", DEST, "--amount", "1", "-y", "--timeout", "2",
                "--json")
    assert r.status == 4 and len(r.stderr) == 1, r
    line = r.stderr[0]
    assert "may have been sent and may still be included" in line, line
    assert "check with `taonet wallet balance -w owner` before sending it again" in line
    fields = r.json["error"]["fields"]  # a script reads the same without parsing the line
    assert fields["sent"] is True and fields["check"] == "taonet wallet balance -w owner", fields
    deadline = time.monotonic() + 30
    while cli.ok("wallet", "balance", "-w", "owner", "--json", "--rao").json["balances"][0]["free"] == before:
        assert time.monotonic() < deadline, "the transfer was never included"
        time.sleep(0.2)


def test_a_write_cut_before_it_was_sent_says_nothing_changed(net: Net) -> None:
    """`subnet pow-register` still solving its proof of work at --timeout: exit 4 saying it was not sent and nothing
    changed (run it again), not "may have been sent"; and the hotkey holds no UID there."""
    cli = net.cli
    r = cli("subnet", "pow-register", "2", "-w", "owner", "-H", "pow", "-y", "--timeout", "2", "--json")
    assert r.status == 4 and len(r.stderr) == 1, r
    line = r.stderr[0]
    assert "was not sent: nothing changed; run it again" in line and "may have been sent" not in line, line
    assert r.json["error"]["fields"]["sent"] is False and r.json["error"]["code"] == "cli_command_timeout", r.json
    hotkey = Wallet("owner", "pow", str(cli.wallets)).get_hotkey().ss58_address
    with subtensor(cli.endpoint, timeout=10) as sub:
        sub.wait_for_block(timeout=10)  # a block after the command ended: nothing it could have sent is in it
        assert not sub.is_hotkey_registered(hotkey, 2)
