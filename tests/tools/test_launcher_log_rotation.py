"""A launched child's log does not grow for ever (a QA soak measured ~230 MB a day for a 17-neuron network, never
rotated): past its size bound it is copied to NAME.log.1 and emptied while the child keeps writing; the child's
writes land at the new end (the log is opened in append mode: no hole of zeros), and readers of the log by offset
start again from its beginning."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest

from taonet.tools.launcher._procs import Child, lines_from, rotate_log, stop_children

pytestmark = pytest.mark.anyio

_WRITER = "import sys, time\nfor i in range(100000):\n    print(f'line {i:06d}', flush=True)\n    time.sleep(0.001)\n"


async def test_a_log_past_its_bound_is_rotated_while_its_child_writes_on(tmp_path: Path) -> None:
    child = Child(name="writer", kind="node", args=[sys.executable, "-c", _WRITER],
                  log=tmp_path / "logs" / "writer.log")
    await child.start()
    try:
        with anyio.fail_after(20):
            while child.log.stat().st_size < 20_000:
                await anyio.sleep(0.02)
        assert not rotate_log(child, max_bytes=10**9) and child.log_start == 0  # under the bound: left alone
        child.log_start = 123  # a reader's offset into this run's part
        offset = child.log.stat().st_size
        assert rotate_log(child, max_bytes=10_000)
        assert child.log_start == 0
        old = child.log.with_name("writer.log.1").read_bytes()
        assert old.startswith(b"--- launcher ") and len(old) >= 20_000
        deadline = time.monotonic() + 20
        while child.log.stat().st_size < 2_000:
            assert time.monotonic() < deadline
            await anyio.sleep(0.02)
        now = child.log.read_bytes()
        assert b"\0" not in now and len(now) < offset  # written at the new end, not at the old offset
        last_old = int(old.splitlines()[-1].split()[1])
        first_new = int(now.splitlines()[0].split()[1])
        assert first_new > last_old  # the child went on: nothing written twice (a few lines may be lost)
        text, _ = lines_from(child.log, offset)  # an offset past the rotated log's end reads from its start
        assert text.startswith(now.splitlines()[0].decode())
    finally:
        await stop_children([child], 5)
