"""The launcher waits for a child's line by reading only what the child wrote since it started, a bounded look at a
time: the log of earlier runs (kept across restarts, for days) is never read again, and a line written after more
than one look's worth of output is still found."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from taonet.tools.launcher._procs import LOG_LOOK, Child, read_line_in, stop_children

pytestmark = pytest.mark.anyio


async def test_the_wait_for_a_childs_line_skips_earlier_runs_and_finds_it_after_a_long_output(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    old = "--- launcher 2026-01-01T00:00:00Z starting: old\nrpc: tcp://old\n" + "old line\n" * (LOG_LOOK // 4)
    log.write_text(old)
    script = ("import sys, time\n"
              f"sys.stdout.write('output line\\n' * {2 * LOG_LOOK // 12})\n"
              "sys.stdout.flush(); time.sleep(0.3)\n"
              "print('rpc: tcp://new', flush=True); time.sleep(30)\n")
    child = Child(name="node", kind="node", args=[sys.executable, "-c", script], log=log, restart=False)
    try:
        await child.start()
        assert child.log_start == len(old)
        with anyio.fail_after(10):
            assert await read_line_in(log, "rpc", child, 10) == "tcp://new"
    finally:
        await stop_children([child], 2.0)
