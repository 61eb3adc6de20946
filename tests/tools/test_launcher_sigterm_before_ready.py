"""A real `taonet localnet` stopped by a signal before it printed `ready:` (docs/launcher.md): SIGTERM (what `timeout`
and service managers send) is exit 143 and says "terminated (SIGTERM)"; Ctrl-C stays exit 130, "interrupted"."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from .processes import TAONET_EXE, read_until
from .test_launcher import _end, _pids_under

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("sig", "status", "how"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                    (signal.SIGINT, 130, "interrupted")])
def test_localnet_stopped_during_its_setup_says_which_signal(tmp_path: Path, sig: signal.Signals, status: int,
                                                             how: str) -> None:
    """The signal once the node has said its `rpc:` line (1 s blocks: the setup takes several more seconds): every
    process stopped, one error line naming the signal's stop and the command that starts the network again."""
    net = tmp_path / "net"
    env = {**{k: v for k, v in os.environ.items() if k != "TAONET_ENDPOINT"}, "HOME": str(tmp_path),
           "COLUMNS": "200"}
    proc = subprocess.Popen([TAONET_EXE, "localnet", "--keep", str(net), "--lines", "--block-time", "1",
                             "--validators", "1", "--miners", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, preexec_fn=_default_signals)
    try:
        seen = read_until(proc, lambda ls: any(x.startswith("rpc: ") for x in ls), 60)
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=30)
    finally:
        _end(proc)
    lines = seen + rest.splitlines()
    assert not [x for x in lines if x.startswith("ready:")], lines  # stopped before it was ready
    assert proc.returncode == status, lines
    errors = [x for x in lines if x.startswith("error: ")]
    again = f"taonet localnet --validators 1 --miners 1 --block-time 1.0 --keep {net}"
    assert errors == [f"error: {how}: the network was stopped during its setup, before it was ready; every process "
                      f"is stopped and what was set up is kept in {net}; start it again with `{again}`"], lines
    assert _pids_under(net) == []


def _default_signals() -> None:
    """In the child before `taonet` starts: SIGINT and SIGTERM as a shell leaves them (a test worker may ignore)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
