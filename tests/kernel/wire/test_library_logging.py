"""taonet's library code logs quietly in a program that did not configure structlog, and fully in one that did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from structlog.testing import capture_logs

from taonet.kernel.wire import get_logger

SCRIPT = """
import anyio
from taonet.kernel.wire import AxonInfo, Dendrite, Synapse, Wallet, get_logger

class Echo(Synapse):
    x: int = 0

async def main():
    w = Wallet("quiet", "default", path={path!r})
    w.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False)
    async with Dendrite(w) as d:  # nothing listens on port 1: the dendrite logs its failure at debug level
        r = await d.call(AxonInfo(ip="127.0.0.1", port=1, hotkey=w.hotkey.ss58_address), Echo(x=1), timeout=0.3)
    print("status", int(r.dendrite.status_code))
    log = get_logger("user.script").bind(step=1)
    log.info("not.shown")
    log.warning("shown.on.stderr")

anyio.run(main)
"""


def test_a_script_that_did_not_configure_structlog_gets_only_its_own_output_on_stdout(tmp_path: Path) -> None:
    """A Dendrite's debug line used to land in the script's stdout; now only warnings and errors show, on stderr."""
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(path=str(tmp_path / "wallets"))], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["status 503"]
    assert "dendrite.failed" not in out.stderr and "not.shown" not in out.stderr
    assert "shown.on.stderr" in out.stderr and "step=1" in out.stderr


def test_once_structlog_is_configured_every_level_reaches_it_with_the_bound_context() -> None:
    """A logger made (and bound) before the program configured structlog follows that configuration."""
    log = get_logger("taonet.test", actor="a").bind(uid=3)
    with capture_logs() as logs:
        log.debug("seen.debug", n=1)
        log.info("seen.info")
    assert [(e["event"], e["log_level"], e["actor"], e["uid"]) for e in logs] == [
        ("seen.debug", "debug", "a", 3), ("seen.info", "info", "a", 3)]
    assert logs[0]["n"] == 1


FAILING_FORWARD = """
import anyio
from taonet.kernel.wire import Axon, Dendrite, Synapse, Wallet

class Echo(Synapse):
    x: int = 0

def forward(syn: Echo) -> Echo:
    secret_local = b"request bytes " * 64
    raise ValueError("the forward failed")

async def main():
    w = Wallet("quiet", "default", path={path!r})
    w.create_if_non_existent(coldkey_use_password=False, hotkey_use_password=False)
    async with Axon(w, "tcp://127.0.0.1:0").attach(forward) as axon, Dendrite(w) as d:
        r = await d.call(axon, Echo(x=1), timeout=10)
    print("status", int(r.dendrite.status_code))

anyio.run(main)
"""


def test_a_failing_forward_in_a_plain_script_logs_a_plain_traceback(tmp_path: Path) -> None:
    """An axon whose forward raises, in a script that did not configure structlog: one `axon.forward_failed` line
    and a plain traceback on stderr (structlog's default drew it with rich, every frame's locals shown: the request's
    bytes, and ~0.5-0.9 s of the event loop per failure, measured by a QA pass)."""
    out = subprocess.run([sys.executable, "-c", FAILING_FORWARD.format(path=str(tmp_path / "wallets"))],
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["status 500"]
    assert "axon.forward_failed" in out.stderr and "Traceback (most recent call last):" in out.stderr
    assert "ValueError: the forward failed" in out.stderr
    assert "locals" not in out.stderr and "secret_local" not in out.stderr and "╭" not in out.stderr
