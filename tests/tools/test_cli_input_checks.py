"""Values a user can get wrong on the command line, through the installed `taonet`: an external IP that is no IP, a
log level that is no level, an endpoint port out of range, nan for a number, a wallet path that is a file, a node's
data directory given to the ledger demo, and faucet calls it cannot serve. Each is one `error:` line with its
documented exit status (docs/cli.md), said before anything starts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import Keypair

from ..kernel.client.test_blocking import free_address
from .cli import Cli, one_error
from .processes import taonet, taonet_node


@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    """`taonet` with a wallet path of its own and an endpoint where nothing listens."""
    return Cli(wallets=tmp_path / "wallets", endpoint=free_address())


@pytest.mark.parametrize("role", ["miner", "validator"])
@pytest.mark.parametrize("ip", ["not an ip", "999.1.1.1", "example.com"])
def test_an_external_ip_that_is_no_ip_is_a_usage_error(offline: Cli, role: str, ip: str) -> None:
    """--external-ip (also --axon.external_ip) that is no IPv4 or IPv6 address: exit 2 naming the option and what it
    takes, before any node is asked (it was 'internal error: ValueError' once the axon was up; with no node here,
    a neuron that started would be exit 4)."""
    offline.ok("wallet", "create", "-w", "o", "-H", "h", "--no-password")
    for flag in ("--external-ip", "--axon.external_ip"):
        line = one_error(offline(role, "run", "--plugin", "template", "--netuid", "1", "-w", "o", "-H", "h",
                                  "--port", "0", flag, ip, "--timeout", "2"), 2)
        assert "--external-ip" in line and f"{ip!r} is not an IP address" in line and "IPv4 or IPv6" in line


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "224.0.0.1"])
def test_an_external_ip_no_caller_can_reach_is_a_usage_error(offline: Cli, ip: str) -> None:
    """--external-ip 0.0.0.0 (an address to listen on, not to be reached at) or a multicast one: exit 2 naming the
    option (the miner started, could not publish its axon, and logged publish_failed every few blocks for ever)."""
    offline.ok("wallet", "create", "-w", "o", "-H", "h", "--no-password")
    line = one_error(offline("miner", "run", "--plugin", "template", "--netuid", "1", "-w", "o", "-H", "h",
                             "--port", "0", "--external-ip", ip, "--timeout", "2"), 2)
    assert "--external-ip" in line and "not an address the axon can be reached at" in line and "127.0.0.1" in line


@pytest.mark.parametrize("args", [("node", "run", "--dev"), ("miner", "run", "--plugin", "template", "--netuid", "1"),
                                  ("validator", "run", "--plugin", "template", "--netuid", "1"),
                                  ("neurons", "run", "neurons.toml"), ("actor", "run", "scheduler"),
                                  ("node", "follow")])
def test_a_log_level_that_is_no_level_is_a_usage_error(offline: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    """--log-level bogus: exit 2 listing the levels, nothing started (the node ran, logging at info)."""
    extra = ("--data-dir", str(tmp_path / "n")) if args[0] == "node" else ()
    line = one_error(offline(*args, *extra, "--log-level", "bogus"), 2)
    assert "--log-level" in line and "'bogus' is not a log level: use debug, info, warning or error" in line
    assert not (tmp_path / "n").exists()


def test_a_log_level_is_taken_in_any_case(tmp_path: Path) -> None:
    """--log-level WARNING is warning: the node runs (and answers)."""
    with taonet_node(tmp_path / "node", "--log-level", "WARNING") as (_proc, header, addresses):
        assert header.startswith("taonet node") and addresses["rpc"].startswith("tcp://")


@pytest.mark.parametrize("endpoint", ["127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:abc", "tcp://[::1]:70000"])
def test_an_endpoint_port_out_of_range_is_a_bad_address(offline: Cli, endpoint: str) -> None:
    """--endpoint (or $TAONET_ENDPOINT) with a port that is no number in 1..65535: exit 2 at once naming the port (it
    waited out --timeout, then said 'no node at ...', exit 4)."""
    line = one_error(offline("subnet", "list", "--endpoint", endpoint, "--timeout", "30", timeout=20), 2)
    assert line.startswith(f"error: {endpoint} is not an address") and "1 to 65535" in line
    assert "1 to 65535" in one_error(offline("subnet", "list", "--timeout", "30", timeout=20,
                                              TAONET_ENDPOINT=endpoint), 2)


@pytest.mark.parametrize(("args", "option", "span"), [
    (("subnet", "list", "--timeout", "nan"), "--timeout", "from 0.1 to 1000000"),
    (("node", "wait", "--timeout", "NaN"), "--timeout", "from 0.1 to 1000000"),
    (("miner", "run", "--plugin", "template", "--netuid", "1", "--timeout", "nan"), "--timeout", "0.1 to 1000000"),
    (("query", "--netuid", "1", "5", "--timeout", "nan"), "--timeout", "from 0.1 to 1000000"),
    (("subnet", "pow-register", "1", "--timeout", "nan"), "--timeout", "from 0.1 to 1000000"),
    (("node", "run", "--dev", "--block-time", "nan"), "--block-time", "from 0.01 to 3600"),
    (("node", "run", "--dev", "--block-budget", "nan"), "--block-budget", "from 0.001 to 3600"),
    (("actor", "run", "scheduler", "--delay", "nan"), "--delay", "from 0 to 3600"),
    (("demo", "--block-time", "nan"), "--block-time", "from 0.01 to 3600"),
    (("localnet", "--block-time", "nan"), "--block-time", "from 0.01 to 3600"),
    (("delegate", "nominate", "--take", "nan"), "--take", "from 0 to 1"),
    (("subnet", "list", "--timeout", "soon"), "--timeout", "from 0.1 to 1000000"),
])
def test_nan_is_not_a_number(offline: Cli, tmp_path: Path, args: tuple[str, ...], option: str, span: str) -> None:
    """nan (or a word) for a number option: exit 2 saying it is not a number and what to give (it said 'Input
    should be less than or equal to 1000000', as if nan were too large); nothing started."""
    extra = ("--data-dir", str(tmp_path / "n")) if args[:2] == ("node", "run") else ()
    line = one_error(offline(*args, *extra), 2)
    assert option in line and f"{args[-1]!r} is not a number" in line and span in line
    assert "less than" not in line and "greater than" not in line
    assert not (tmp_path / "n").exists()


def test_a_timeout_of_nan_from_the_environment_is_not_a_number(offline: Cli) -> None:
    """$TAONET_TIMEOUT=nan likewise."""
    assert "'nan' is not a number" in one_error(offline("subnet", "list", TAONET_TIMEOUT="nan"), 2)


def test_numbers_in_range_still_bounded_as_before(offline: Cli) -> None:
    """inf and out-of-range numbers keep their bounds' words (scripts and tests match them)."""
    assert "less than or equal to 1000000" in one_error(offline("subnet", "list", "--timeout", "inf"), 2)
    assert "greater than or equal to 0.1" in one_error(offline("subnet", "list", "--timeout", "0"), 2)


@pytest.mark.parametrize("command", [("wallet", "list"), ("wallet", "list", "--json"), ("wallet", "balance", "--all")])
def test_a_wallet_path_that_is_a_file_is_a_wallet_error(offline: Cli, tmp_path: Path,
                                                         command: tuple[str, ...]) -> None:
    """A wallet path that is a file: exit 5 saying so (`wallet list` said 'no wallets yet', exit 0)."""
    file = tmp_path / "afile"
    file.write_text("not wallets\n")
    for how in ({"TAONET_WALLET_PATH": str(file)}, {}):
        flag = () if how else ("--wallet-path", str(file))
        line = one_error(offline(*command, *flag, **how), 5)
        assert f"the wallet path {file} is a file, not a folder" in line
    assert offline.ok("wallet", "list", "--wallet-path", str(tmp_path / "none")).stdout.startswith("no wallets yet")


def test_the_ledger_demo_in_a_nodes_data_directory_uses_a_fresh_folder(tmp_path: Path) -> None:
    """demo --ledger --data-dir DIR where DIR is a node's data directory (chain/ inside): the demo's log goes in a
    fresh folder inside DIR, never beside chain/ (where `replay DIR` would read the node's chain, not the demo's)."""
    data = tmp_path / "node"
    with taonet_node(data):
        pass
    before = sorted(p.name for p in data.iterdir())
    assert "chain" in before
    out, _ = taonet("demo", "--ledger", "--data-dir", str(data), "--blocks", "2", env={"COLUMNS": "200"},
                    timeout=120)
    assert out.returncode == 0, out.stderr
    assert "already holds a chain; using a fresh folder inside it" in out.stdout
    log = Path(next(line for line in out.stdout.splitlines() if line.startswith("log: "))[5:])
    assert log.parent == data and log.name.startswith("run-")
    assert sorted(p.name for p in data.iterdir()) == sorted([*before, log.name])
    assert any((log / "blocks").iterdir())


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node and a Cli on it."""
    root = tmp_path_factory.mktemp("faucet")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        yield Cli(wallets=root / "wallets", endpoint=addresses["rpc"])


def test_the_faucet_refuses_its_own_accounts(dev: Cli) -> None:
    """A wallet regenerated from //Alice (the faucet's own account): exit 3 saying so, nothing sent (it reported
    a transfer from //Alice to //Alice, and the balance did not grow)."""
    dev.ok("wallet", "regen-coldkey", "-w", "r1", "--uri", "//Alice", "--no-password")
    alice = Keypair.from_uri("//Alice").ss58_address
    before = dev.ok("wallet", "balance", "--ss58", alice, "--json").json["balances"][0]["free"]
    for args in (("-w", "r1"), ("--ss58", Keypair.from_uri("//Bob").ss58_address)):
        line = one_error(dev("wallet", "faucet", *args, "--amount", "5"), 3)
        assert re.search(r"is //(Alice|Bob), one of the faucet's own development accounts", line)
    assert dev.ok("wallet", "balance", "--ss58", alice, "--json").json["balances"][0]["free"] == before


def test_the_faucet_short_of_tao_says_what_it_holds(dev: Cli) -> None:
    """More than any development account holds: exit 3 saying what the faucet holds, and not to take some from the
    faucet (the transfer's own error said so)."""
    dev.ok("wallet", "create", "-w", "poor", "--no-password")
    line = one_error(dev("wallet", "faucet", "-w", "poor", "--amount", "100000000"), 3)
    assert "the faucet cannot send τ100,000,000.0000: the most any of its development accounts holds is τ" in line
    assert "taonet wallet faucet" not in line and "ask for less (--amount)" in line
    assert "balance now τ5.0000" in dev.ok("wallet", "faucet", "-w", "poor", "--amount", "5").stdout


def test_weights_with_no_targets_say_none_were_given(offline: Cli) -> None:
    """`weights set --uids "" --weights ""`: exit 2 saying no targets were given (it said "0 targets but 0 weights:
    give one weight per target")."""
    line = one_error(offline("weights", "set", "1", "--uids", "", "--weights", "", "-y"), 2)
    assert "--uids" in line and "no targets given" in line and "0 targets" not in line


def test_an_unknown_btcli_spelling_is_named_as_typed(offline: Cli) -> None:
    """A btcli option spelling a command does not take (`wallet overview --wallet.hotkey`) is named as the user
    typed it (it said "No such option: --hotkey", the spelling it is rewritten to)."""
    line = one_error(offline("wallet", "overview", "--wallet.hotkey", "miner"), 2)
    assert "No such option: --wallet.hotkey" in line
