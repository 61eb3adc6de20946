"""The blocking client never keeps a process alive, and a client with no node behind it says so within seconds."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import anyio
import pytest

from taonet.kernel import Blocking, RpcClient, Subtensor, subtensor
from taonet.kernel.errors import BadAddress, NoNode, Unreachable

from ..node.nodes import Wallet, node_process
from .servers import free_address

EXIT_BOUND = 5.0
"""Seconds a script may take to exit after its last line (it exits in well under one; the margin is for load)."""


def _portal_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "taonet-blocking" and t.is_alive())


def run_script(code: str, endpoint: str, *, timeout: float = 60.0) -> tuple[int, str, str, float]:
    """Run ``code`` in a fresh interpreter against ``endpoint``; (exit code, stdout, stderr, seconds from the
    script's last printed line to the process's exit). The script prints ``LAST`` as its last line."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "TAONET_ENDPOINT": endpoint})
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip() == "LAST":
                break
        last_line_at = time.monotonic()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        exited_after = time.monotonic() - last_line_at
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            exited_after = float("inf")
        rest, err = proc.communicate(timeout=10)
        return proc.returncode, "".join(lines) + rest, err, exited_after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A dev node process with subnet 1, for this module's scripts."""
    with node_process(tmp_path_factory.mktemp("node"), block_time=0.25) as (_proc, addresses):
        with subtensor(addresses["rpc"], timeout=20) as sub:
            assert sub.create_subnet(Wallet("Alice")).success
        yield addresses["rpc"]


@pytest.mark.slow
def test_the_readme_snippet_runs_and_exits_after_its_last_line(endpoint: str) -> None:
    """The README's python block, as written (its "local" pointed at the test node), prints the head and ends."""
    (snippet,) = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert 'subtensor("local")' in snippet
    code, out, err, exited_after = run_script(snippet.replace('subtensor("local")', "subtensor()")
                                              + '\nprint("LAST", flush=True)\n', endpoint)
    assert code == 0, err
    assert int(out.split()[0]) > 0
    assert exited_after < EXIT_BOUND


def test_a_blocking_metagraph_loaded_from_a_file_is_still_blocking_and_syncs(endpoint: str, tmp_path: Path) -> None:
    """`mg.load()` on a blocking metagraph returns that blocking metagraph, whose sync() moves it to the head (it
    returned the bare async object, whose sync() handed back a coroutine never awaited and changed nothing)."""
    with subtensor(endpoint, timeout=20) as sub:
        mg = sub.metagraph(1)
        mg.save(tmp_path)
        sub.wait_for_block(mg.block + 2)
        loaded = mg.load(tmp_path)
        assert loaded is mg and isinstance(loaded, Blocking)
        saved_at = loaded.block
        loaded.sync()
        assert loaded.block >= saved_at + 2
        assert mg.load_from_path(next(tmp_path.rglob("*.npz"))) is mg and mg.block == saved_at


@pytest.mark.slow
def test_an_unclosed_client_does_not_keep_a_script_alive(endpoint: str) -> None:
    """`sub = subtensor(...); print(sub.get_current_block())` with no close: the process still ends at once."""
    code, out, err, exited_after = run_script("""
        from taonet.kernel import subtensor
        sub = subtensor()
        print(sub.get_current_block())
        print("LAST", flush=True)
    """, endpoint)
    assert code == 0, err
    assert int(out.split()[0]) >= 0
    assert exited_after < EXIT_BOUND


@pytest.mark.slow
def test_a_script_that_raises_exits_with_its_error(endpoint: str) -> None:
    """An uncaught error in a script that holds an open blocking client: traceback, status 1, and the end."""
    code, _out, err, exited_after = run_script("""
        from taonet.kernel import subtensor
        sub = subtensor()
        sub.get_current_block()
        print("LAST", flush=True)
        raise RuntimeError("the script's own bug")
    """, endpoint)
    assert code == 1
    assert "the script's own bug" in err
    assert exited_after < EXIT_BOUND


@pytest.mark.slow
def test_the_context_manager_form_closes_its_loop(endpoint: str) -> None:
    """`with subtensor() as sub:` stops the loop at the end of the block; the script then exits at once."""
    code, out, err, exited_after = run_script("""
        import threading
        from taonet.kernel import subtensor
        with subtensor() as sub:
            head = sub.get_current_block()
        print(head, sub.closed, [t.name for t in threading.enumerate() if t.name == "taonet-blocking"])
        print("LAST", flush=True)
    """, endpoint)
    assert code == 0, err
    assert out.split("\n")[0].split(" ", 1)[1] == "True []"
    assert exited_after < EXIT_BOUND


@pytest.mark.slow
def test_a_script_against_no_node_fails_fast_and_exits(tmp_path: Path) -> None:
    """No node at the endpoint: the first call raises NoNode within seconds and the script ends."""
    code, _out, err, _ = run_script("""
        from taonet.kernel import subtensor
        sub = subtensor(timeout=60)
        print("LAST", flush=True)
        sub.get_current_block()
    """, free_address(), timeout=30)
    assert code == 1
    assert "NoNode" in err and "no node at tcp://127.0.0.1:" in err


def test_a_failed_enter_stops_the_loop() -> None:
    """When the target's __aenter__ raises, the wrapper's loop thread is stopped before the error reaches us."""

    class Refuses:
        async def __aenter__(self) -> None:
            raise ConnectionError("refused on purpose")

        async def __aexit__(self, *exc: object) -> None:
            raise AssertionError("never entered, never left")

    before = _portal_threads()
    with pytest.raises(ConnectionError):
        Blocking(Refuses())
    assert _portal_threads() == before


def test_close_stops_the_loop_and_is_idempotent() -> None:
    """close() leaves the target's context, stops the thread, and may be called again."""
    before = _portal_threads()
    sub = subtensor(free_address())
    assert _portal_threads() == before + 1 and not sub.closed
    sub.close()
    sub.close()
    assert sub.closed and _portal_threads() == before


def test_a_bad_address_is_refused_at_once() -> None:
    """An endpoint nng cannot dial is a BadAddress, raised when the client opens."""
    with pytest.raises(BadAddress, match="tcp://nonsense"):
        subtensor("nonsense")


@pytest.mark.anyio
async def test_no_node_is_reported_within_the_connect_timeout() -> None:
    """Nothing listening: NoNode (an Unreachable) after the connect timeout, not after the call's long timeout."""
    started = time.monotonic()
    async with RpcClient(free_address(), timeout=60.0, connect_timeout=0.5) as rpc:
        with anyio.fail_after(20), pytest.raises(Unreachable) as info:
            await rpc.call("head")
    assert isinstance(info.value, NoNode)
    assert time.monotonic() - started < 20
    assert "taonet node run --dev" in str(info.value)


@pytest.mark.anyio
async def test_a_node_that_comes_up_within_the_connect_timeout_is_reached(tmp_path: Path) -> None:
    """The dial keeps going in the background: a node that starts while the first call waits answers it."""
    from ..node.nodes import running_node

    address = free_address()
    async with Subtensor(address, timeout=30.0) as early:
        early.rpc.connect_timeout = 20.0
        async with anyio.create_task_group() as tg:
            heads: list[int] = []

            async def first_call() -> None:
                heads.append(await early.get_current_block())

            tg.start_soon(first_call)
            await anyio.sleep(0.3)
            async with running_node(tmp_path, rpc=address):
                with anyio.fail_after(20):
                    while not heads:
                        await anyio.sleep(0.05)
    assert heads[0] >= 0
