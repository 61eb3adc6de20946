"""`replay why` on immunity and margins, and `replay events --coldkey` on prunings, over a small chain sealed in-process
by the ledger's Chain: subnet 1 of 4 UIDs (the owner's, Bob's miners m0 and m1, Alice's validator v with 1,000 τ)
whose immunity period goes from 3 to 20 in block 12 (every UID registered before); then Charlie registers three
hotkeys in blocks 30..32, which prune UID 2 (m1, a near-tie with m0: 65534 against 65535), UID 1 (m0, the validator
the only other one past immunity) and UID 3 (the validator, the only one left past immunity)."""

from __future__ import annotations

import json
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from taonet.ledger import DEV_SUBNET_DEFAULTS, TAO, AddStake, BurnedRegister, FileStore, SetHyperparameter, SetWeights
from tests.ledger.chains import ALICE, BOB, CHARLIE, binding, chain_with_subnet, fund, hot
from tests.tools.processes import taonet

M0, M1, V = hot("m0"), hot("m1"), hot("v")
NEWCOMERS = [hot(f"new{k}") for k in range(3)]
HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, max_allowed_uids=4, immunity_period=3, tempo=4, weights_rate_limit=0,
                     max_allowed_validators=1, max_registrations_per_block=64)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain's log (45 blocks, a snapshot every 16)."""
    path = tmp_path_factory.mktemp("why-immunity") / "chain"
    with FileStore(path, fsync=False) as store:
        chain = chain_with_subnet(store, miners=2, hyper=HYPER, snapshot_every=16)  # m0 at UID 1, m1 at UID 2
        chain.call(ALICE, BurnedRegister(netuid=1, hotkey=V.public_key, hotkey_signature=binding(chain, V, ALICE),
                                         max_burn=10**18))
        fund(chain, [CHARLIE], 100 * TAO)
        chain.seal()
        chain.call(ALICE, AddStake(hotkey=V.public_key, amount=1000 * TAO))
        chain.seal()
        while chain.height < 45:
            number = chain.height + 1
            if number % 2 == 0:
                state = chain.state
                miners = [(u, w) for u, w in ((state.uid_of(1, M0.public_key), 65535),
                                              (state.uid_of(1, M1.public_key), 65534)) if u is not None]
                if state.uid_of(1, V.public_key) is not None and miners:
                    chain.call(V, SetWeights(netuid=1, uids=[0, *(u for u, _ in miners)],
                                             weights=[1000, *(w for _, w in miners)]))
            if number == 12:
                chain.call(ALICE, SetHyperparameter(netuid=1, name="immunity_period", value=20))
            if 30 <= number <= 32:
                h = NEWCOMERS[number - 30]
                chain.call(CHARLIE, BurnedRegister(netuid=1, hotkey=h.public_key,
                                                   hotkey_signature=binding(chain, h, CHARLIE), max_burn=10**18))
            chain.seal()
    return path


def run(log: Path, *args: str) -> str:
    out, _ = taonet("replay", str(log), *args, env={"COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def why(log: Path, uid: int, *args: str) -> list[dict[str, Any]]:
    return json.loads(run(log, "why", "--netuid", "1", "--uid", str(uid), "--json", *args))["tenures"]


def test_the_chain_prunes_as_the_story_says(log: Path) -> None:
    """The premise: UIDs 2, 1, 3 pruned in blocks 31, 32, 33, each old hotkey Bob's or Alice's, each newcomer
    Charlie's."""
    rows = json.loads(run(log, "events", "--type", "NeuronReplaced", "--json"))["events"]
    assert [(r["block"], r["fields"]["uid"], r["fields"]["old_hotkey"], r["fields"]["coldkey"]) for r in rows] == [
        (31, 2, M1.ss58_address, CHARLIE.ss58_address), (32, 1, M0.ss58_address, CHARLIE.ss58_address),
        (33, 3, V.ss58_address, CHARLIE.ss58_address)]


def test_immunity_is_the_period_the_pruning_used_whatever_the_first_block_read(log: Path) -> None:
    """m1 registered in block 4 with immunity 3, raised to 20 in block 12, pruned in block 31: its tenure says immune
    through 23 (until 24), as the pruning's table does, whether the reading starts at 0, before the change or after
    it (a snapshot at 16), and says the period changed; a tenure still open takes the period in force at --to."""
    for start in ("0", "8", "20"):
        t = why(log, 2, "--from", start)[0]
        assert t["hotkey"] == M1.ss58_address and t["registered_at"] == 4
        chosen = next(c for c in t["pruning"]["candidates"] if c["uid"] == 2)
        assert t["immune_until"] == 24 == chosen["immune_until"]
        assert (t["immune_through"], t["immunity_period"]) == (23, 20)
        assert chosen["immune_through"] == 23
        assert t["immunity_changes"] == [{"block": 12, "from": 3, "to": 20}]
    assert [(t["immune_until"], t["immunity_changes"]) for t in why(log, 2, "--to", "10")] == [(7, [])]
    assert [(t["immune_until"], t["immunity_changes"]) for t in why(log, 2, "--to", "20")] == [
        (24, [{"block": 12, "from": 3, "to": 20}])]
    newcomer = why(log, 2)[1]
    assert (newcomer["hotkey"], newcomer["immune_through"], newcomer["immunity_changes"]) == (
        NEWCOMERS[0].ss58_address, 50, [])


def test_immunity_is_said_as_the_last_immune_block_in_the_header_and_the_table(log: Path) -> None:
    """The rule keeps a neuron immune while block - registered < period: the text says "immune through" the last
    such block, in the header and the table's column, with the change of the period, and never "immune until"."""
    text = run(log, "why", "--netuid", "1", "--uid", "2", "--wide")
    assert ("immune through block 23 (immunity period 20 at its pruning; the period changed while it held the UID: "
            "3 → 20 in block 12)") in " ".join(text.split())
    assert "immune through block 50 (immunity period 20)\n" in text
    assert "IMMUNE THROUGH" in text and "until" not in text.lower()
    row = next(line for line in text.splitlines() if M1.ss58_address[:6] + "…" in line and "→" in line)
    assert row.split()[-1] == "23"


def test_the_only_one_past_immunity_is_said_so_and_nothing_but_immunity_would_have_saved_it(log: Path) -> None:
    """The validator (1,000 τ staked) was the only candidate past immunity in block 33: the reason says so, not that
    it had the lowest emission, and there is no margin; two of three past immunity are counted as such."""
    p = why(log, 3)[0]["pruning"]
    assert p["reason"] == ("it was the only one of the 3 candidates past its immunity period, so it was pruned "
                           "whatever its emission: only immunity would have saved it (stake does not count)")
    assert p["margin"] is None
    assert why(log, 1)[0]["pruning"]["reason"].startswith("2 of the 3 candidates were past their immunity period; "
                                                          "UID 1 had the lowest emission")
    assert why(log, 2)[0]["pruning"]["reason"].startswith("all 3 candidates were past their immunity period; ")


def test_the_reason_says_the_emission_it_needed_to_keep_its_uid(log: Path) -> None:
    """m1 lost to m0 by a few thousand RAO: the reason names m0's emission as the one to beat and the gap, exact in
    RAO; m0's own pruning names the validator's."""
    p = why(log, 2)[0]["pruning"]
    emission = {c["uid"]: c["emission"] for c in p["candidates"]}
    gap = emission[1] - emission[2]
    assert 0 < gap < 100_000
    assert p["margin"] == {"uid": 1, "hotkey": M0.ss58_address, "emission": emission[1], "gap": gap}
    assert p["reason"].endswith(f"; to keep its UID it needed more than {emission[1]:,} RAO (UID 1's emission, the "
                                f"next lowest past immunity): it had {gap:,} RAO less")
    m0 = why(log, 1)[0]["pruning"]
    assert m0["margin"]["uid"] == 3 and m0["margin"]["gap"] > 0


def test_a_near_tie_prints_with_the_digits_that_tell_it_apart(log: Path) -> None:
    """m1's and m0's emissions differ by less than τ0.0001 and print alike at 4 places: the pruning table shows the
    places that tell them apart (the same for the whole column)."""
    p = why(log, 2)[0]["pruning"]
    emission = {c["uid"]: c["emission"] for c in p["candidates"]}

    def cut(rao: int, places: int) -> str:
        return f"τ{Decimal(rao).scaleb(-9).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)}"

    assert cut(emission[1], 4) == cut(emission[2], 4)  # the premise: a near-tie
    text = run(log, "why", "--netuid", "1", "--uid", "2", "--wide")
    table = text[text.index("the pruning rule at block 31"):]
    cells = {uid: next(line for line in table.splitlines() if hk[:6] + "…" in line).split()[-3]
             for uid, hk in ((1, M0.ss58_address), (2, M1.ss58_address), (3, V.ss58_address))}
    assert cells[1] != cells[2]
    places = len(cells[1].split(".")[1])
    assert 4 < places <= 9 and cells == {u: cut(emission[u], places) for u in (1, 2, 3)}


def test_events_by_coldkey_finds_its_hotkeys_pruned_and_says_whose_coldkey_is_whose(log: Path) -> None:
    """`events --coldkey BOB --type NeuronReplaced` finds the prunings of Bob's hotkeys (the event names only the
    newcomer's coldkey, Charlie's); each row carries the pruned hotkey's owner (`old_coldkey` beside the unchanged
    fields in --json, after old_hotkey in the table, where the newcomer's coldkey is labelled), from a later snapshot
    (--to 31: the one at 32) or the state at --to (no snapshot above 45)."""
    def found(*args: str) -> list[tuple[int, str]]:
        rows = json.loads(run(log, "events", "--type", "NeuronReplaced", "--json", *args))["events"]
        for r in rows:
            assert list(r["fields"]) == ["netuid", "uid", "old_hotkey", "hotkey", "coldkey", "burned"]
        return [(r["block"], r.get("old_coldkey")) for r in rows]

    assert found("--coldkey", BOB.ss58_address) == [(31, BOB.ss58_address), (32, BOB.ss58_address)]
    assert found("--coldkey", BOB.ss58_address, "--to", "31") == [(31, BOB.ss58_address)]
    assert found("--coldkey", ALICE.ss58_address) == [(33, ALICE.ss58_address)]
    assert found("--coldkey", CHARLIE.ss58_address) == [
        (31, BOB.ss58_address), (32, BOB.ss58_address), (33, ALICE.ss58_address)]
    assert found() == [(31, None), (32, None), (33, None)]
    text = run(log, "events", "--type", "NeuronReplaced", "--coldkey", BOB.ss58_address, "--wide")
    line = next(x for x in text.splitlines() if x.lstrip().startswith("31 "))
    assert (f"old_hotkey={M1.ss58_address}, old_coldkey={BOB.ss58_address}, hotkey={NEWCOMERS[0].ss58_address}, "
            f"coldkey={CHARLIE.ss58_address} (the newcomer's), burned=") in line
    assert "(the newcomer's)" in run(log, "events", "--type", "NeuronReplaced", "--wide")
