"""Messages a QA pass found misleading (a newcomer's typos, a gateway's user), through the installed `taonet`: a
missing hotkey or wallet named as such with the command that makes it, a list given apart (`--uids 1 2`), a UID the
subnet does not have (exit 6, as docs/cli.md's table says), a `--validator` that is no address, and `query --all`
saying which miners gave no answer."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from taonet.kernel import Wallet, subtensor

from ..kernel.client.test_blocking import free_address
from ..kernel.node.nodes import stop
from .cli import Cli, one_error
from .processes import TAONET_EXE, read_until, taonet_node


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks) and `taonet` pointed at it: wallet "owner" owns subnet 1 with hotkey "miner" (UID
    0), wallet "b"'s hotkey "x" holds UID 1."""
    root = tmp_path_factory.mktemp("hints")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "create", "-w", "owner", "-H", "miner")
        cli.ok("wallet", "create", "-w", "b", "-H", "x")
        cli.ok("wallet", "faucet", "-w", "owner", "--amount", "2000")
        cli.ok("wallet", "faucet", "-w", "b", "--amount", "50")
        cli.ok("subnet", "create", "-w", "owner", "-H", "miner", "-y")
        cli.ok("subnet", "register", "1", "-w", "b", "-H", "x", "-y")
        yield cli


def test_a_missing_hotkey_names_the_wallets_hotkeys_and_the_command_that_makes_it(cli: Cli) -> None:
    """`--hotkey minr` (a typo) said "create the key first (taonet wallet create)": exit 5 naming the wallet's
    hotkeys and `taonet wallet new-hotkey ...`, which then works as given."""
    line = one_error(cli("subnet", "register", "--netuid", "1", "--wallet-name", "owner", "--hotkey", "minr", "-y"), 5)
    assert "wallet 'owner' has no hotkey 'minr' (its hotkeys: miner)" in line, line
    command = line.partition("make it with taonet ")[2]
    assert command == "wallet new-hotkey --wallet-name owner --hotkey minr", line
    cli.ok(*command.split())


def test_a_missing_wallet_is_said_with_the_wallets_there_are(cli: Cli) -> None:
    """`--wallet-name onwer` named `.../onwer/hotkeys/miner`: exit 5 saying the wallet does not exist, and which do."""
    for args in (("subnet", "register", "--netuid", "1", "--wallet-name", "onwer", "--hotkey", "miner", "-y"),
                 ("wallet", "balance", "--wallet-name", "onwer"), ("wallet", "inspect", "--wallet-name", "onwer")):
        line = one_error(cli(*args), 5)
        assert f"wallet 'onwer' does not exist under {cli.wallets} (its wallets: b, owner)" in line, line
        assert "taonet wallet list" in line and "/hotkeys/" not in line, line


@pytest.mark.parametrize(("given", "hint"), [
    (("--netuid", "1", "--uids", "0", "1", "--weights", "1,1"), "a list is one argument, with commas: --uids 0,1"),
    (("1", "--uids", "0,1", "--weights", "0.3", "0.7"), "with commas: --weights 0.3,0.7 (not --weights 0.3 0.7)"),
    (("--netuid", "1", "--uids", "0", "1", "--weights", "1", "1"), "lists are one argument each, with commas: "
                                                                    "--uids 0,1 --weights 1,1"),
])
def test_a_list_given_apart_says_to_join_it_with_commas(cli: Cli, given: tuple[str, ...], hint: str) -> None:
    """`--uids 1 2` (docs/cli.md's lists, read with spaces) was "two netuids given: 2 and --netuid 1", or an extra
    argument: the line says a list is one argument, with commas (exit 2)."""
    for verb in ("set", "commit"):
        assert hint in one_error(cli("weights", verb, *given, "-w", "owner", "-H", "miner", "-y"), 2)


def test_a_list_with_commas_then_the_netuid_gets_no_hint(cli: Cli) -> None:
    """`--uids 0,1 1`: the 1 after a list written with commas is the NETUID, so a usage error there hints nothing."""
    line = one_error(cli("weights", "set", "--uids", "0,1", "1", "--weights", "1", "-w", "owner", "-H", "miner", "-y"),
                     2)
    assert "2 targets but 1 weights" in line and "commas" not in line, line


def test_a_uid_the_subnet_does_not_have_is_not_found(cli: Cli) -> None:
    """`weights set --uids 7` was the chain's refusal, exit 3, where docs/cli.md's table puts "a UID the subnet does
    not have" under 6 (as `weights show --uid 7`): exit 6 before anything is signed, for set, commit and reveal."""
    for verb in (("set",), ("commit",), ("reveal", "--salt", "00" * 16)):
        line = one_error(cli("weights", *verb, "--netuid", "1", "--uids", "0,7", "--weights", "1,1", "-w", "owner",
                             "-H", "miner", "-y"), 6)
        assert "subnet 1 has no UID 7 (its UIDs are 0.." in line and "taonet metagraph 1" in line, line
    assert cli("weights", "show", "1", "--uid", "7").status == 6


def test_a_validator_that_is_no_address_or_uid_is_a_usage_error(cli: Cli) -> None:
    """`query --validator 5Fakeee` said the validator "publishes no gateway": exit 2, saying what it is not."""
    line = one_error(cli("query", "--netuid", "1", "--validator", "5Fakeee", "21"), 2)
    assert "--validator: '5Fakeee' is not an SS58 address or a UID" in line, line


def test_query_all_says_which_miners_gave_no_answer(cli: Cli) -> None:
    """`query --all` printed the answers it got as if they were all: a note on stderr (and `no_answer_from` in
    --json) names the miners the gateway asked that gave none (here one whose axon nothing serves)."""
    cli.ok("wallet", "new-hotkey", "-w", "b", "-H", "gone")
    cli.ok("subnet", "register", "1", "-w", "b", "-H", "gone", "-y")  # UID 2
    with subtensor(cli.endpoint, timeout=20) as sub:  # its axon, at a port where nothing listens
        port = int(free_address().rsplit(":", 1)[1])
        assert sub.serve_axon(Wallet("b", "gone", cli.wallets), 1, ip="127.0.0.1", port=port).success
    neurons = []
    try:
        for role, who, ready in (("miner", ("-w", "b", "-H", "x", "--port", "0"), "miner.started"),
                                 ("validator", ("-w", "owner", "-H", "miner", "--gateway", "127.0.0.1:0"),
                                  "gateway.published")):
            neurons.append(subprocess.Popen([TAONET_EXE, role, "run", "--plugin", "template", "--netuid", "1", *who,
                                             "--external-ip", "127.0.0.1"], stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True, env=cli.env()))
            read_until(neurons[-1], lambda lines, ready=ready: any(ready in x for x in lines), 30)
        r = cli("query", "--netuid", "1", "--all", "21")
        assert r.status == 0 and r.stdout.split("\t")[2] == "42\n", r
        assert r.stderr == ["note: 1 of the 2 miners the gateway asked gave no answer (UID 2): these answers are "
                            "partial"], r
        doc = cli.ok("query", "--netuid", "1", "--all", "21", "--json").json
        assert doc["no_answer_from"] == [2] and [a["uid"] for a in doc["answers"]] == [1], doc
    finally:
        for proc in neurons:
            stop(proc)
