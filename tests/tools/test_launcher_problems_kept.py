"""Every problem the launcher's view counted but did not say (past the 5 it says at a time) is kept for
`taonet launch status`: six neurons failing at once showed only five there, the sixth's error nowhere."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from taonet.tools.launcher import Network, View, localnet_spec

from .processes import taonet


def test_a_sixth_problem_said_at_once_is_in_launch_status_and_its_json(tmp_path: Path) -> None:
    """Six new problems at once: the view says five and `... and 1 more` naming `taonet launch status`; launch.json
    keeps all six, so `taonet launch status --dir DIR` prints the sixth's line and its --json lists it."""
    out = io.StringIO()
    net = Network(spec=localnet_spec(miners=6, validators=1), dir=tmp_path, view=View(Console(file=out), live=False))
    net._say_problems([(f"miner-1-{i}", f"plugin.miner_forward: ValueError: broken {i}") for i in range(6)])
    net.write_status()
    said = [x for x in out.getvalue().splitlines() if x.startswith("problem: ")]
    assert len(said) == 6 and said[-1].startswith("problem: ... and 1 more (taonet launch status --dir "), said
    shown, _ = taonet("launch", "status", "--dir", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "problem: miner-1-5: plugin.miner_forward: ValueError: broken 5" in shown.stdout.splitlines(), shown.stdout
    assert sum(x.startswith("problem: ") for x in shown.stdout.splitlines()) == 6, shown.stdout
    shown, _ = taonet("launch", "status", "--dir", str(tmp_path), "--json")
    assert json.loads(shown.stdout)["problems"][-1] == "miner-1-5: plugin.miner_forward: ValueError: broken 5"
