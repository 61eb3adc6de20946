"""What a QA pass (a miner who keeps getting deregistered) found, through the installed `taonet` against a dev node
(docs/cli.md): `wallet overview` counted no stake on hotkeys pruned from every subnet and said "no neurons yet";
`subnet metagraph` showed no registration block or immunity; `subnet register` did not say whom it replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

from .cli import Cli, Run
from .processes import taonet_node

pytestmark = pytest.mark.slow

IMMUNITY = 1000
"""The immunity period while the miners are pruned: every neuron immune, so the rule runs over the immune ones (no
stake, no weights: every emission 0, and the earliest registration goes first)."""

NARROW = ["UID", "STAKE(τ)", "INCENTIVE", "DIVIDENDS", "EMISSION(ρ)", "VPERMIT", "HOTKEY_SS58"]  # noqa: RUF001
"""The metagraph's columns at 80 columns, as they were."""


@attrs.frozen
class Net:
    """The dev node's CLI, the hotkeys' addresses by name, the two registrations that pruned the miners, and the
    block at which every neuron was still immune."""

    cli: Cli
    address: dict[str, str]
    o0: Run
    o1: Run
    immune_block: int


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """Subnet 1 (owner "owner", 3 UIDs, one validator permit): wallet "miners" registers m0 (UID 1) and m1 (UID 2)
    and stakes τ10 and τ20 on them; wallet "others" registers o0 and o1, which prune m0 then m1; then the immunity
    period drops to 0 (every neuron but the owner's may be pruned)."""
    root = tmp_path_factory.mktemp("pruned")
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        c = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        for wallet, hotkeys in (("owner", ("owner",)), ("miners", ("m0", "m1")), ("others", ("o0", "o1"))):
            for h in hotkeys:
                c.ok("wallet", "create", "-w", wallet, "-H", h)
            c.ok("wallet", "faucet", "-w", wallet, "--amount", "1000")
        c.ok("subnet", "create", "-w", "owner", "-H", "owner", "-y")
        for param, value in (("max_allowed_validators", 1), ("max_allowed_uids", 3), ("immunity_period", IMMUNITY)):
            c.ok("subnet", "set", "1", "--param", param, "--value", str(value), "-w", "owner", "-y")
        c.ok("stake", "add", "-w", "owner", "-H", "owner", "--amount", "100", "-y")  # the one validator permit
        for h, amount in (("m0", "10"), ("m1", "20")):
            c.ok("subnet", "register", "1", "-w", "miners", "-H", h, "-y")
            c.ok("stake", "add", "-w", "miners", "-H", h, "--amount", amount, "-y")
        address = {k["name"]: k["ss58"] for w in ("owner", "miners", "others")
                   for k in c.ok("wallet", "inspect", "-w", w, "--json").json["hotkeys"]}
        o0 = c.ok("subnet", "register", "1", "-w", "others", "-H", "o0", "-y")
        o1 = c.ok("subnet", "register", "1", "-w", "others", "-H", "o1", "-y", "--json")
        immune_block = c.ok("node", "status", "--json").json["head"]
        c.ok("subnet", "set", "1", "--param", "immunity_period", "--value", "0", "-w", "owner", "-y")
        yield Net(c, address, o0, o1, immune_block)


def _table(stdout: str, header_word: str) -> list[list[str]]:
    """The header and rows of the table whose header holds ``header_word``, split on spaces."""
    lines = stdout.splitlines()
    start = next(i for i, x in enumerate(lines) if header_word in x.split())
    rows = []
    for x in lines[start + 2:]:
        if not x.strip():
            break
        rows.append(x.split())
    return [lines[start].split(), *rows]


def test_register_says_whom_it_pruned(net: Net) -> None:
    """A registration into the full subnet says the hotkey it replaced, from the receipt's NeuronReplaced event; it
    said only `registered … as UID 1`."""
    said = net.o0.stdout.strip()
    assert said.startswith(f"registered {net.address['o0']} on subnet 1 as UID 1, replacing {net.address['m0']} "
                           "(pruned): included in block "), said
    doc = net.o1.json
    assert (doc["uid"], doc["replaced"]) == (2, net.address["m1"]), doc
    # a free UID replaces no one: no "replacing", no key
    net.cli.ok("wallet", "new-hotkey", "-w", "others", "-H", "spare")
    net.cli.ok("subnet", "create", "-w", "owner", "-H", "owner", "-y")
    free = net.cli.ok("subnet", "register", "2", "-w", "others", "-H", "spare", "-y", "--json").json
    assert free["uid"] == 1 and "replaced" not in free, free


def test_overview_counts_the_stake_of_pruned_hotkeys(net: Net) -> None:
    """Both of the wallet's hotkeys pruned, their stake kept: the overview's `staked` is what `stake list` totals
    (it was τ0), a table shows the hotkeys registered nowhere with their stake and the command that takes it back,
    and it says "no neurons", not "no neurons yet"."""
    total = net.cli.ok("stake", "list", "-w", "miners", "--json").json["total"]
    assert total == 30 * 10**9
    view = net.cli.ok("wallet", "overview", "-w", "miners", "--json").json
    assert view["stake"] == total and view["subnets"] == [], view
    assert view["unregistered_stake"] == [
        {"hotkey": net.address["m1"], "hotkey_name": "m1", "stake": 20 * 10**9},
        {"hotkey": net.address["m0"], "hotkey_name": "m0", "stake": 10 * 10**9}], view
    text = net.cli.ok("wallet", "overview", "-w", "miners").stdout
    assert "staked τ30.0000" in text and "no neurons yet" not in text, text
    assert "no neurons: taonet subnet register" in text, text
    assert "not registered on any subnet: τ30.0000 of stake earning nothing" in text, text
    table = _table(text, "HOTKEY_SS58")
    assert [r[0] for r in table[1:]] == ["m1", "m0"] and table[1][-1] == "τ20.0000", table
    assert "taonet stake remove -w miners -H m1 --all takes it back" in text, text
    assert all(len(x) <= 80 for x in text.splitlines() if "─" in x or "τ" in x), text
    # a wallet whose hotkeys all hold UIDs shows no such table
    others = net.cli.ok("wallet", "overview", "-w", "others", "--json").json
    assert others["unregistered_stake"] == [] and others["subnets"], others


def test_metagraph_shows_registration_and_immunity(net: Net) -> None:
    """`subnet metagraph` shows each neuron's registration block and the blocks it stays immune (`owner` for the
    owner's UID, empty once it may be pruned): in `--wide` (the 80-column table keeps its columns) and in `--json`,
    added to the keys it had."""
    m = net.cli.ok("subnet", "metagraph", "1", "--json").json
    regs = {n["hotkey"]: n["registered_at"] for n in m["neurons"]}
    assert m["immunity_period"] == 0
    for n in m["neurons"]:
        assert {"uid", "stake", "emission", "updated", "last_update", "axon"} <= set(n), n
        owner = n["hotkey"] == net.address["owner"]
        assert (n["owner"], n["immune"]) == (owner, owner), n
        assert n["immune_until"] == (None if owner else n["registered_at"]), n
    assert 0 < regs[net.address["o0"]] < regs[net.address["o1"]] <= net.immune_block
    assert _table(net.cli.ok("subnet", "metagraph", "1").stdout, "UID")[0] == NARROW
    wide = _table(net.cli.ok("subnet", "metagraph", "1", "--wide").stdout, "UID")
    head = wide[0]
    assert head[head.index("UID") + 1:head.index("UID") + 3] == ["REGISTERED", "IMMUNE"], head
    cells = {r[-1]: r[head.index("UID"):head.index("UID") + 3] for r in wide[1:]}
    assert cells[net.address["owner"]][2] == "owner", cells
    assert cells[net.address["o0"]][1] == str(regs[net.address["o0"]]), cells
    # at a block while the immunity period was IMMUNITY: every neuron immune, the blocks left shown
    b = net.immune_block
    past: dict[str, Any] = net.cli.ok("metagraph", "1", "--block", str(b), "--json").json
    assert past["immunity_period"] == IMMUNITY
    o1 = next(n for n in past["neurons"] if n["hotkey"] == net.address["o1"])
    assert (o1["immune"], o1["immune_until"]) == (True, o1["registered_at"] + IMMUNITY), o1
    wide = _table(net.cli.ok("metagraph", "1", "--block", str(b), "--wide").stdout, "UID")
    row = next(r for r in wide[1:] if r[-1] == net.address["o1"])
    i = wide[0].index("IMMUNE")
    assert row[i] == str(o1["registered_at"] + IMMUNITY - b), row


def test_metagraph_names_the_uid_a_registration_would_replace(net: Net) -> None:
    """A full subnet's metagraph names the UID the pruning rule takes next (`prune_next`, and a line under the
    table), and it is the UID the registrar then replaced: before each of the two registrations that pruned the
    miners, and now (immunity 0: the earliest registration of equal emission, o0 at UID 1)."""
    for run, uid in ((net.o0, 1), (net.o1, 2)):
        block = run.json["block"] if run is net.o1 else int(run.stdout.split("included in block ")[1].rstrip())
        before = net.cli.ok("metagraph", "1", "--block", str(block - 1), "--json").json
        assert before["prune_next"] == uid, (block, before)
    now = net.cli.ok("metagraph", "1", "--json").json
    assert now["prune_next"] == 1 and now["neurons"][1]["hotkey"] == net.address["o0"], now
    text = net.cli.ok("metagraph", "1").stdout
    assert (f"full (3 of 3 UIDs): a registration now replaces UID 1 ({net.address['o0']}, the lowest emission of "
            "those past their immunity period)") in " ".join(text.split()), text
    past = net.cli.ok("metagraph", "1", "--block", str(net.immune_block)).stdout
    assert "every neuron is immune: the lowest emission of the immune ones" in " ".join(past.split()), past
    # a subnet with a free UID replaces no one: subnet 1 when it was created, its owner alone
    created = now["neurons"][0]["registered_at"]
    alone = net.cli.ok("metagraph", "1", "--block", str(created), "--json").json
    assert len(alone["neurons"]) == 1 and alone["prune_next"] is None, alone
    assert "a registration now replaces" not in net.cli.ok("metagraph", "1", "--block", str(created)).stdout


def test_owner_refusals_say_the_value_that_works(net: Net) -> None:
    """What a QA pass (an owner changing a live subnet) found: shrinking max_allowed_uids below the UIDs in use
    pointed at `subnet hparams`, whose bounds say the value is fine; a weight setting refused for a stale version
    key said only "upgrade your validator", where the command's fix is --version-key. Both refusals change nothing."""
    c = net.cli
    line = c.fails(3, "subnet", "set", "1", "--param", "max_allowed_uids", "--value", "2", "-w", "owner", "-y")
    assert "max_allowed_uids cannot go below the 3 UIDs in use" in line and "give at least 3: a subnet never " \
        "drops UIDs to shrink" in line, line
    c.ok("subnet", "set", "1", "--param", "weights_version", "--value", "5", "-w", "owner", "-y")
    try:
        line = c.fails(3, "weights", "set", "1", "--uids", "1", "--weights", "1", "-w", "owner", "-H", "owner", "-y")
        assert "version key 0 is below the subnet's required 5" in line and "give --version-key 5 (or higher)" in line
    finally:
        c.ok("subnet", "set", "1", "--param", "weights_version", "--value", "0", "-w", "owner", "-y")
