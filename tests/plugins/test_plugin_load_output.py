"""What a plugin prints while it loads is held until its load ends (so that a plugin exiting at import is one line,
not argparse's usage of taonet's command line first); what the process's other threads print meanwhile (a host's
running neurons) is written at once, not held behind the load."""

from __future__ import annotations

import io
import sys
import threading
import time
from pathlib import Path

import pytest

from taonet.plugins import load_plugin

from .dists import FULL_PLUGIN, install

SLOW_AND_CHATTY = '''
import time
print("from the plugin")
time.sleep(1.0)
''' + FULL_PLUGIN


def test_only_the_loading_threads_output_is_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, "slowchat-subnet", "slowchat", SLOW_AND_CHATTY)
    monkeypatch.syspath_prepend(str(tmp_path))
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    during: list[str] = []

    def other() -> None:  # another part of the process, printing while the plugin loads
        time.sleep(0.3)
        print("from another thread")
        time.sleep(0.2)
        during.append(stream.getvalue())

    t = threading.Thread(target=other)
    t.start()
    plugin = load_plugin("slowchat", timeout=30)
    t.join(10)
    assert plugin.name == "slowchat"
    assert during == ["from another thread\n"]  # written at once; the plugin's line was still held
    assert stream.getvalue() == "from another thread\nfrom the plugin\n"  # then written once its load ended
    assert sys.stdout is stream  # the process's stream given back
