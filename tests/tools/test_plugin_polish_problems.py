"""The launcher's `problem:` lines name the plugin of a hook that fails, through the installed `taonet launch`: they
named the hook (`plugin.neuron_block: ...`) and the plugin only through the neuron's name, which a network of
several plugins does not tell apart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ..plugins.dists import FULL_PLUGIN, install
from .processes import TAONET_EXE, taonet

pytestmark = pytest.mark.slow

FAILING_BLOCK = FULL_PLUGIN + '''

@hookimpl
def neuron_block(block):
    raise ValueError("the model is not loaded")
'''

NETWORK = """
[node]
block_time = 0.1
rpc = "tcp://127.0.0.1:0"

[[wallets]]
name = "owner"
uri = "//Alice"

[[subnets]]
netuid = 1
plugin = "blocky"
owner = "owner"
hyperparameters = { tempo = 10 }

[[neurons]]
name = "miner-a"
role = "miner"
plugin = "blocky"
netuid = 1
wallet = "miners"
hotkey = "m0"
"""


def test_a_hooks_problem_line_names_its_plugin(tmp_path: Path) -> None:
    """A miner whose neuron_block raises: `problem: miner-a: plugin.neuron_block (subnet plugin 'blocky'):
    ValueError: the model is not loaded (at taonet_blocky.py:N, in neuron_block)`, and `taonet launch status` shows the
    same line."""
    site = tmp_path / "site"
    install(site, "taonet-blocky", "blocky", FAILING_BLOCK)
    spec = tmp_path / "net.toml"
    spec.write_text(NETWORK)
    net = tmp_path / "net"
    env = {**os.environ, "HOME": str(tmp_path), "COLUMNS": "200",
           "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([TAONET_EXE, "launch", str(spec), "--dir", str(net), "--lines"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while not any(line.startswith("problem: miner-a: plugin.neuron_block") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            line = proc.stdout.readline()
            if line:
                lines.append(line.rstrip("\n"))
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        lines += rest.splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    problem = next(line for line in lines if line.startswith("problem: miner-a: plugin.neuron_block"))
    assert re.fullmatch(r"problem: miner-a: plugin\.neuron_block \(subnet plugin 'blocky'\): ValueError: the model is "
                        r"not loaded \(at taonet_blocky\.py:\d+, in neuron_block\)", problem), lines  # where it raised
    out, _ = taonet("launch", "status", "--dir", str(net), env={"HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert problem in out.stdout.splitlines(), out.stdout
