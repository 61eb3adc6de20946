"""What a confused user types, through the installed `taonet` executable: each mistake is one `error:` line that says
what to do, with its documented exit status (docs/cli.md), never a traceback, raw OS text or an internal error; with
--json, one JSON document on stdout, the error too."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.kernel import Wallet, subtensor
from taonet.ledger import Keypair, dev_genesis, dump_genesis

from ..kernel.client.test_blocking import free_address
from .cli import Cli, Run, one_error
from .processes import TAONET_EXE, error_lines, taonet_node

BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
RAW = ("Traceback", "[Errno", "internal error", "KeyError", "ValueError", "<", "RuntimeWarning")


def _json_error(r: Run, status: int) -> dict[str, object]:
    """As :func:`_one_error`, and stdout is exactly one JSON document: the error with that status."""
    line = _one_error(r, status)
    doc = json.loads(r.stdout)
    assert set(doc) == {"error"} and doc["error"]["exit_status"] == status, doc
    assert line == f"error: {doc['error']['message']}"
    return doc["error"]


def _one_error(r: Run, status: int) -> str:
    """One `error:` line free of raw Python/OS text (this file's stricter list); the line."""
    return one_error(r, status, RAW)


@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    """`taonet` with a wallet path of its own and an endpoint where nothing listens (these mistakes are caught
    before any node is asked)."""
    return Cli(wallets=tmp_path / "wallets", endpoint=free_address())


@pytest.mark.parametrize("amount", ["inf", "-inf", "nan", "sNaN", "1e30", "1e9999999", "18446744073.709551616",
                                    "1e-9999999"])
def test_amounts_no_account_can_hold_are_usage_errors(offline: Cli, amount: str) -> None:
    """Infinite, not-a-number, beyond u64 RAO or with an exponent that overflows: exit 2 naming --amount, before any
    node or password is needed (it was an internal error: OverflowError, ValueError, decimal.Overflow)."""
    err = _json_error(offline("wallet", "transfer", "-w", "a", "--dest", BOB, "--amount", amount, "-y", "--json"), 2)
    assert "--amount" in str(err["message"])
    line = _one_error(offline("stake", "add", "-w", "a", "--hotkey-ss58", BOB, "--amount", amount, "-y"), 2)
    assert "--amount" in line


def test_btclis_sudo_group_names_the_command_that_takes_its_place(offline: Cli) -> None:
    """`taonet sudo set ...` (btcli's way to set a hyperparameter) said only "No such command 'sudo'"."""
    line = offline.fails(2, "sudo", "set", "--netuid", "1", "--param", "tempo", "--value", "20")
    assert "btcli's `sudo set` is `taonet subnet set NETUID --param NAME --value VALUE`" in line, line


def test_the_largest_amount_is_named(offline: Cli) -> None:
    """Too much says what the most is, in τ (and in RAO with --rao)."""
    line = _one_error(offline("wallet", "faucet", "-w", "a", "--amount", "1e20"), 2)
    assert "at most 18446744073.709551615 τ" in line
    line = _one_error(offline("wallet", "faucet", "-w", "a", "--amount", "18446744073709551616", "--rao"), 2)
    assert "at most 18446744073709551615" in line


@pytest.mark.parametrize("args", [
    ("subnet", "show", "99999999999999999999"), ("subnet", "hparams", "--netuid", "65536"),
    ("metagraph", "1", "--block", "99999999999999999999999"), ("weights", "show", "1", "--uid", "70000"),
    ("wallet", "overview", "--netuid", "70000"), ("query", "--netuid", "65536", "x"),
])
def test_numbers_beyond_what_the_chain_carries_are_usage_errors(offline: Cli, args: tuple[str, ...]) -> None:
    """A netuid over 65535, a block over u64, a UID over 65535: exit 2 from the command line (it was sent and
    refused as 'CBOR semantic tags are not allowed', exit 7)."""
    assert "less than or equal to" in str(_json_error(offline(*args, "--json"), 2)["message"])


@pytest.mark.parametrize(("uids", "weights", "option"), [
    ("1,2", "nan,inf", "--weights"), ("999999,2", "1,1", "--uids"), ("-1,2", "1,1", "--uids"),
])
def test_weights_that_are_not_numbers_or_uids_that_cannot_be_are_usage_errors(
        offline: Cli, uids: str, weights: str, option: str) -> None:
    """NaN/inf weights and UIDs outside 0..65535: exit 2 naming the option, for set, commit and reveal (they were
    internal errors, with numpy's RuntimeWarning on stderr)."""
    for verb, extra in (("set", ()), ("commit", ()), ("reveal", ("--salt", "00" * 16))):
        line = _one_error(offline("weights", verb, "1", "--uids", uids, "--weights", weights, *extra, "-y"), 2)
        assert option in line, line


def test_an_empty_wallet_name_or_key_source_is_refused(offline: Cli) -> None:
    """`-w ""` (an unset variable) does not quietly mean the default wallet, and `--uri ""` is not the well-known
    development root key: exit 2, and no key file is written."""
    line = _one_error(offline("wallet", "new-coldkey", "-w", "", "--no-password"), 2)
    assert "--wallet-name" in line and "empty" in line
    line = _one_error(offline("wallet", "regen-coldkey", "-w", "r", "--uri", "", "--no-password"), 2)
    assert "--uri" in line and "empty" in line
    _one_error(offline("wallet", "new-hotkey", "-w", "r", "-H", " "), 2)
    assert not offline.wallets.exists()


def test_a_wallet_path_the_system_refuses_is_a_wallet_error_naming_it(offline: Cli, tmp_path: Path) -> None:
    """A wallet path under /proc, or one that is a file: exit 5, the path and what to check (it was
    '[Errno 2] No such file or directory', exit 7)."""
    line = _one_error(offline("wallet", "create", "-w", "x", "-p", "/proc/taonet-nope", "--no-password"), 5)
    assert "/proc/taonet-nope" in line and "--wallet-path" in line
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    err = _json_error(offline("wallet", "create", "-w", "x", "-p", str(a_file), "--no-password", "--json"), 5)
    assert "a file, not a folder" in str(err["message"])


def test_a_damaged_key_file_is_said_not_hidden(offline: Cli) -> None:
    """A folder where coldkeypub.txt should be: `balance` is the wallet error (exit 5, it was raw '[Errno 21]',
    exit 7); `inspect` and `list` say the file is unreadable and why (inspect said 'coldkey None')."""
    (offline.wallets / "dirk" / "coldkeypub.txt").mkdir(parents=True)
    (offline.wallets / "junk").mkdir()
    (offline.wallets / "junk" / "coldkeypub.txt").write_bytes(bytes(range(256)))
    line = _one_error(offline("wallet", "balance", "-w", "dirk"), 5)
    assert "coldkeypub.txt is not a valid key file" in line and "is a directory" in line
    text = offline.ok("wallet", "inspect", "-w", "junk").stdout
    assert "None" not in text and "unreadable" in text and "not JSON" in text
    listed = offline.ok("wallet", "list", "--json").json["wallets"]
    assert [w["name"] for w in listed] == ["dirk", "junk"]
    assert all(w["coldkey"] is None and "not a valid key file" in w["problem"] for w in listed)


def test_a_neuron_with_a_bad_wallet_name_or_gateway_is_a_usage_error(offline: Cli) -> None:
    """`miner run -w ../x`, `query --wallet-name ../x` and `validator run --gateway nonsense` are exit 2 before
    anything starts (they were internal errors: ValueError, pynng.AddressInvalid after the validator had started);
    -w/-H work as on every verb."""
    line = _one_error(offline("miner", "run", "--plugin", "template", "--netuid", "1", "-w", "../x"), 2)
    assert "wallet name '../x'" in line
    line = _one_error(offline("query", "--netuid", "1", "--wallet-name", "../x", "5"), 2)
    assert "wallet name '../x'" in line
    for gateway in ("nonsense", "tcp://x:99999", ":80"):
        line = _one_error(offline("validator", "run", "--plugin", "template", "--netuid", "1", "-w", "v", "-H", "h",
                                  "--gateway", gateway), 2)
        assert "--gateway" in line


def test_a_file_given_as_a_network_directory_is_no_network(offline: Cli, tmp_path: Path) -> None:
    """A file where a network's folder is expected: no network there (exit 6), not '[Errno 20] ...'."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    err = _json_error(offline("launch", "status", "--dir", str(a_file), "--json"), 6)
    assert str(err["message"]).startswith(f"no network was launched in {a_file}")


def test_an_address_nng_refuses_to_listen_on_is_a_usage_error(offline: Cli, tmp_path: Path) -> None:
    """`node run --feed ipc:///proc/...`: exit 2 saying to check the address (it was 'internal error: NoEntry')."""
    line = _one_error(offline("node", "run", "--dev", "--data-dir", str(tmp_path / "node"), "--no-fsync", "--rpc",
                              "tcp://127.0.0.1:0", "--feed", "ipc:///proc/taonet-nope/feed", "--log-level", "error"),
                      2)
    assert "check the address" in line


@pytest.fixture(scope="module")
def node_and_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Cli]]:
    """A dev node (its data directory) and a wallet "a" funded by the faucet (no stake anywhere)."""
    root = tmp_path_factory.mktemp("mistakes")
    with taonet_node(root / "node") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "create", "-w", "a", "--no-password")
        cli.ok("wallet", "faucet", "-w", "a", "--amount", "10")
        yield root / "node", cli


@pytest.fixture
def online(node_and_cli: tuple[Path, Cli]) -> Cli:
    """`taonet` pointed at the module's dev node."""
    return node_and_cli[1]


def test_too_little_balance_says_how_to_get_tao(online: Cli) -> None:
    """A transfer or a stake beyond the free balance: exit 3, one line that says how to get τ (a transfer from a
    funded wallet, the faucet on a dev chain) or to ask for less; it only said the two amounts."""
    for args in (("wallet", "transfer", "-w", "a", "--dest", BOB), ("stake", "add", "-w", "a")):
        line = _one_error(online(*args, "--amount", "1000000", "-y"), 3)
        assert re.fullmatch(r"error: needs τ[\d,]+\.\d{4,9} but only τ[\d,]+\.\d{4,9} is free: have a funded wallet "
                            r"send τ to this "
                            r"coldkey \(taonet wallet transfer\), take some from the faucet on a development chain "
                            r"\(taonet wallet faucet\), or ask for less", line), line


def test_moving_nothing_is_refused_in_one_line(online: Cli) -> None:
    """`stake remove --all` with no stake, `stake add --amount 0`, `delegate remove --all`: exit 3 saying why there
    is nothing to move (each was 'internal error: ValueError: amount=0 is outside [1, ...]')."""
    line = _one_error(online("stake", "remove", "-w", "a", "--all", "-y"), 3)
    assert "has no stake on" in line and "taonet stake list" in line
    err = _json_error(online("stake", "add", "-w", "a", "--amount", "0", "-y", "--json"), 3)
    assert "at least 1 RAO" in str(err["message"]) and err["code"] == "cli_nothing_to_move"
    hot = online.ok("wallet", "inspect", "-w", "a", "--json").json["hotkeys"][0]["ss58"]
    assert "has no stake on" in _one_error(online("delegate", "remove", "-w", "a", "--delegate", hot, "--all", "-y"),
                                           3)


def test_a_command_past_its_timeout_says_so_not_no_node(online: Cli) -> None:
    """`node wait` for a block far ahead with --timeout 1: exit 4 saying the command did not finish in time and to
    raise --timeout, not 'got no reply; is the node running?' (the node is running)."""
    err = _json_error(online("node", "wait", "--blocks", "100000", "--timeout", "1", "--json"), 4)
    assert "did not finish within 1 s" in str(err["message"]) and "raise --timeout" in str(err["message"])
    assert "is the node running" not in str(err["message"])


def _stopped_network(dir: Path) -> Path:
    """A network directory as a stopped localnet leaves it: launch.json (its format) and its logs."""
    (dir / "logs").mkdir(parents=True)
    (dir / "logs" / "node.log").write_text("rpc: tcp://127.0.0.1:9944\nfeed: tcp://127.0.0.1:9945\n")
    (dir / "launch.json").write_text(json.dumps({
        "name": "localnet", "dir": str(dir), "pid": 2**22 + 1, "state": "stopped", "endpoint": "tcp://127.0.0.1:9944",
        "head": 40, "epochs": {"1": 3, "2": 1}, "max_block_gap_ms": 252.0, "processes": [
            {"name": "node", "kind": "node", "pid": None, "state": "stopped", "restarts": 0, "last_exit": 0,
             "note": "", "log": str(dir / "logs" / "node.log")}]}))
    return dir


def test_launch_logs_and_stop_answer_json_and_an_unknown_log_is_not_found(offline: Cli, tmp_path: Path) -> None:
    """`launch logs`/`stop` with --json print one JSON document (they printed text); a log name the network does not
    have is exit 6 naming the ones it has (it was exit 7, 'refused data'); status says the epochs in words (it
    printed a Python dict)."""
    net = _stopped_network(tmp_path / "net")
    doc = offline.ok("launch", "logs", "--dir", str(net), "--json").json
    assert doc == {"logs": [{"name": "node", "path": str(net / "logs" / "node.log"), "bytes": 53}]}
    doc = offline.ok("launch", "logs", "node", "-n", "1", "--dir", str(net), "--json").json
    assert doc["lines"] == ["feed: tcp://127.0.0.1:9945"]
    err = _json_error(offline("launch", "logs", "nosuch", "--dir", str(net), "--json"), 6)
    assert "'nosuch'" in str(err["message"]) and "the logs are: node" in str(err["message"])
    assert offline.ok("launch", "stop", "--dir", str(net), "--json").json == {
        "dir": str(net), "stopped": False, "state": "stopped"}
    status = offline.ok("launch", "status", "--dir", str(net)).stdout
    assert "epochs: subnet 1: 3, subnet 2: 1" in status and "{" not in status


@pytest.mark.parametrize("content", ["[]", "{}", '{"pid": 5, "processes": [3]}', '{"pid": "5", "processes": []}',
                                     '{"pid": true, "processes": []}',
                                     '{"pid": 5, "processes": [{"name": "node", "pid": "x"}]}'])
def test_a_damaged_launch_status_is_refused_data_not_an_internal_error(offline: Cli, tmp_path: Path,
                                                                      content: str) -> None:
    """A launch.json that is JSON but not a network's status: exit 7 naming the file and what to do (it was
    'internal error: AttributeError/KeyError')."""
    (tmp_path / "launch.json").write_text(content)
    for action in ("status", "logs", "stop"):
        line = _one_error(offline("launch", action, "--dir", str(tmp_path)), 7)
        assert f"{tmp_path / 'launch.json'}: not a network's status" in line


def test_weights_commit_refuses_a_save_file_it_cannot_write_before_committing(offline: Cli, tmp_path: Path) -> None:
    """`weights commit --save` to a file that cannot be written is exit 2 before anything is sent (with no node
    there, a commit would have been exit 4): the commit used to go on the chain and then fail on the file, exit 7,
    with its salt never shown. A file that can be written is left as it was."""
    for bad in ("/proc/taonet-nope.json", str(tmp_path)):
        line = _one_error(offline("weights", "commit", "1", "--uids", "0", "--weights", "1", "--save", bad, "-y"), 2)
        assert "--save" in line and "nothing was committed" in line
    fine = tmp_path / "reveal.json"
    out = offline("weights", "commit", "1", "--uids", "0", "--weights", "1", "--save", str(fine), "-w", "a", "-y")
    assert out.status == 5 and not fine.exists()  # got past --save (to the missing wallet), and left no file


@pytest.mark.parametrize("content", [None, b"[1]", b'{"salt": "00"}', bytes(range(256))])
def test_weights_reveal_from_a_file_that_is_not_a_saved_commit_says_so(offline: Cli, tmp_path: Path,
                                                                      content: bytes | None) -> None:
    """A folder, JSON of another shape, bytes: exit 2 naming --from, without '[Errno 21]', 'KeyError: ...' or a
    codec's complaint."""
    path = tmp_path / "reveal.json"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    line = _one_error(offline("weights", "reveal", "1", "--from", str(path), "-y"), 2)
    assert "--from" in line and str(path) in line and "codec" not in line


@pytest.mark.parametrize(("content", "said"), [
    (bytes(range(256)), "not JSON text (a binary file?)"), (b"[]", "not a JSON object with chain_id"),
])
def test_a_genesis_file_of_another_kind_is_named_without_python_words(offline: Cli, tmp_path: Path, content: bytes,
                                                                     said: str) -> None:
    """Bytes or a JSON list as --genesis: exit 7 naming the file, not "'utf-8' codec can't decode ..." or
    "'list' object has no attribute 'get'"."""
    genesis = tmp_path / "genesis.json"
    genesis.write_bytes(content)
    line = _one_error(offline("node", "run", "--genesis", str(genesis), "--authority", "//Alice", "--data-dir",
                              str(tmp_path / "node")), 7)
    assert line.startswith(f"error: genesis file {genesis}: {said}")
    assert "codec" not in line and "object has no attribute" not in line


def test_a_data_dir_that_cannot_be_made_says_so_not_free_space(offline: Cli) -> None:
    """`node run --data-dir /proc/...`: exit 7, the directory and what to give (it said 'open on .../LOCK failed:
    No such file or directory; free space or fix the disk')."""
    line = _one_error(offline("node", "run", "--dev", "--data-dir", "/proc/taonet-nope", "--rpc", "tcp://127.0.0.1:0",
                              "--feed", "tcp://127.0.0.1:0"), 7)
    assert line.startswith("error: /proc/taonet-nope cannot be used as a data directory") and "free space" not in line


def test_a_remote_actor_for_a_node_that_runs_its_own_says_how_to_start_it(online: Cli) -> None:
    """`actor run scheduler` against a dev node started without --remote-actor: exit 2 saying to start the node with
    --remote-actor (it was "unknown RPC method 'actor_post'", exit 1)."""
    r = online("actor", "run", "scheduler", "--node", online.endpoint, "--log-level", "error", timeout=60)
    line = _one_error(r, 2)
    assert "--remote-actor scheduler" in line and online.endpoint in line


@pytest.mark.parametrize("args", [("bench", "ledger", "--runs", "0"), ("bench", "consensus", "--runs", "-1"),
                                  ("bench", "replay", "--blocks", "0"), ("bench", "node", "--waiters", "0"),
                                  ("bench", "node", "--part", "nosuch")])
def test_a_bench_asked_to_measure_nothing_is_a_usage_error(offline: Cli, args: tuple[str, ...]) -> None:
    """No runs (it was 'internal error: StatisticsError: no median for empty data'), or a part that does not exist
    (it was exit 0 with nothing measured): exit 2, one JSON document with --json."""
    _json_error(offline(*args, "--json"), 2)


def test_replay_events_of_a_type_that_does_not_exist_is_a_usage_error(node_and_cli: tuple[Path, Cli]) -> None:
    """`replay DIR events --type Nonsense`: exit 2 listing the types (it was an empty table, exit 0: "nothing
    happened"); the help it points to is `taonet replay DIR events --help`, not `{DIR}`. Known names in any case,
    tag or class, still filter."""
    data, cli = node_and_cli
    err = _json_error(cli("replay", str(data), "events", "--type", "Nonsense", "--json"), 2)
    assert "no event type 'Nonsense'" in str(err["message"]) and "Transferred" in str(err["message"])
    assert "(see taonet replay DIR events --help)" in str(err["message"])
    doc = cli.ok("replay", str(data), "events", "--type", "transferred", "--type", "ev.endowed", "--json").json
    assert doc["events"] and {e["event"] for e in doc["events"]} <= {"Transferred", "Endowed"}


@pytest.mark.parametrize("args", [("--plugin", "template", "--description", "d" * 257),
                                  ("--plugin", "template", "--url", "u" * 300),
                                  ("--description", "mine"), ("--url", "https://example.org")])
def test_subnet_create_refuses_an_identity_the_chain_would_refuse_before_paying(offline: Cli,
                                                                               args: tuple[str, ...]) -> None:
    """A description or URL over 256 characters, or one without --plugin: exit 2 before any node or wallet is
    asked. The long one used to create the subnet (the lock paid), then fail on its identity with exit 3 and a line
    that did not say the subnet existed; the one without --plugin was dropped without a word."""
    line = _one_error(offline("subnet", "create", "-w", "nobody", "-y", *args), 2)
    assert "--description" in line or "--url" in line


def test_wallet_create_shows_a_new_coldkeys_mnemonic_when_its_hotkey_fails(offline: Cli) -> None:
    """A wallet whose hotkeys folder is a file: the coldkey is made, the hotkey cannot be; the coldkey's mnemonic
    (its only backup) is still shown, with the error saying what was made (it was only the hotkey's error, the
    mnemonic lost). With --json the one document is the error, and it carries the mnemonic."""
    (offline.wallets / "w").mkdir(parents=True)
    (offline.wallets / "w" / "hotkeys").write_text("")
    r = offline("wallet", "create", "-w", "w", "-H", "h", "--no-password")
    line = _one_error(r, 5)
    assert "mnemonic (the only backup" in r.stdout and "the coldkey above was created" in line
    words = r.stdout.split("keep it secret): ")[1].split()
    assert len(words) == 12
    (offline.wallets / "w2").mkdir()
    (offline.wallets / "w2" / "hotkeys").write_text("")
    err = _json_error(offline("wallet", "create", "-w", "w2", "-H", "h", "--no-password", "--json"), 5)
    assert "was created (mnemonic: " in str(err["message"]) and "the hotkey was not" in str(err["message"])


def test_wallet_overview_of_a_subnet_that_does_not_exist_is_not_found(online: Cli) -> None:
    """`wallet overview --netuid 99`: exit 6 (it was exit 0, "no neurons yet")."""
    err = _json_error(online("wallet", "overview", "-w", "a", "--netuid", "99", "--json"), 6)
    assert err["code"] == "subnet_not_found"


def test_neurons_run_with_a_wallet_name_no_wallet_can_have_is_the_files_mistake(offline: Cli, tmp_path: Path) -> None:
    """`neurons run` on a row with wallet = "../x": exit 7 naming the file and row (it was 'internal error:
    ValueError'); a gateway that is not HOST:PORT likewise (the validator restarted forever on AddressInvalid)."""
    for key, value in (("wallet", "../x"), ("gateway", "nonsense")):
        path = tmp_path / f"{key}.toml"
        path.write_text(f'[[neurons]]\nrole = "validator"\nplugin = "template"\nnetuid = 1\n{key} = "{value}"\n')
        line = _one_error(offline("neurons", "run", str(path)), 7)
        assert line.startswith(f"error: {path}: [[neurons]] row 1: ") and value in line


def test_launch_refuses_a_network_file_the_chain_would_refuse_before_starting_it(offline: Cli, tmp_path: Path) -> None:
    """A wallet named ../evil, an unknown hyperparameter: exit 7 naming the file, and no node started (the network
    used to start, then stop at its setup with exit 3, or run with the bad wallet)."""
    for table in ('[[wallets]]\nname = "../evil"\nuri = "//Alice"\n',
                  '[[subnets]]\nnetuid = 1\nplugin = "template"\nhyperparameters = { nosuch = 5 }\n'):
        path = tmp_path / "net.toml"
        path.write_text(f'name = "x"\n{table}')
        line = _one_error(offline("launch", str(path), "--dir", str(tmp_path / "net")), 7)
        assert line.startswith(f"error: {path}: ")
        assert not (tmp_path / "net" / "node").exists()


@pytest.mark.parametrize("args", [("subnet", "list"), ("node", "wait"), ("query", "--netuid", "1", "5"),
                                  ("subnet", "pow-register", "1"), ("miner", "run", "--plugin", "template",
                                                                    "--netuid", "1")])
@pytest.mark.parametrize("timeout", ["inf", "1e308"])
def test_a_timeout_that_is_not_a_wait_is_a_usage_error(offline: Cli, args: tuple[str, ...], timeout: str) -> None:
    """--timeout inf (or one so large nng cannot count it): exit 2 naming the most (it was 'internal error:
    OverflowError: cannot convert float infinity to integer'); $TAONET_TIMEOUT likewise (query has no such
    variable)."""
    line = _one_error(offline(*args, "--timeout", timeout), 2)
    assert "--timeout" in line and "1000000" in line
    if args[0] != "query":
        assert "--timeout" in _one_error(offline(*args, TAONET_TIMEOUT=timeout), 2)


@pytest.mark.parametrize("args", [("node", "run", "--dev", "--block-time", "inf"),
                                  ("localnet", "--block-time", "inf"),
                                  ("node", "run", "--dev", "--actor-delay", "consensus=abc"),
                                  ("node", "run", "--dev", "--actor-delay", "consensus=nan"),
                                  ("actor", "run", "scheduler", "--delay", "-1")])
def test_times_that_are_not_times_are_usage_errors(offline: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    """A block time of inf (the node ran, never sealing; localnet and launch: 'internal error: OverflowError'), an
    actor delay that is not a number of seconds (an internal ValueError): exit 2, nothing started."""
    _one_error(offline(*args, *(("--data-dir", str(tmp_path / "n")) if args[0] == "node" else ())), 2)
    assert not (tmp_path / "n").exists()


@pytest.mark.parametrize(("args", "says"), [
    (("node", "run", "--dev", "--block-time", "1e308"), "less than or equal to 3600"),
    (("node", "run", "--dev", "--block-time", "3601"), "less than or equal to 3600"),
    (("node", "run", "--dev", "--actor-timeout", "1e308"), "less than or equal to 36000"),
    (("node", "run", "--dev", "--actor-timeout", "-1"), "greater than or equal to 0.01"),
    (("node", "run", "--dev", "--actor-timeout", "nan"), "36000"),
    (("node", "run", "--dev", "--block-budget", "1e308"), "less than or equal to 3600"),
    (("node", "run", "--dev", "--mempool-per-signer", "99999999999999999999"), "less than or equal to 200000"),
    (("demo", "--block-time", "3601"), "less than or equal to 3600"),
])
def test_node_timing_options_past_their_bounds_are_usage_errors(offline: Cli, tmp_path: Path, args: tuple[str, ...],
                                                                 says: str) -> None:
    """A block time past the launcher's 3,600 s (1e308: the node ran and never sealed), an actor timeout, a block
    budget or a per-signer mempool share with no upper bound (taken as given): exit 2 naming the option and its
    bound, nothing started."""
    line = _one_error(offline(*args, "--data-dir", str(tmp_path / "n")), 2)
    assert args[-2] in line and says in line
    assert not (tmp_path / "n").exists()


@pytest.mark.parametrize(("option", "says"), [("sample_size=0", "outside 1..4,096"), ("alpha=2", "outside 0..1"),
                                              ("timeout=nan", "'nan' is not a finite number"),
                                              ("delay=inf", "'inf' is not a finite number"),
                                              ("timeout=1e308", "outside 0.001..1,000,000")])
def test_a_plugin_option_out_of_its_bounds_is_refused_before_the_neuron_starts(offline: Cli, option: str,
                                                                              says: str) -> None:
    """`--set` with a number the neuron cannot use (no miners asked, a moving average weighing a score twice, a wait
    of nan): exit 2 before any node is asked (with no node there, a neuron that started would be exit 4). They were
    taken as given."""
    line = _one_error(offline("validator", "run", "--plugin", "template", "--netuid", "1", "--set", option), 2)
    assert says in line and option.split("=")[0] in line


def test_query_json_is_one_document_when_a_gateway_fails(node_and_cli: tuple[Path, Cli], tmp_path: Path) -> None:
    """A gateway published on the chain that does not answer: `query --json` prints the error document and nothing
    else on stdout (structlog's default printed the dendrite's debug line there first)."""
    _data, cli = node_and_cli
    cli.ok("wallet", "create", "-w", "gw", "--no-password")
    cli.ok("wallet", "faucet", "-w", "gw", "--amount", "1000")
    netuid = cli.ok("subnet", "create", "-w", "gw", "-y", "--json").json["netuid"]
    with subtensor(cli.endpoint, timeout=20) as sub:  # a gateway (protocol 10) at a port where nothing listens
        assert sub.serve_axon(Wallet("gw", "default", cli.wallets), netuid, ip="127.0.0.1",
                              port=int(free_address().rsplit(":", 1)[1]), protocol=10).success
    r = cli("query", "--netuid", str(netuid), "5", "--json", "--timeout", "1")
    err = _json_error(r, 4)
    assert err["code"] == "gateway_failed" and r.stdout.count("\n") == 1


def test_query_with_a_number_beyond_64_bits_is_a_usage_error(offline: Cli) -> None:
    """A payload of 26 digits: exit 2 before any node is asked (it was sent, refused by the gateway as
    '400 body: CBOR semantic tags are not allowed', exit 4)."""
    assert "PAYLOAD" in str(_json_error(offline("query", "--netuid", "1", "9" * 26, "--json"), 2)["message"])


def test_a_remote_actor_the_node_runs_itself_or_with_a_wrong_key_says_so(offline: Cli, tmp_path: Path) -> None:
    """A node started with --remote-actor scheduler: `actor run consensus` (which it runs itself) is exit 2 (it
    waited forever for work that never came); `actor run scheduler --key //Nope` is exit 5 saying which key to give
    (it was exit 1, with no word on what to do)."""
    with taonet_node(tmp_path / "node", "--remote-actor", "scheduler") as (_proc, _header, addresses):
        rpc = addresses["rpc"]
        line = _one_error(offline("actor", "run", "consensus", "--node", rpc, "--log-level", "error", timeout=60), 2)
        assert "--remote-actor consensus" in line
        line = _one_error(offline("actor", "run", "scheduler", "--node", rpc, "--key", "//Nope", "--log-level",
                                  "error", timeout=60), 5)
        assert "--key" in line


def test_a_password_that_is_not_text_is_a_wallet_error(offline: Cli, tmp_path: Path) -> None:
    """Bytes that are not UTF-8 as the password — from TAONET_PASSWORD_FILE, TAONET_PASSWORD or --password-stdin:
    exit 5 saying where (each was an internal UnicodeDecodeError/UnicodeEncodeError); no key file written."""
    binary = tmp_path / "password"
    binary.write_bytes(b"\xff\xfe\x00junk")
    new = ("wallet", "new-coldkey", "-w", "k")
    nopw = Cli(wallets=offline.wallets, endpoint=offline.endpoint, password=None)
    assert "TAONET_PASSWORD_FILE" in _one_error(nopw(*new, TAONET_PASSWORD_FILE=str(binary)), 5)
    assert "not UTF-8 text" in _one_error(nopw(*new, TAONET_PASSWORD="\udcff\udcfe"), 5)
    env = nopw.env()
    out = subprocess.run([TAONET_EXE, *new, "--password-stdin"], input=b"\xff\xfe\n", capture_output=True, env=env,
                         timeout=60)
    lines = error_lines(out.stderr.decode())
    assert out.returncode == 5 and lines == ["error: the password given on stdin (--password-stdin) is not UTF-8 "
                                             "text: send it as UTF-8 text (or leave --password-stdin out and type it "
                                             "at the prompt)"]
    assert not (offline.wallets / "k" / "coldkey").exists()


@pytest.mark.parametrize("args", [("query", "--netuid", "1", "\udcff\udcfe"), ("metagraph", "1", "-e", "\udcff"),
                                  ("subnet", "create", "--plugin", "template", "--description", "\udcff")])
def test_an_argument_that_is_not_text_is_a_usage_error(offline: Cli, args: tuple[str, ...]) -> None:
    """Bytes that are not UTF-8 on the command line (a payload, an endpoint, a description that would go on the
    chain after the lock was paid): exit 2 naming the bytes, before anything runs (query and metagraph were
    internal UnicodeEncodeError/TypeError)."""
    err = _json_error(offline(*args, "--json"), 2)
    assert "\\xff" in str(err["message"]) and "not UTF-8 text" in str(err["message"])


def test_an_endpoint_from_the_environment_that_is_not_text_is_a_bad_address(offline: Cli) -> None:
    """TAONET_ENDPOINT with bytes that are not UTF-8: BadAddress, exit 2 (it was an internal UnicodeEncodeError)."""
    err = _json_error(offline("subnet", "list", "--json", TAONET_ENDPOINT="\udcff"), 2)
    assert err["code"] == "bad_address" and "not UTF-8 text" in str(err["message"])


@pytest.mark.parametrize("args", [("--epochs", "-1"), ("--block-time", "0"), ("--ledger", "--blocks", "0")])
def test_a_demo_asked_for_nothing_is_a_usage_error(offline: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    """`demo --epochs -1` ran the whole setup and exited 0; `--ledger --blocks 0` sealed a block anyway; a block
    time of 0 was taken: each is exit 2 now, nothing written."""
    _one_error(offline("demo", "--data-dir", str(tmp_path / "demo"), *args), 2)
    assert not (tmp_path / "demo").exists()


def test_launch_stop_never_signals_a_pid_another_program_has_taken(offline: Cli, tmp_path: Path) -> None:
    """A launch.json left "running" by a launcher that died, whose pid now belongs to another program: status says
    the network is dead and stop signals nothing (it sent SIGTERM to whatever held the pid)."""
    other = subprocess.Popen(["sleep", "30"])
    try:
        net = _stopped_network(tmp_path / "net")
        status = json.loads((net / "launch.json").read_text())
        status.update(state="running", pid=other.pid)
        status["processes"][0].update(state="running", pid=other.pid)
        (net / "launch.json").write_text(json.dumps(status))
        doc = offline.ok("launch", "status", "--dir", str(net), "--json").json
        assert doc["state"] == "dead" and doc["processes"][0]["state"] == "gone"
        assert offline.ok("launch", "stop", "--dir", str(net), "--json").json["stopped"] is False
        assert other.poll() is None  # still running: never signalled
    finally:
        other.kill()
        other.wait()


def test_node_run_with_the_wrong_authority_names_both_keys(offline: Cli, tmp_path: Path) -> None:
    """`node run --genesis FILE --authority //Bob` for a chain whose authority is another key: exit 7 naming the key
    given, the authority, and what to pass (it said only 'the signing key is not the genesis authority')."""
    config, authority = dev_genesis(chain_id="mine")
    dump_genesis(config, tmp_path / "genesis.json")
    line = _one_error(offline("node", "run", "--genesis", str(tmp_path / "genesis.json"), "--authority", "//Bob",
                              "--data-dir", str(tmp_path / "node"), "--rpc", "tcp://127.0.0.1:0", "--feed",
                              "tcp://127.0.0.1:0", "--log-level", "error"), 7)
    assert Keypair.from_uri("//Bob").ss58_address in line and authority.ss58_address in line
    assert "--authority" in line


def test_query_with_no_node_answers_within_its_timeout(offline: Cli) -> None:
    """`query --timeout 0.5` with no node: NoNode saying 0.5 s (it waited the metagraph call's own 3 s connect)."""
    line = _one_error(offline("query", "--netuid", "1", "5", "--timeout", "0.5"), 4)
    assert line.startswith("error: no node at") and "within 0.5 s" in line


def test_a_hotkey_the_chain_does_not_know_says_what_to_do(online: Cli) -> None:
    """`delegate add --delegate` an address that is no hotkey on the chain: exit 6 saying to check it or register
    it (it said only 'is not known to the chain')."""
    line = _one_error(online("delegate", "add", "-w", "a", "--delegate", BOB, "--amount", "1", "-y"), 6)
    assert BOB in line and "taonet subnet register" in line


def test_a_new_coldkey_without_a_password_says_how_to_give_one(offline: Cli) -> None:
    """`wallet new-coldkey` with no password source and no terminal: exit 5 saying the key is to be encrypted and
    the ways out, --no-password among them (it said the key "is encrypted", as for unlocking one)."""
    nopw = Cli(wallets=offline.wallets, endpoint=offline.endpoint, password=None)
    line = _one_error(nopw("wallet", "new-coldkey", "-w", "k"), 5)
    assert "is to be encrypted" in line and "--no-password" in line and "--password-stdin" in line
    assert not (offline.wallets / "k" / "coldkey").exists()


@pytest.mark.parametrize("args", [("show",), ("verify",), ("why", "--netuid", "1", "--uid", "0"), ("events",)])
def test_replay_of_a_log_with_no_block_says_so(offline: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    """A data directory whose block log holds no block: exit 7 saying so (show said "block -1 does not exist: ...
    ask for a block in 0..-1", why "--from 0 is after --to -1", verify reported ok with 0 blocks)."""
    (tmp_path / "node" / "chain" / "blocks").mkdir(parents=True)
    err = _json_error(offline("replay", str(tmp_path / "node"), *args, "--json"), 7)
    assert err["code"] == "empty_block_log" and "holds no block" in str(err["message"])


def test_stake_list_all_passes_over_a_damaged_wallet_as_balance_all_does(online: Cli) -> None:
    """One wallet with a damaged coldkeypub under the path: `stake list --all` still lists the others (it failed
    whole, exit 5, while `wallet balance --all` passed over it); named alone, it is the wallet error."""
    (online.wallets / "broken").mkdir(exist_ok=True)
    (online.wallets / "broken" / "coldkeypub.txt").write_text("not json")
    try:
        doc = online.ok("stake", "list", "--all", "--json").json
        assert doc["total"] == sum(s["stake"] for s in doc["stakes"])
        assert "not a valid key file" in _one_error(online("stake", "list", "-w", "broken"), 5)
    finally:
        (online.wallets / "broken" / "coldkeypub.txt").unlink()
        (online.wallets / "broken").rmdir()


def test_an_address_in_use_names_the_option_and_the_address(online: Cli, tmp_path: Path) -> None:
    """A node's --rpc already taken: exit 4, the line names the option and the address (it once told a miner to pass
    other --rpc/--feed addresses, then named every kind of process's options at once), and no data dir is made."""
    line = _one_error(online("node", "run", "--dev", "--data-dir", str(tmp_path / "n"), "--rpc", online.endpoint,
                             "--feed", "tcp://127.0.0.1:0", "--log-level", "error"), 4)
    assert line.startswith(f"error: --rpc {online.endpoint} is already in use: "), line
    assert not (tmp_path / "n").exists()


def test_rejections_about_whose_key_it_is_say_what_to_do(online: Cli) -> None:
    """Setting another owner's subnet (exit 3) says to sign with the owner's coldkey and where to see it; staking
    with --netuid on a subnet where the hotkey holds no UID (exit 6) says to register it (they said only what was
    wrong)."""
    online.ok("wallet", "create", "-w", "boss", "--no-password")
    online.ok("wallet", "faucet", "-w", "boss", "--amount", "1000")
    netuid = online.ok("subnet", "create", "-w", "boss", "-y", "--json").json["netuid"]
    line = _one_error(online("subnet", "set", str(netuid), "--param", "tempo", "--value", "20", "-w", "a", "-y"), 3)
    assert f"taonet subnet show {netuid}" in line
    line = _one_error(online("stake", "add", "-w", "a", "--netuid", str(netuid), "--amount", "1", "-y"), 6)
    assert f"taonet subnet register {netuid}" in line


def test_pow_register_on_a_subnet_closed_to_it_is_refused_before_solving(online: Cli) -> None:
    """A subnet whose owner disabled proof-of-work registration: `pow-register` is exit 3 at once, saying to burn
    instead (it solved the proof of work first, minutes at a real difficulty, for the chain to refuse it)."""
    online.ok("wallet", "create", "-w", "shut", "-H", "h", "--no-password")
    online.ok("wallet", "faucet", "-w", "shut", "--amount", "1000")
    netuid = online.ok("subnet", "create", "-w", "shut", "-H", "h", "-y", "--json").json["netuid"]
    online.ok("subnet", "set", str(netuid), "--param", "pow_registration_allowed", "--value", "0", "-w", "shut", "-y")
    online.ok("wallet", "new-hotkey", "-w", "shut", "-H", "late")
    line = _one_error(online("subnet", "pow-register", str(netuid), "-w", "shut", "-H", "late", "-y"), 3)
    assert "proof-of-work registration is disabled" in line and f"taonet subnet register {netuid}" in line


def test_a_take_above_the_chains_maximum_is_said_in_percent(online: Cli) -> None:
    """`delegate nominate --take 0.5`: in the unit the user typed (it said "take 32768/65535 is above the chain's
    maximum 11796/65535"); exit 2, before anything is sent (the chain's maximum is read from its genesis block)."""
    online.ok("wallet", "create", "-w", "nom", "--no-password")
    online.ok("wallet", "faucet", "-w", "nom", "--amount", "1000")
    online.ok("subnet", "create", "-w", "nom", "-y")  # the hotkey must be known to the chain
    line = _one_error(online("delegate", "nominate", "-w", "nom", "--take", "0.5", "-y"), 2)
    assert "50.00% is above the chain's maximum take, 18.00%" in line and "--take" in line


def test_a_uid_the_subnet_lacks_is_not_found_and_a_past_block_is_named(node_and_cli: tuple[Path, Cli]) -> None:
    """`weights show N --uid U` for a UID the subnet does not have: exit 6, one line (it was an empty table, exit 0);
    a UID there that set no weights stays an empty table. A subnet asked for at a block before it existed (metagraph,
    subnet show, replay what-if) says which block (it said only 'subnet N does not exist')."""
    data, online = node_and_cli
    LATER = "; ask for a later block (a subnet exists from the block that created it), or see `taonet subnet list`"
    online.ok("wallet", "create", "-w", "uids", "--no-password")
    online.ok("wallet", "faucet", "-w", "uids", "--amount", "1000")
    netuid = online.ok("subnet", "create", "-w", "uids", "-y", "--json").json["netuid"]
    n = str(netuid)
    assert online.ok("weights", "show", n, "--uid", "0", "--json").json["validators"] == []  # the owner's UID 0
    line = _one_error(online("weights", "show", n, "--uid", "7"), 6)
    assert line == f"error: subnet {netuid} has no UID 7 (its UIDs are 0..0): taonet metagraph {netuid} lists them"
    assert _json_error(online("weights", "show", n, "--uid", "7", "--json"), 6)["code"] == "cli_uid_not_found"
    line = f"error: subnet {netuid} does not exist at block 0{LATER}"
    assert _one_error(online("metagraph", n, "--block", "0"), 6) == line
    assert _one_error(online("subnet", "show", n, "--block", "0"), 6) == (
        f"error: subnet {netuid} does not exist at block 0{LATER}")
    line = _one_error(online("replay", str(data), "what-if", "--netuid", n, "--from", "0", "--to", "0"), 6)
    assert line.startswith(f"error: subnet {netuid} does not exist at block 0: ")  # then what to run to see them


@pytest.mark.parametrize("command", [("wallet", "new-coldkey", "--no-password"), ("wallet", "new-hotkey"),
                                     ("wallet", "create", "--no-password")])
def test_a_word_count_no_mnemonic_has_is_a_usage_error(offline: Cli, tmp_path: Path, command: tuple[str, ...]) -> None:
    """`--n-words 13`: exit 2, one line naming --n-words and the counts a mnemonic may have, no key written (it was
    InvalidKey, exit 5, a wallet problem)."""
    line = _one_error(offline(*command, "-w", "words", "--n-words", "13"), 2)
    assert "--n-words" in line and "12, 15, 18, 21 or 24" in line
    err = _json_error(offline(*command, "-w", "words", "--n-words", "0", "--json"), 2)
    assert "--n-words" in str(err["message"])
    assert not (tmp_path / "wallets" / "words").exists()
