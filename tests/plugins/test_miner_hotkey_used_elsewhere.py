"""Two `taonet miner run` processes on one hotkey (another --state-dir and port): the newcomer says it publishes over an
axon that answers (`miner.replaces_serving_axon`), the one whose axon record was overwritten says so
(`miner.hotkey_used_elsewhere`, once) and does not publish over the other while it answers (before: each re-published
at every metagraph sync, the chain's address flipping between them, neither saying anything). The other killed with
SIGKILL: its status.json still says "running", with the `pid` of a process gone and the `time` of its last write; the
first miner takes the record back and serves on. Real parts: a dev node and the miners as processes (taonet.testing)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import attrs
import pytest

from taonet.testing import LocalNet

pytestmark = pytest.mark.slow


def _events(log: Path, event: str) -> list[dict]:
    """The JSON lines of a neuron's log with ``event``."""
    out = []
    for line in log.read_text().splitlines():
        if f'"{event}"' in line:
            entry = json.loads(line)
            if entry.get("event") == event:
                out.append(entry)
    return out


def _until(what: str, ok: object, net: LocalNet, timeout: float) -> None:
    """Wait a block at a time until ``ok()``, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not ok():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        net.subtensor.wait_for_block()


def _on_chain(net: LocalNet, uid: int) -> str:
    axon = net.metagraph().axons[uid]
    return f"{axon.ip}:{axon.port}"


def test_two_miners_on_one_hotkey_are_said_not_fought_over_and_the_one_left_takes_the_record_back(
        tmp_path: Path) -> None:
    with LocalNet(tmp_path, plugin="template") as net:
        first = net.add_miner(options={"metagraph_interval": 1})
        at = first.args.index("--state-dir") + 1  # the same command, another state directory (and port 0: another)
        again = tmp_path / "state" / "again"
        second = attrs.evolve(first, name="miner-0-again", state_dir=again, log=tmp_path / "logs" / "again.log",
                              proc=None, args=[*first.args[:at], str(again), *first.args[at + 1:]])
        net.start(second)
        net.neurons.append(second)  # stopped with the net if the test fails before
        # status.json is first written at the miner's first block after it serves (the `axon` line comes before)
        _until("both miners' status files", lambda: all(m.state_dir.joinpath("status.json").exists()
                                                        for m in (first, second)), net, 20)
        ours, theirs = (json.loads(m.state_dir.joinpath("status.json").read_text())["axon"] for m in (first, second))
        _until("the first miner says the hotkey is served elsewhere",
               lambda: _events(first.log, "miner.hotkey_used_elsewhere"), net, 20)
        net.advance(tempos=0, blocks=20)  # 20 syncs of each miner: neither publishes again
        assert _on_chain(net, first.uid) == theirs
        published = {m.name: [e["port"] for e in _events(m.log, "axon.published")] for m in (first, second)}
        assert published == {first.name: [int(ours.split(":")[1])], second.name: [int(theirs.split(":")[1])]}
        replaced = _events(second.log, "miner.replaces_serving_axon")  # the newcomer says it too, once
        assert [(e["other"], e["ours"]) for e in replaced] == [(ours, theirs)], replaced
        assert not _events(first.log, "miner.replaces_serving_axon")  # the first found no record serving
        said, *later = _events(first.log, "miner.hotkey_used_elsewhere")  # once, then at the 10th check (a block)
        assert said["other"] == theirs and said["ours"] == ours and said["times"] == 1, said
        assert [e["times"] for e in later] in ([], [10]), later
        assert said["note"].startswith(f"another process serves this hotkey at {theirs}: stop one")
        errors = first.status()["errors"]  # type: ignore[index]
        assert [m for m in errors if m.startswith(f"miner.hotkey_used_elsewhere: another process serves this hotkey "
                                                  f"at {theirs}: stop one")], errors

        # SIGKILL: the second miner writes nothing more; its status says running, with a gone pid and an old time
        pid = second.proc.pid  # type: ignore[union-attr]
        net.stop(second, kill=True)
        killed_at = time.time()
        left = second.status()
        assert left is not None and left["state"] == "running" and left["pid"] == pid, left
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert left["time"] <= killed_at

        # the first miner takes the record back once the other address stays silent
        _until("the first miner's axon on the chain again (and said)", lambda: _on_chain(net, first.uid) == ours
               and len(_events(first.log, "axon.published")) == 2, net, 30)
        [back] = _events(first.log, "miner.axon_taken_back")
        assert back["other"] == theirs and back["silent_blocks"] >= 10, back
        # the options it runs with, said at start
        [started] = _events(first.log, "miner.started")
        assert started["options"]["metagraph_interval"] == 1 and started["axon"] == ours
