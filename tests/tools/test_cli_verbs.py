"""Every `taonet` verb through the installed executable against one real dev node (started once for the module):
tables at 80 columns and `--json`, each write's one line, and each rejection as one line with its exit status."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import HYPERPARAMETER_BOUNDS, Keypair, dev_genesis, dump_genesis

from ..kernel.node.nodes import read_addresses, stop
from .cli import Cli
from .processes import TAONET_EXE, taonet_node

pytestmark = pytest.mark.slow

LIST_SUBNETS = "; see `taonet subnet list` for the subnets there are"
"""What the command line adds to `subnet N does not exist`: the next step."""

BOB = Keypair.from_uri("//Bob").ss58_address


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node (0.1 s blocks) and `taonet` pointed at it, with an empty wallet path."""
    root = tmp_path_factory.mktemp("verbs")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        yield Cli(wallets=root / "wallets", endpoint=addresses["rpc"])


@pytest.fixture(scope="module")
def owner(cli: Cli) -> str:
    """Wallet "owner" (hotkeys owner, miner, validator), funded by the faucet, owning subnet 1."""
    for hotkey in ("owner", "miner", "validator"):
        cli.ok("wallet", "create", "--wallet-name", "owner", "--hotkey", hotkey)
    cli.ok("wallet", "faucet", "--wallet-name", "owner", "--amount", "1000")
    cli.ok("subnet", "create", "--wallet-name", "owner", "--hotkey", "owner", "-y")
    return cli.ok("wallet", "inspect", "--wallet-name", "owner", "--json").json["coldkey"]


def _table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _header(lines: list[str]) -> list[str]:
    return next(x for x in lines if " UID " in x).split()


def test_wallet_balance_transfer_and_faucet(cli: Cli, owner: str) -> None:
    """The faucet funds a wallet; balance shows free, staked and total; a transfer says the new balance; --json
    gives block, extrinsic hash and events."""
    payer = cli.ok("wallet", "create", "--wallet-name", "payer", "--json").json["keys"][0]["ss58"]
    line = cli.ok("wallet", "faucet", "--wallet-name", "payer", "--amount", "20").stdout
    assert re.fullmatch(rf"faucet sent τ20\.0000 to {payer}: included in block \d+; balance now τ20\.0000\n", line)
    before = cli.ok("wallet", "balance", "--wallet-name", "payer", "--json").json["balances"][0]
    assert before == {"wallet": "payer", "coldkey": payer, "free": 20 * 10**9, "staked": 0, "total": 20 * 10**9}
    line = cli.ok("wallet", "transfer", "--wallet-name", "payer", "--dest", BOB, "--amount", "1.5", "-y").stdout
    assert re.fullmatch(rf"sent τ1\.5000 to {BOB}: included in block \d+; balance now τ18\.5000\n", line)
    doc = cli.ok("wallet", "transfer", "-w", "payer", "--dest", BOB, "--amount", "500000000", "--rao", "-y",
                 "--json").json
    assert doc["status"] == "included" and doc["block"] > 0 and len(doc["extrinsic_hash"]) == 64
    assert doc["balance"] == 18 * 10**9
    assert {"type": "ev.transferred", "src": payer, "dest": BOB, "amount": 500_000_000} in doc["events"]
    after = cli.ok("wallet", "balance", "--wallet.name", "payer", "--rao", "--json").json["balances"][0]
    assert after["free"] == 18 * 10**9
    table = cli.ok("wallet", "balance", "--all").stdout
    assert "FREE" in table and "STAKED" in table and all(len(x) <= 80 for x in table.splitlines())
    # rejections: one line each, with the documented status
    assert "needs" in cli.fails(3, "wallet", "transfer", "-w", "payer", "--dest", BOB, "--amount", "1e9", "-y")
    assert "--dest" in cli.fails(2, "wallet", "transfer", "-w", "owner", "--dest", "5nope", "--amount", "1", "-y")
    assert "-y" in cli.fails(2, "wallet", "transfer", "-w", "owner", "--dest", BOB, "--amount", "1")
    assert "does not exist" in cli.fails(5, "wallet", "balance", "--wallet-name", "nobody")


def test_subnet_verbs_show_the_chain(cli: Cli, owner: str) -> None:
    """list (the seeds' columns), show, hyperparameters (and the hparams alias), burn-cost, and the owner's set."""
    table = cli.ok("subnet", "list").stdout
    header = next(x for x in table.splitlines() if "NETUID" in x).split()
    assert header == ["NETUID", "NEURONS", "MAX_N", "DIFFICULTY", "TEMPO", "EMISSION", "BURN"]
    subnets = cli.ok("subnet", "list", "--json").json
    assert [s["netuid"] for s in subnets] == [1] and subnets[0]["emission"] == 10**9
    show = cli.ok("subnet", "show", "--netuid", "1", "--json").json
    assert show["netuid"] == 1 and show["n"] >= 1
    assert owner in cli.ok("subnet", "show", "1").stdout
    hp = cli.ok("subnet", "hyperparameters", "--netuid", "1", "--json").json
    assert set(hp) == set(HYPERPARAMETER_BOUNDS)
    assert cli.ok("subnet", "hparams", "1", "--json").json == hp
    assert cli.ok("subnet", "burn-cost", "--json").json["burn_cost"] > 0
    line = cli.ok("subnet", "set", "--netuid", "1", "--param", "immunity_period", "--value", "150", "-w", "owner",
                  "-y").stdout
    assert "immunity_period = 150: included in block" in line
    assert cli.ok("subnet", "hyperparameters", "1", "--json").json["immunity_period"] == 150
    assert "[1, 50,400]" in cli.fails(3, "subnet", "set", "1", "--param", "tempo", "--value", "0", "-w", "owner",
                                       "-y")
    assert "kappa" in cli.fails(2, "subnet", "set", "1", "--param", "nonsense", "--value", "1", "-w", "owner", "-y")
    cli.ok("wallet", "create", "-w", "stranger", "-H", "h")
    cli.ok("wallet", "faucet", "-w", "stranger", "--amount", "10")
    assert "owner" in cli.fails(3, "subnet", "set", "1", "--param", "tempo", "--value", "20", "-w", "stranger", "-y")
    assert cli.fails(6, "subnet", "show", "9") == "error: subnet 9 does not exist" + LIST_SUBNETS
    assert "--netuid" in cli.fails(2, "subnet", "show")


def test_register_stake_weights_and_metagraph(cli: Cli, owner: str) -> None:
    """register (burn) and pow-register give UIDs; stake add/remove/list; weights set and show; the metagraph."""
    miner = cli.ok("subnet", "register", "--netuid", "1", "-w", "owner", "-H", "miner", "-y", "--json").json
    assert miner["status"] == "included" and miner["uid"] >= 1 and miner["netuid"] == 1
    line = cli.ok("subnet", "pow-register", "1", "-w", "owner", "--wallet.hotkey", "validator", "--processes", "2",
                  "-y").stdout
    uid = int(re.search(r"as UID (\d+):", line).group(1))  # type: ignore[union-attr]
    assert "already" in cli.fails(3, "subnet", "register", "1", "-w", "owner", "-H", "miner", "-y").lower()
    line = cli.ok("stake", "add", "-w", "owner", "-H", "validator", "--netuid", "1", "--amount", "100", "-y").stdout
    assert re.search(r"staked τ100\.0000 on \w+ \(subnet 1\): included in block \d+; stake now τ[\d,.]+", line)
    assert "does not exist" in cli.fails(6, "stake", "add", "-w", "owner", "-H", "validator", "--netuid", "2",
                                         "--amount", "1", "-y")
    cli.ok("stake", "remove", "-w", "owner", "-H", "validator", "--amount", "10", "-y")
    stakes = cli.ok("stake", "list", "-w", "owner", "--json").json["stakes"]
    mine = {s["hotkey_name"]: s for s in stakes}
    assert mine["validator"]["stake"] >= 90 * 10**9 and mine["validator"]["netuids"] == [1]  # + what it earned
    assert "stake" in cli.fails(3, "stake", "remove", "-w", "owner", "-H", "miner", "--amount", "5000", "-y")
    line = cli.ok("weights", "set", "--netuid", "1", "--uids", f"{miner['uid']}", "--weights", "1", "-w", "owner",
                  "-H", "validator", "-y").stdout
    assert f"{miner['uid']}: 65535 (u16 as sent" in line  # the value sent, max-upscaled as the chain stores it
    shown = cli.ok("weights", "show", "1", "--uid", str(uid), "--json").json["validators"]
    assert shown[0]["weights"] == [[miner["uid"], 1.0]]
    assert "2 targets but 1 weights" in cli.fails(2, "weights", "set", "1", "--uids", "1,2", "--weights", "1",
                                                  "-w", "owner", "-H", "validator", "-y")
    mg = cli.ok("subnet", "metagraph", "--netuid", "1", "--json").json
    assert [n["uid"] for n in mg["neurons"]] == list(range(len(mg["neurons"])))
    assert mg["neurons"][uid]["stake"] >= 90 * 10**9
    at = ["--block", str(mg["block"])]
    assert cli.ok("metagraph", "1", *at, "--json").json == cli.ok("subnet", "metagraph", "1", *at, "--json").json
    narrow = _table_lines(cli.ok("subnet", "metagraph", "1").stdout)
    assert all(len(x) <= 80 for x in narrow) and {"UID", "INCENTIVE", "EMISSION(ρ)"} <= set(_header(narrow))  # noqa: RUF001
    wide = _table_lines(cli.ok("subnet", "metagraph", "1", "--wide").stdout)
    assert {"AXON", "VTRUST", "COLDKEY"} <= set(_header(wide)) and max(map(len, wide)) > 80


def test_delegates_and_overview(cli: Cli, owner: str) -> None:
    """nominate with a take; delegate list shows it; delegate add stakes on it; overview has the seeds' columns."""
    cli.ok("delegate", "nominate", "-w", "owner", "-H", "owner", "--take", "0.1", "-y")
    hotkey = cli.ok("wallet", "inspect", "-w", "owner", "--json").json["hotkeys"]
    owner_hot = next(h["ss58"] for h in hotkey if h["name"] == "owner")
    delegates = cli.ok("delegate", "list", "--json").json["delegates"]
    assert [(d["hotkey"], round(d["take"], 4)) for d in delegates] == [(owner_hot, 0.1)]
    assert "10.00%" in cli.ok("delegate", "list").stdout
    cli.ok("delegate", "add", "-w", "stranger", "--delegate", owner_hot, "--amount", "2", "-y")
    assert cli.ok("stake", "list", "-w", "stranger", "--json").json["total"] >= 2 * 10**9  # + its share of emission
    cli.ok("delegate", "remove", "-w", "stranger", "--delegate", owner_hot, "--all", "-y")
    assert cli.ok("stake", "list", "-w", "stranger", "--json").json["total"] < 10**8  # all of it, but an epoch's pay
    view = cli.ok("wallet", "overview", "-w", "owner", "--json").json
    assert view["coldkey"] == owner and {n["hotkey_name"] for s in view["subnets"] for n in s["neurons"]} >= {
        "owner", "miner", "validator"}
    narrow = _table_lines(cli.ok("wallet", "overview", "-w", "owner").stdout)
    assert all(len(x) <= 80 for x in narrow)
    wide = cli.ok("wallet", "overview", "-w", "owner", "--wide").stdout
    header = next(x for x in wide.splitlines() if "HOTKEY_SS58" in x).split()
    assert header == ["COLDKEY", "HOTKEY", "UID", "ACTIVE", "STAKE(τ)", "RANK", "TRUST", "CONSENSUS", "INCENTIVE",
                      "DIVIDENDS", "EMISSION(ρ)", "VTRUST", "VPERMIT", "UPDATED", "AXON", "HOTKEY_SS58"]  # noqa: RUF001


def test_node_status_and_json_errors(cli: Cli) -> None:
    """node status names the chain; with --json an error is one JSON document on stdout too."""
    st = cli.ok("node", "status", "--json").json
    assert st["chain_id"] == "taonet-dev" and st["head"] > 0 and st["head_age"] < 30
    r = cli("subnet", "show", "42", "--json")
    message = "subnet 42 does not exist" + LIST_SUBNETS
    assert r.status == 6 and r.json == {"error": {"message": message, "exit_status": 6,
                                                  "code": "subnet_not_found",
                                                  "fields": {"netuid": 42, "block": None, "last": None}}}


def test_keys_made_offline_come_back_from_their_secrets(tmp_path: Path) -> None:
    """create prints mnemonics once; regen-* from a mnemonic, seed or URI give the same addresses; an existing key
    is never replaced without --overwrite (exit 5)."""
    cli = Cli(wallets=tmp_path, endpoint="tcp://127.0.0.1:9")
    keys = cli.ok("wallet", "create", "-w", "w", "-H", "hot", "--json").json["keys"]
    cold, hot = keys
    assert cold["key"] == "coldkey" and len(cold["mnemonic"].split()) == 12 and "mnemonic" in hot
    assert "exists" in cli.fails(5, "wallet", "new-coldkey", "-w", "w")
    assert "-y" in cli.fails(2, "wallet", "new-hotkey", "-w", "w", "-H", "hot", "--overwrite")  # asks first
    again = cli.ok("wallet", "regen-coldkey", "-w", "w2", "--mnemonic", cold["mnemonic"], "--json").json["keys"]
    assert again[0]["ss58"] == cold["ss58"]
    seed = Keypair.from_uri("//Dave").seed.hex()  # type: ignore[union-attr]
    dave = cli.ok("wallet", "regen-hotkey", "-w", "w2", "-H", "d", "--seed", seed, "--json").json["keys"][0]
    assert dave["ss58"] == Keypair.from_uri("//Dave").ss58_address
    cli.ok("wallet", "regen-coldkeypub", "-w", "watch", "--ss58", cold["ss58"])
    listed = {w["name"]: w for w in cli.ok("wallet", "list", "--json").json["wallets"]}
    assert listed["watch"]["coldkey"] == cold["ss58"] and listed["watch"]["encrypted"] is None
    assert listed["w"]["encrypted"] is True and listed["w"]["hotkeys"] == [{"name": "hot", "ss58": hot["ss58"]}]
    replaced = cli.ok("wallet", "new-hotkey", "-w", "w", "-H", "hot", "--overwrite", "-y", "--json").json["keys"]
    assert replaced[0]["ss58"] != hot["ss58"]
    assert "exactly one" in cli.fails(2, "wallet", "regen-hotkey", "-w", "w2", "--seed", seed, "--uri", "//A")
    assert "mnemonic" in cli.fails(5, "wallet", "regen-coldkey", "-w", "w3", "--mnemonic", "not words at all")


def test_a_read_loads_neither_numpy_nor_the_node(cli: Cli, owner: str) -> None:
    """`wallet balance` and `subnet list` run without importing numpy, the node or the axon (they start fast)."""
    code = ("import sys; from taonet.tools.cli import app; from taonet.tools.errors import run_cli; "
            "s = run_cli(app, sys.argv[1:]); "
            "print(s, sorted(m for m in ('numpy', 'taonet.kernel.node', 'taonet.kernel.wire._axon') "
            "if m in sys.modules))")
    for args in (["wallet", "balance", "--ss58", owner], ["subnet", "list", "--json"]):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
                             env=cli.env())
        assert out.stdout.splitlines()[-1] == "0 []", out


def test_the_faucet_refuses_a_chain_that_is_not_for_development(tmp_path: Path) -> None:
    """On a chain of its own (not the dev chain id), the faucet is refused: exit 3, one line, nothing sent."""
    config, _authority = dev_genesis(chain_id="my-chain")
    dump_genesis(config, tmp_path / "genesis.json")
    cmd = [TAONET_EXE, "node", "run", "--genesis", str(tmp_path / "genesis.json"), "--authority", "//Authority",
           "--block-time", "0.1", "--data-dir", str(tmp_path / "node"), "--rpc", "tcp://127.0.0.1:0", "--feed",
           "tcp://127.0.0.1:0", "--no-fsync", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        cli = Cli(wallets=tmp_path / "wallets", endpoint=read_addresses(proc)["rpc"])
        line = cli.fails(3, "wallet", "faucet", "--ss58", BOB)
        assert "no faucet on chain 'my-chain'" in line
        assert cli.ok("wallet", "balance", "--ss58", BOB, "--json").json["balances"][0]["free"] == 10**15
    finally:
        stop(proc)


def test_subnet_create_with_a_plugin_records_it_and_show_says_so(cli: Cli, owner: str) -> None:
    """`subnet create --plugin template` records the plugin as the subnet's identity (shown by `subnet show`); an
    unknown plugin is refused (exit 6, the installed ones named) before any lock is paid."""
    subnets = cli.ok("subnet", "list", "--json").json
    assert "template" in cli.fails(6, "subnet", "create", "-w", "owner", "-H", "owner", "--plugin", "nosuch", "-y")
    assert len(cli.ok("subnet", "list", "--json").json) == len(subnets)  # no lock paid, no subnet made
    doc = cli.ok("subnet", "create", "-w", "owner", "-H", "owner", "--plugin", "template", "--url",
                 "https://example.org/template", "-y", "--json").json
    netuid = doc["netuid"]
    assert doc["plugin"] == "template" and netuid > 1
    ident = cli.ok("subnet", "show", str(netuid), "--json").json["identity"]
    assert ident["plugin"] == "template" and ident["url"] == "https://example.org/template"
    assert ident["description"]  # the plugin's own one-line description
    table = cli.ok("subnet", "show", str(netuid)).stdout
    assert re.search(r"plugin\s+template", table)
    assert "(none recorded)" in cli.ok("subnet", "show", "1").stdout


def test_text_from_the_chain_is_shown_as_it_is_never_taken_as_markup(cli: Cli, owner: str) -> None:
    """A subnet identity anyone may set, whose description and URL hold rich markup (an unbalanced `[/]`, `[bold]`,
    `[y]`), is shown character for character by `subnet show` and by `replay DIR events`: it made both fail for every
    user (exit 1, MarkupError), and balanced tags were styled and hidden. Control characters in it (an escape
    sequence that would drive the reader's terminal) are never written raw: `replay events` writes them as \\xNN."""
    description, url = "desc [/] [bold]B[/bold] [red]R", "https://example.org/[y]"
    netuid = cli.ok("subnet", "create", "-w", "owner", "-H", "owner", "--plugin", "template", "--description",
                    description + "\x1b[2J\x07", "--url", url, "-y", "--json").json["netuid"]
    shown = cli.ok("subnet", "show", str(netuid), "--timeout", "30").stdout
    assert description in shown and url in shown and "\x1b" not in shown and "\x07" not in shown
    node_dir = cli.wallets.parent / "node"
    events = cli.ok("replay", str(node_dir), "events", "--type", "SubnetIdentitySet", COLUMNS="300").stdout
    assert description + "\\x1b[2J\\x07" in events and url in events and "\x1b" not in events


def test_every_table_verb_takes_wide_and_then_cuts_nothing(cli: Cli, owner: str) -> None:
    """`--wide` (documented for every verb) is taken by each verb that prints a table; at 80 columns `subnet hparams`
    cut its values and bounds ("4611686018427…"), with --wide they are whole."""
    for args in (("subnet", "list"), ("subnet", "show", "1"), ("weights", "show", "1"), ("weights", "pending", "1"),
                 ("node", "status")):
        cli.ok(*args, "--wide")
    wide = cli.ok("subnet", "hparams", "1", "--wide").stdout
    assert "…" not in wide and "18,446,744,073,709,551,615" in wide
    assert "…" in cli.ok("subnet", "hparams", "1").stdout  # the 80 columns cut without it
