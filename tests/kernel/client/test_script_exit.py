"""A script that uses the blocking client exits when its last line runs: no hang, no abort, no traceback from a thread.

Each script runs as its own Python process against a real dev node process, as a user runs one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from ..node.nodes import node_process

SCRIPT_TIMEOUT = 30.0
"""Seconds a script may take; each needs about one, so a hang fails the test instead of the suite."""


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The rpc address of one dev node process shared by this module's scripts."""
    with node_process(tmp_path_factory.mktemp("node"), block_time=0.1) as (_proc, addresses):
        yield addresses["rpc"]


def run_script(source: str, endpoint: str) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a script with $TAONET_ENDPOINT set; its exit status and output."""
    env = {**os.environ, "TAONET_ENDPOINT": endpoint}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True,
                          timeout=SCRIPT_TIMEOUT, env=env)


def assert_clean_exit(done: subprocess.CompletedProcess[str]) -> None:
    """Exit status 0 and nothing alarming on stderr."""
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "panic" not in done.stderr, done.stderr[-2000:]


@pytest.mark.slow
def test_a_client_left_open_after_waiting_on_the_feed_exits_cleanly(endpoint: str) -> None:
    """The feed's socket is still open at exit: closing it must come before nng is finalised (it aborted)."""
    done = run_script("""
        from taonet.kernel import subtensor
        sub = subtensor()
        sub.wait_for_block(sub.get_current_block() + 1, timeout=20)
        print("done")
    """, endpoint)
    assert_clean_exit(done)
    assert done.stdout.strip() == "done"


@pytest.mark.slow
def test_a_thread_that_outlives_the_main_line_ends_with_the_script(endpoint: str) -> None:
    """A non-daemon thread finishes its wait after the main line; then the exit closes the client cleanly."""
    done = run_script("""
        import threading
        from taonet.kernel import subtensor
        sub = subtensor()
        t = threading.Thread(target=lambda: print("head", sub.wait_for_block(sub.get_current_block() + 2)))
        t.start()
        print("main done")
    """, endpoint)
    assert_clean_exit(done)
    assert "main done" in done.stdout and "head" in done.stdout


@pytest.mark.slow
def test_a_daemon_thread_inside_a_call_at_exit_prints_no_traceback(endpoint: str) -> None:
    """A daemon thread still waiting on the client when the script ends is not told so with a traceback, nor is one
    calling it in a tight loop (it could call again just after the exit closed the client: ClientClosed's traceback,
    1 run in ~20 of the suite)."""
    done = run_script("""
        import threading, time
        from taonet.kernel import subtensor
        sub = subtensor()
        def forever():
            while True:
                sub.wait_for_block()
        def busy():
            while True:
                sub.get_current_block()
        threading.Thread(target=forever, daemon=True).start()
        for _ in range(4):
            threading.Thread(target=busy, daemon=True).start()
        time.sleep(0.5)
        print("bye")
    """, endpoint)
    assert_clean_exit(done)
    assert done.stdout.strip() == "bye"


@pytest.mark.slow
def test_a_call_on_a_closed_client_raises_client_closed(endpoint: str) -> None:
    """After close() (or the end of its with block), a call says the client is closed, as a typed error."""
    done = run_script("""
        from taonet.kernel import subtensor
        from taonet.kernel.errors import ClientClosed
        with subtensor() as sub:
            sub.get_current_block()
        address = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"  # //Alice here
        for call in (sub.get_current_block, lambda: sub.get_balance(address)):
            try:
                call()
            except ClientClosed as e:
                print("closed:", e)
        import threading, time
        sub = subtensor()
        def waits():
            try:
                sub.wait_for_block(sub.get_current_block() + 10_000, timeout=30)
            except ClientClosed as e:
                print("closed while waiting:", e)
        t = threading.Thread(target=waits)
        t.start()
        time.sleep(0.5)
        sub.close()  # from another thread, while the wait runs
        t.join(10)
    """, endpoint)
    assert_clean_exit(done)
    assert done.stdout.count("closed: blocking(Subtensor(") == 2, done.stdout
    assert "closed while waiting: blocking(Subtensor(" in done.stdout


@pytest.mark.slow
def test_sys_exit_inside_async_with_axon_keeps_its_exit_status(endpoint: str) -> None:
    """sys.exit(3) in the body of `async with axon:` exits 3 (the axon's task group turned it into a group: 1)."""
    done = run_script("""
        import sys, anyio
        from taonet.kernel import Axon
        from taonet.ledger import Keypair
        async def main():
            async with Axon(Keypair.from_uri("//Bob"), "tcp://127.0.0.1:0"):
                sys.exit(3)
        anyio.run(main)
    """, endpoint)
    assert done.returncode == 3, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_one_async_subtensor_waits_for_blocks_in_two_anyio_runs(endpoint: str, backend: str) -> None:
    """A Subtensor made once and used by two anyio.run calls waits on the feed in both (the second run used the
    first loop's feed socket: 'Future attached to a different loop' on asyncio, a hang on trio)."""
    done = run_script(f"""
        import anyio
        from taonet.kernel import Subtensor
        sub = Subtensor()
        async def main():
            head = await sub.get_current_block()
            print("waited", await sub.wait_for_block(head + 1, timeout=10) > head)
        anyio.run(main, backend="{backend}")
        anyio.run(main, backend="{backend}")
    """, endpoint)
    assert_clean_exit(done)
    assert done.stdout.splitlines().count("waited True") == 2, done.stdout


@pytest.mark.slow
def test_an_axon_started_from_a_sync_script_serves_and_ends_with_it(endpoint: str) -> None:
    """axon.start() (the SDK's) serves from a background thread; stop() ends it, start() works again, and one left
    running when the script ends is stopped cleanly (no hang, no nng abort)."""
    done = run_script("""
        import anyio
        from taonet.kernel import Axon, Dendrite, Synapse
        from taonet.ledger import Keypair
        class Dummy(Synapse):
            input: int
            output: int | None = None
        def double(synapse: Dummy) -> Dummy:
            return synapse.replace(output=synapse.input * 2)
        axon = Axon(Keypair.from_uri("//Bob"), port=0, ip="127.0.0.1").attach(forward_fn=double)
        async def ask():
            return (await Dendrite(Keypair.from_uri("//Alice"))(axon.info(), Dummy(input=21), timeout=5)).output
        axon.start()
        print("first", anyio.run(ask))
        axon.stop()
        axon.start()
        print("again", anyio.run(ask))
        # left running: the exit stops it
    """, endpoint)
    assert_clean_exit(done)
    assert "first 42" in done.stdout and "again 42" in done.stdout, done.stdout


@pytest.mark.slow
def test_clients_dropped_without_close_leave_no_threads_or_sockets(endpoint: str) -> None:
    """A client made per call in a loop and never closed stops its loop when dropped (40 left 40 threads and their
    sockets until exit); a metagraph keeps the client it came from alive, so it still syncs."""
    done = run_script("""
        import gc, os, threading
        from taonet.kernel import subtensor
        fds = len(os.listdir("/proc/self/fd"))
        for _ in range(40):
            subtensor().get_current_block()
        gc.collect()
        print("threads", threading.active_count(), "fds", len(os.listdir("/proc/self/fd")) - fds)
        from taonet.ledger import Keypair
        with subtensor() as owner:
            assert owner.create_subnet(Keypair.from_uri("//Alice")).success
            netuid = owner.get_all_subnets_netuid()[-1]
        mg = subtensor().metagraph(netuid)  # the client itself is dropped at once
        gc.collect()
        print("synced", mg.sync().n)
    """, endpoint)
    assert_clean_exit(done)
    threads, extra_fds = (int(x) for x in done.stdout.split()[1:4:2])
    assert threads == 1 and extra_fds < 10, done.stdout
    assert "synced 1" in done.stdout
