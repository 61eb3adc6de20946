"""`taonet replay DIR journal` (the installed executable) says the blocks its steps were in (it said
`in blocks 0..end`), and `-` for the latency of a miner that never answered (it said `0.000 s`, as if instant)."""

from __future__ import annotations

import json
from pathlib import Path

from taonet.plugins import Journal
from tests.tools.processes import taonet

VALIDATOR = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
ANSWERS, SILENT = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"


def test_the_blocks_journaled_and_no_latency_for_a_miner_that_never_answered(tmp_path: Path) -> None:
    """Steps in blocks 12..14: `3 steps journaled in blocks 12..14`; with --from 13, `blocks 13..14`; the miner whose
    calls all timed out (408) has LATENCY `-` (and null in --json), the one that answered its mean."""
    journal = Journal(tmp_path / "state" / "v0" / "journal", {"plugin": "template", "netuid": 1,
                                                              "hotkey": VALIDATOR}).open()
    for step, block in enumerate((12, 13, 14)):
        journal.append({"step": step, "block": block, "task": {"truth": 2}, "scores": {ANSWERS: 1.0, SILENT: 0.0},
                        "responses": [{"uid": 1, "hotkey": ANSWERS, "status": 200, "latency": 0.25, "data": 2},
                                      {"uid": 2, "hotkey": SILENT, "status": 408, "latency": 0.0, "data": None}]})
    journal.close()
    out, _ = taonet("replay", str(tmp_path), "journal", "--netuid", "1", "--wide", env={"COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"validator {VALIDATOR}: 3 steps journaled in blocks 12..14 ("), lines[0]
    rows = {line.split()[0]: line.split() for line in lines if line.split()[:1] in (["1"], ["2"])}
    assert rows["1"][5:7] == ["0.250", "s"] and rows["2"][5] == "-", rows
    out, _ = taonet("replay", str(tmp_path), "journal", "--netuid", "1", "--from", "13")
    assert "2 steps journaled in blocks 13..14 (" in out.stdout.splitlines()[0], out.stdout
    out, _ = taonet("replay", str(tmp_path), "journal", "--netuid", "1", "--from", "20")
    assert "0 steps journaled in block 20 on (" in out.stdout.splitlines()[0], out.stdout
    doc = json.loads(taonet("replay", str(tmp_path), "journal", "--netuid", "1", "--json")[0].stdout)
    latency = {m["uid"]: m["mean_latency"] for m in doc["validators"][0]["miners"]}
    assert latency == {1: 0.25, 2: None}, latency
