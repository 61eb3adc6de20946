"""`taonet replay`'s command line, driven as a user drives it on a small log: exit statuses as docs/cli.md's table
says, conflicting options refused, hints that name the user's directory, tables that stream and widen, and the
docs' list of event types."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from tests.ledger.chains import BOB, pruning_chain
from tests.tools.processes import TAONET_EXE, taonet

DOCS = Path(__file__).resolve().parents[2] / "docs" / "replay.md"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory (its name holds a space, as a user's may) whose log has 41 blocks: subnet 1 created in block
    1, stakes, transfers, epochs and prunings."""
    root = tmp_path_factory.mktemp("replay checks")
    with FileStore(root / "chain", fsync=False) as store:
        pruning_chain(40, store)
    return root


def _replay(log: Path, *args: str, columns: int = 80) -> tuple[int, str, list[str]]:
    out, _ = taonet("replay", str(log), *args, timeout=60, env={"COLUMNS": str(columns)})
    return out.returncode, out.stdout, out.stderr.splitlines()


@pytest.mark.parametrize(("args", "option"), [
    (("show", "--netuid", "70000"), "--netuid"), (("why", "--netuid", "1", "--uid", "70000"), "--uid"),
    (("events", "--netuid", "70000", "--json"), "--netuid"), (("events", "--uid", "99999", "--json"), "--uid"),
    (("show", "--block", "-1"), "--block"), (("why", "--netuid", "1", "--uid", "-1"), "--uid"),
    (("events", "--from", "-1"), "--from"), (("diff", "--from", "-1", "--to", "3"), "--from"),
    (("what-if", "--netuid", "65536"), "--netuid")])
def test_a_number_no_chain_carries_is_a_usage_error(log: Path, args: tuple[str, ...], option: str) -> None:
    """A netuid or UID over 65535, a negative block or UID: exit 2 naming the option (show and why said exit 6,
    "block -1 does not exist"; events answered an empty list, exit 0)."""
    code, out, err = _replay(log, *args)
    assert code == 2 and len(err) == 1 and f"'{option}'" in err[0], (code, err)
    if "--json" in args:
        assert json.loads(out)["error"]["exit_status"] == 2


def test_events_of_a_uid_without_its_subnet_is_a_usage_error(log: Path) -> None:
    """`events --uid 1` without `--netuid`: exit 2 saying a UID needs its subnet (it listed the events of UID 1 of
    every subnet, though the help says "with --netuid")."""
    code, _, err = _replay(log, "events", "--uid", "1")
    assert code == 2 and len(err) == 1 and "--uid needs --netuid" in err[0], err
    code, out, err = _replay(log, "events", "--netuid", "1", "--uid", "1", "--json")
    assert code == 0 and json.loads(out)["events"], err


def test_a_block_beyond_the_head_is_not_found_in_events_as_in_show(log: Path) -> None:
    """`events --from 41` on a log whose head is 40: exit 6 saying the block does not exist (it said "--from 41 is
    after --to 40", exit 2, while `show --block 41` said exit 6); `--to` beyond the head too."""
    for args in (("events", "--from", "41"), ("events", "--to", "41"), ("show", "--block", "41")):
        code, _, err = _replay(log, *args)
        assert (code, err) == (6, ["error: block 41 does not exist: the chain's head is block 40; ask for a block "
                                   "in 0..40"]), args
    code, _, err = _replay(log, "events", "--from", "10", "--to", "5")
    assert code == 2 and "--from 10 is after --to 5" in err[0]


def test_events_of_a_subnet_that_never_existed_is_not_found(log: Path) -> None:
    """`events --netuid 99`: exit 6 naming the subnet and the range, as show, diff, why, what-if and plot do (it was
    an empty list, exit 0); a subnet that exists but has no such event is still an empty answer."""
    code, out, err = _replay(log, "events", "--netuid", "99", "--json")
    assert code == 6 and err[0].startswith("error: subnet 99 does not exist in blocks 0..40"), err
    assert json.loads(out)["error"]["code"] == "subnet_not_found"
    code, out, err = _replay(log, "events", "--netuid", "1", "--to", "0")  # subnet 1 is created in block 1
    assert code == 6 and err[0].startswith("error: subnet 1 does not exist at block 0"), err
    code, out, err = _replay(log, "events", "--netuid", "1", "--type", "AxonServed", "--json")
    assert code == 0 and json.loads(out)["events"] == [], err


@pytest.mark.parametrize(("args", "first", "second"), [
    (("show", "--address", BOB.ss58_address, "--wallet-name", "w"), "--address", "--wallet-name"),
    (("show", "--address", BOB.ss58_address, "--wallet-path", "/tmp"), "--address", "--wallet-path"),
    (("show", "--address", BOB.ss58_address, "--netuid", "1"), "--netuid", "--address"),
    (("show", "--wallet-name", "w", "--netuid", "1"), "--netuid", "--wallet-name"),
    (("what-if", "--netuid", "1", "--csv", "--json"), "--csv", "--json"),
])
def test_conflicting_options_are_refused_naming_both(log: Path, args: tuple[str, ...], first: str, second: str
                                                     ) -> None:
    """Options that cannot go together: exit 2, one line naming both (show --address ignored --wallet-name and
    --netuid; what-if --csv --json printed JSON)."""
    code, out, err = _replay(log, *args)
    assert code == 2 and len(err) == 1, (code, err)
    assert f"{first} and {second} cannot be given together" in err[0], err
    assert out == "" or json.loads(out)["error"]["exit_status"] == 2


def test_hints_name_the_directory_given_quoted_for_a_shell(log: Path) -> None:
    """`why` of a UID nobody held and a subnet that does not exist: the command to run next names the user's
    directory, quoted (it said a literal DIR; a subnet not found said nothing to do), and that command works."""
    quoted = shlex.quote(str(log))
    assert quoted != str(log)  # the directory's name holds a space
    code, _, err = _replay(log, "why", "--netuid", "1", "--uid", "99")
    assert code == 6 and len(err) == 1 and "DIR" not in err[0], err
    assert f"`taonet replay {quoted} events --netuid 1 --type NeuronRegistered` lists who registered" in err[0]
    for args, where in ((("show", "--netuid", "2"), "at block 40"), (("diff", "--from", "1", "--to", "5",
                                                                      "--netuid", "2"), "in blocks 1..5"),
                        (("why", "--netuid", "2", "--uid", "0"), "in blocks 0..40"),
                        (("what-if", "--netuid", "2"), "in blocks 0..40")):
        code, _, err = _replay(log, *args)
        assert err == [f"error: subnet 2 does not exist {where}: `taonet replay {quoted} events --type "
                       "SubnetCreated` lists the subnets and the block each was created in"], (args, err)
        assert code == 6
    hint = err[0].split("`")[1].split()
    out = subprocess.run([TAONET_EXE, *shlex.split(" ".join(hint[1:])), "--json"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and [e["fields"]["netuid"] for e in json.loads(out.stdout)["events"]] == [1]


def test_events_and_diff_tables_widen_and_diff_takes_rao(log: Path) -> None:
    """`events --wide` and `diff --wide` show whole addresses (they were cut to `5FRGoxL8Ls…` with no way to widen);
    `diff --rao` shows RAO; without --wide an events line fits 80 columns."""
    bob = BOB.ss58_address
    code, out, err = _replay(log, "events", "--coldkey", bob, "--type", "Transferred")
    assert code == 0 and bob not in out and f"{bob[:6]}…{bob[-6:]}" in out, err
    assert all(len(line) <= 80 for line in out.splitlines())
    code, out, err = _replay(log, "events", "--coldkey", bob, "--type", "Transferred", "--wide")
    rows = [line for line in out.splitlines() if "Transferred" in line]
    assert code == 0 and rows and all(f"dest={bob}" in line for line in rows), out
    doc = json.loads(_replay(log, "diff", "--from", "10", "--to", "20", "--json")[1])
    change = next(b for b in doc["balances"] if b["address"] == bob)["change"]
    code, out, err = _replay(log, "diff", "--from", "10", "--to", "20", "--wide", "--rao")
    assert code == 0 and bob in out and f"{change:+,}" in out and "τ" not in out, err
    code, out, err = _replay(log, "diff", "--from", "10", "--to", "20")
    assert code == 0 and bob not in out and "τ" in out, err


def test_the_events_table_is_written_as_it_is_read() -> None:
    """The table is written a chunk at a time: rows read before a failure (or a reader gone) are already out, the
    rest never held in memory (it built one rich Table of every row, then printed it: 65 s and 600 MB for 98,258
    events, `| head -3` as slow)."""
    import sys

    from taonet.ledger import EmissionAccrued
    from taonet.tools.cli._replay import _print_events
    from taonet.tools.replay import EventRow

    def rows():  # type: ignore[no-untyped-def]
        for n in range(300):
            yield EventRow(block=n, phase=-1, call=None, event=EmissionAccrued(amount=n, subnets=1))
        raise RuntimeError("the log ends here")

    buffer, old = io.StringIO(), sys.stdout
    sys.stdout = buffer
    try:
        with pytest.raises(RuntimeError):
            _print_events(0, 299, rows(), wide=False, chunk=256)
    finally:
        sys.stdout = old
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "events of blocks 0..299" and lines[1].split() == ["BLOCK", "PHASE", "CALL", "EVENT",
                                                                          "FIELDS"]
    assert len(lines) == 3 + 256 and lines[-1].split() == ["255", "-1", "EmissionAccrued", "amount=255,", "subnets=1"]


def test_events_to_a_reader_that_stops_ends_quietly(log: Path) -> None:
    """`events | head -1`: status 0, nothing on stderr, the first line the table's title."""
    proc = subprocess.Popen([TAONET_EXE, "replay", str(log), "events"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and err == "" and first == "events of blocks 0..40\n"


def test_the_docs_list_every_event_type(log: Path) -> None:
    """docs/replay.md's list of event types is the list `events --type` refuses a wrong type with (it lacked
    CommitmentSet, SubnetIdentitySet, WeightCommitExpired, WeightsCommitted, WeightsRevealed)."""
    code, _, err = _replay(log, "events", "--type", "Nonsense")
    assert code == 2
    told = set(err[0].split("the types are ", 1)[1].split(" (see")[0].split(", "))
    text = " ".join(DOCS.read_text().split())
    documented = re.search(r"The event types: (.*?)\. \(", text)
    assert documented is not None
    assert set(re.findall(r"`(\w+)`", documented.group(1))) == told


def test_an_epoch_is_named_by_the_block_before_the_one_that_pays_it(log: Path) -> None:
    """docs/replay.md's mapping: the launcher prints the block holding the EpochCompleted event; replay (diff, why,
    the event's own `block` field) names the block before it."""
    code, out, _ = _replay(log, "events", "--type", "EpochCompleted", "--json")
    epochs = json.loads(out)["events"]
    assert code == 0 and epochs and all(e["fields"]["block"] == e["block"] - 1 for e in epochs)
    first = epochs[0]
    doc = json.loads(_replay(log, "diff", "--from", str(first["block"] - 1), "--to", str(first["block"]), "--json")[1])
    assert [e["block"] for e in doc["subnets"][0]["epochs"]] == [first["block"] - 1]


def test_events_json_is_one_object_written_whole_in_bounded_memory(log: Path) -> None:
    """`events --json` streams its rows through a spooled file (a long range is never one list in memory) and writes
    exactly the bytes of ``json.dumps`` of the whole object; every event of the table is in it, in order."""
    code, out, err = _replay(log, "events", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert out == json.dumps(doc) + "\n" and (doc["from"], doc["to"]) == (0, 40)
    _, table, _ = _replay(log, "events", "--wide")
    assert len(doc["events"]) > 100 and f"{len(doc['events']):,} events in blocks 0..40" in table
    assert [e["block"] for e in doc["events"]] == sorted(e["block"] for e in doc["events"])
