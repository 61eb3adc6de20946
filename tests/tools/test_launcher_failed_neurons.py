"""The launcher says which neuron its host stopped for good, through the installed command: a neuron that fails
before it writes a status file (here: its state directory held by another process) showed only in its host's log
(`neuron.failed`); now the view says it (`problem:`), `ready:` does not wait for it, and `taonet launch status`
shows it after the run."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from .processes import TAONET_EXE, read_until, taonet

pytestmark = pytest.mark.slow


def test_a_neuron_whose_state_dir_another_process_holds_is_a_problem_line_and_in_launch_status(
        tmp_path: Path) -> None:
    """`taonet localnet --keep DIR` while another process holds miner-1-1's state directory (its lock): the view says
    `problem: miner-1-1: failed, not restarted: another neuron runs on ...` and `ready:` counts 2 of 3 neurons
    (it waited for ever for that neuron's status file); after Ctrl-C, `taonet launch status` prints the same line
    and its --json names the neuron under `failed`."""
    net = tmp_path / "net"
    held = net / "state" / "miner-1-1"
    held.mkdir(parents=True)
    env = {**os.environ, "HOME": str(tmp_path)}
    with open(held / "lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a stray `taonet miner run` would hold
        proc = subprocess.Popen([TAONET_EXE, "localnet", "--keep", str(net), "--lines", "--miners", "2",
                                 "--validators", "1", "--block-time", "0.1"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env)
        try:
            lines = read_until(proc, lambda ls: any(x.startswith("problem: miner-1-1: ") for x in ls)
                                and any(x.startswith("ready: ") for x in ls), 90)
            proc.send_signal(signal.SIGINT)
            proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    assert proc.returncode == 0
    problem = next(x for x in lines if x.startswith("problem: miner-1-1: "))
    assert problem.startswith(f"problem: miner-1-1: failed, not restarted: another neuron runs on {held}: stop it, "
                              "or give this one another --state-dir"), problem
    ready = next(x for x in lines if x.startswith("ready: "))
    assert ready.startswith("ready: 2 of 3 neurons run, 1 failed (the problem lines say why)"), ready
    assert len([x for x in lines if x.startswith("problem: miner-1-1: ")]) == 1  # said once
    out, _ = taonet("launch", "status", "--dir", str(net), env={"HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert problem in out.stdout.splitlines(), out.stdout
    out, _ = taonet("launch", "status", "--dir", str(net), "--json", env={"HOME": str(tmp_path)})
    st = json.loads(out.stdout)
    assert set(st["failed"]) == {"miner-1-1"} and "another neuron runs on" in st["failed"]["miner-1-1"]
