"""The miner and validator neurons as processes on a real dev node (through taonet.testing): honest and fast miners
earn more, a validator killed with SIGKILL resumes its scores and journal, a UID's new owner starts from zero."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from taonet.plugins import STOP_DEADLINE, Scores, read_journal
from taonet.testing import LocalNet, NeuronProcess

pytestmark = pytest.mark.slow

VALIDATOR = {"timeout": 1.5}


def _log_event(log: Path, event: str, within: float) -> dict:
    """The first line of a neuron's JSON log with ``event``, waiting up to ``within`` seconds for it."""
    ends = time.monotonic() + within
    while True:
        for line in log.read_text().splitlines():
            if f'"{event}"' in line:
                entry = json.loads(line)
                if entry.get("event") == event:
                    return entry
        if time.monotonic() > ends:
            raise AssertionError(f"no {event} in {log} within {within} s")
        time.sleep(0.2)


def _scores(state_dir: Path) -> Scores:
    return Scores.from_bytes((state_dir / "scores.cbor").read_bytes())


def _weights(net: LocalNet, uid: int) -> dict[int, int]:
    """The weights row validator ``uid`` has on the chain, as {uid: u16}."""
    uids, values = net.subtensor.neuron(net.netuid, uid)["weights"]
    return dict(zip(uids, values, strict=True))


def _weights_set_after_syncing(v: NeuronProcess, block: int, timeout: float = 60.0) -> None:
    """Wait until validator ``v`` synced its metagraph at ``block`` or later and then set weights twice (the first
    set after the sync may have been computed before it); bounded in time."""
    deadline = time.monotonic() + timeout
    seen: list[int | None] = []  # last_weights_block values seen since the sync
    while len(seen) < 3:
        st = v.status() or {}
        synced = seen or (st.get("metagraph_block") or -1) >= block
        if synced and (not seen or st.get("last_weights_block") != seen[-1]):
            seen.append(st.get("last_weights_block"))
        assert time.monotonic() < deadline, f"no weights set twice after the sync at {block}: {st}"
        time.sleep(0.05)


def test_template_pays_honest_over_wrong_and_fast_over_slow_and_a_killed_validator_resumes(tmp_path: Path) -> None:
    """2 validators, 2 honest miners, 1 slow and 1 wrong, each a process: after 3 tempos every honest miner has more
    incentive than the wrong one, the fast ones more than the slow one; then a validator killed with SIGKILL and
    started again resumes its step counter, its scores and its journal."""
    with LocalNet(tmp_path, plugin="template", tempo=20) as net:
        fast = [net.add_miner(), net.add_miner()]
        slow = net.add_miner(options={"delay": 0.6})
        wrong = net.add_miner(options={"honest": False})
        validators = [net.add_validator(VALIDATOR), net.add_validator(VALIDATOR)]
        for v in validators:
            net.wait_for_answers(v)
        net.advance(tempos=3)
        mg = net.metagraph()
        incentive = {n.name: float(mg.I[n.uid]) for n in (*fast, slow, wrong)}
        for honest in (*fast, slow):
            assert incentive[honest.name] > incentive[wrong.name], incentive
        for f in fast:
            assert incentive[f.name] > incentive[slow.name], incentive
        for v in validators:
            status = v.status()
            assert status is not None and status["errors"] == [], status
            assert status["last_weights_block"] is not None

        # SIGKILL in the middle of the run, then start again
        v = validators[0]
        assert net.stop(v, kill=True) == -9
        saved = _scores(v.state_dir)
        steps_before = [r["step"] for r in read_journal(v.state_dir / "journal")]
        assert saved.step > 3 and saved.scores
        assert steps_before == list(range(steps_before[0], steps_before[-1] + 1))
        net.start(v)
        net.advance(blocks=15)
        status = v.status()
        assert status is not None and status["resumed"] is True and status["step"] > saved.step
        steps_after = [r["step"] for r in read_journal(v.state_dir / "journal")]
        assert steps_after[: len(steps_before)] == steps_before
        assert steps_after == sorted(set(steps_after))  # appended, never a step twice
        assert steps_after[-1] > steps_before[-1]
        resumed = _scores(v.state_dir)
        # the averages went on from the saved ones: the honest miners' never dropped back towards zero
        for f in fast:
            assert resumed.scores[f.hotkey] >= 0.8 * saved.scores[f.hotkey]

        # SIGTERM and SIGINT (Ctrl-C): a neuron stops cleanly within the documented deadline
        started = time.monotonic()
        assert net.stop(v) == 0
        assert time.monotonic() - started < STOP_DEADLINE + 2.0
        assert slow.proc is not None
        started = time.monotonic()
        slow.proc.send_signal(signal.SIGINT)
        assert slow.proc.wait(STOP_DEADLINE + 2.0) == 0
        assert time.monotonic() - started < STOP_DEADLINE + 2.0
        for n in (v, slow):
            assert n.status()["state"] == "stopped"


def test_a_uid_that_changes_hands_starts_its_new_owner_from_zero(tmp_path: Path) -> None:
    """A full subnet: a new registration prunes a miner the validator scored well; the validator drops the old
    hotkey's score, and the newcomer on that UID has none (it is not paid for its predecessor's work)."""
    hyper = {"max_allowed_validators": 2, "max_allowed_uids": 4, "immunity_period": 20}
    with LocalNet(tmp_path, plugin="template", tempo=10, hyperparameters=hyper) as net:
        miners = [net.add_miner(), net.add_miner()]
        v = net.add_validator({"timeout": 1.5, "metagraph_interval": 2})
        net.wait_for_answers(v)
        net.advance(tempos=4)
        before = _scores(v.state_dir)
        weights_before = _weights(net, v.uid)
        newcomer = net.wallet("newcomer", "//Dave", "//Dave//newcomer")
        r = net.subtensor.burned_register(newcomer, net.netuid)
        assert r.success and r.uid is not None, r.message
        pruned = next(m for m in miners if m.uid == r.uid)
        assert before.scores.get(pruned.hotkey, 0.0) > 0.2, before.scores
        assert weights_before.get(pruned.uid, 0) > 0, weights_before
        _weights_set_after_syncing(v, r.block)
        after = _scores(v.state_dir)
        assert pruned.hotkey not in after.scores
        assert after.scores.get(newcomer.hotkey.ss58_address, 0.0) == 0.0
        assert net.metagraph().hotkeys[pruned.uid] == newcomer.hotkey.ss58_address
        weights_after = _weights(net, v.uid)  # set since, converting hotkeys to UIDs then: nothing for the newcomer
        assert weights_after.get(pruned.uid, 0) == 0 and weights_after, weights_after
        # the pruned miner says so in its log, with what to do (it logged only uid_changed old=N new=None)
        said = _log_event(pruned.log, "neuron.deregistered", within=30.0)
        assert said["uid"] == pruned.uid and said["level"] == "warning", said
        assert f"why --netuid {net.netuid} --hotkey {pruned.hotkey}" in said["hint"], said


def test_wait_for_answers_counts_only_steps_a_miner_answered_and_says_when_none_came(tmp_path: Path) -> None:
    """LocalNet.wait_for_answers: with no miner to answer, one line naming the validator, the count and its log
    after the timeout; once a miner serves, it returns when the validator's journal holds that many steps with an
    answer (status 200)."""
    with LocalNet(tmp_path, plugin="template", tempo=10) as net:
        v = net.add_validator({"timeout": 0.5})
        started = time.monotonic()
        with pytest.raises(RuntimeError) as info:
            net.wait_for_answers(v, steps=2, timeout=2.0)
        assert 2.0 <= time.monotonic() - started < 30
        assert str(info.value) == (f"validator-0 journaled 0 answered steps in 2.0 s, not 2 "
                                   f"(log: {tmp_path / 'logs' / 'validator-0.log'})")
        net.add_miner()
        answered = net.wait_for_answers(v, steps=2)
        steps = list(read_journal(v.state_dir / "journal"))
        assert answered >= 2
        assert sum(any(r["status"] == 200 for r in s["responses"]) for s in steps) >= answered
