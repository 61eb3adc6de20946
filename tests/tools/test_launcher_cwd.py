"""The launcher's children run `taonet` with ``python -P -m taonet.tools``: the folder the user starts it from is not
put first on ``sys.path``, where a subnet author's project folder or a module of theirs named like a dependency would
be imported instead of the installed package (every neuron host of a localnet crashed, and the localnet still said
it was done)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from taonet.tools.launcher._run import TAONET


def test_the_launchers_command_ignores_modules_in_the_current_folder(tmp_path: Path) -> None:
    """From a folder holding a `numpy.py` and a `structlog/` package (each notes that it was imported, then fails),
    the command the launcher starts its children with lists the installed subnet plugins (exit 0, its JSON) and
    imports neither; plain `python -m taonet.tools` there imports them and fails, so the folder is the trap the test
    says it is."""
    (tmp_path / "numpy.py").write_text('open("imported", "a").write("numpy.py")\nraise ImportError("a trap")\n')
    (tmp_path / "structlog").mkdir()
    (tmp_path / "structlog" / "__init__.py").write_text('open("imported", "a").write("structlog/")\n'
                                                        'raise ImportError("a trap")\n')
    args = ["subnet", "plugins", "--json"]
    ran = subprocess.run([*TAONET, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "template" in {p["name"] for p in json.loads(ran.stdout)["plugins"]}
    assert not (tmp_path / "imported").exists()
    trap = subprocess.run([TAONET[0], "-m", "taonet.tools", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert trap.returncode != 0 and (tmp_path / "imported").exists()


def test_a_crashed_childs_line_says_why_from_its_log() -> None:
    """A child that ended by its own error (a host whose plugin does not load: exit 7) is said with its last
    `error:` line, so the localnet's own output says why every miner went unpaid (it said only the exit status)."""
    from taonet.tools.launcher._run import _last_error

    log = ('{"event": "host.starting", "level": "info"}\n'
           "error: an earlier run's line\n"
           '{"event": "neuron.crashed", "level": "warning"}\n'
           "error: subnet plugin 'myplug' does not implement the required hook(s) reward\n"
           '{"event": "exit", "level": "info"}\n')
    assert _last_error(log) == "error: subnet plugin 'myplug' does not implement the required hook(s) reward"
    assert _last_error('{"event": "block.sealed"}\n') == ""
