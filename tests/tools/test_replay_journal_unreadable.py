"""`taonet replay DIR journal` (the installed executable) beside a damaged journal: the readable journals are shown
and each one that cannot be read is a `note:` on stderr naming its segment, not taken for "no journal here"."""

from __future__ import annotations

from pathlib import Path

from taonet.plugins import Journal
from tests.tools.processes import taonet

GOOD = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def test_a_damaged_journal_is_said_by_its_path(tmp_path: Path) -> None:
    Journal(tmp_path / "state" / "v0" / "journal", {"plugin": "template", "netuid": 1, "hotkey": GOOD}).open().close()
    not_cbor = tmp_path / "state" / "v1" / "journal" / "journal-00000001.cbor"
    empty = tmp_path / "state" / "v2" / "journal" / "journal-00000001.cbor"
    for path in (not_cbor, empty):
        path.parent.mkdir(parents=True)
    not_cbor.write_bytes((8).to_bytes(4, "big") + b"\xff" * 8)
    empty.write_bytes(b"")
    out, _ = taonet("replay", str(tmp_path), "journal", "--netuid", "1", "--json", timeout=60)
    assert out.returncode == 0 and GOOD in out.stdout, out.stderr
    notes = [line for line in out.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 2, out.stderr
    assert f"note: {not_cbor} not read: its header is not valid CBOR" in notes[0] + notes[1], notes
    assert f"note: {empty} not read: its first frame's length (0 bytes)" in notes[0] + notes[1], notes
    # the damaged journal named alone: still no journal (exit 7), and now why
    out, _ = taonet("replay", str(tmp_path), "journal", "--netuid", "1", "--journal", str(not_cbor.parent),
                    timeout=60)
    assert out.returncode == 7 and "no validator journal for subnet 1" in out.stderr, out.stderr
    assert f"note: {not_cbor} not read" in out.stderr, out.stderr
