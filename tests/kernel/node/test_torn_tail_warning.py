"""A torn tail cut when the node opens its log (the unfinished block a crash mid-write leaves) is a warning naming
the bytes cut and the segment, seen under ``--log-level warning`` (a localnet's level), not an info line only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from .nodes import TAONET, read_addresses, running_node, stop

pytestmark = pytest.mark.anyio

TORN = 300


def _tear(data: Path) -> Path:
    """Append ``TORN`` bytes of an unfinished record to the last segment of ``data``'s log; its path."""
    segment = sorted((data / "chain" / "blocks").glob("*.seg"))[-1]
    with open(segment, "ab") as f:
        f.write(b"\x00\x10\x00\x00" + b"\x5a" * (TORN - 4))  # a frame that announces more than follows
    return segment


async def test_a_torn_tail_cut_at_opening_is_a_warning_with_the_bytes_and_the_segment(tmp_path: Path) -> None:
    data = tmp_path / "node"
    async with running_node(data) as (_node, sub):
        await sub.wait_for_block(3, timeout=20)
    segment = _tear(data)
    with capture_logs() as logs:
        async with running_node(data) as (node, _sub):
            assert node.state is not None
            head = node.state.height
    said = [e for e in logs if e["event"] == "node.torn_tail_cut"]
    assert len(said) == 1 and said[0]["log_level"] == "warning", logs
    assert said[0]["bytes"] == TORN and said[0]["segment"] == str(segment) and said[0]["after_block"] == head, said
    assert "crash" in said[0]["note"], said


@pytest.mark.slow
def test_the_warning_shows_under_log_level_warning(tmp_path: Path) -> None:
    data = tmp_path / "node"
    cmd = [*TAONET, "node", "run", "--dev", "--block-time", "0.1", "--data-dir", str(data), "--rpc",
           "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--no-fsync", "--log-level", "warning"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        read_addresses(first)
    finally:
        stop(first)
    segment = _tear(data)
    again = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_addresses(again)
    finally:
        stop(again)
        assert again.stderr is not None
        err = again.stderr.read()
        again.stderr.close()
    said = [json.loads(line) for line in err.splitlines() if "torn_tail_cut" in line]  # one JSON object a line
    assert len(said) == 1 and said[0]["level"] == "warning", err[-2000:]
    assert said[0]["bytes"] == TORN and said[0]["segment"] == str(segment), said
