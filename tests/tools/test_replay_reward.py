"""`taonet replay DIR what-if --reward PLUGIN` over the journals of a real validator neuron (the template subnet, run
by taonet.testing.LocalNet: a node, two fast miners, one slow one and a validator, each a process)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from taonet.testing import LocalNet
from tests.plugins.dists import install
from tests.tools.processes import taonet

pytestmark = pytest.mark.slow

VALIDATOR = {"timeout": 3.0, "alpha": 0.5}
"""alpha 0.5: a miner's first answers (its axon just up) weigh little after a few steps."""
SLOW = 0.6
"""The slow miner's delay: it scores 1 - 0.5 * 0.6 / 3 = 0.9 a step, a fast one ~1. With alpha 0.5 a fast miner's
average falls to the slow one's only if its last answer took 2 * 0.6 s; at a delay of 0.3 s a CI machine's load
(one answer late by 0.36 s measured here with both cores busy) once paid the slow miner as much as a fast one."""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The localnet's directory (its processes stopped) and the UIDs of the fast miners and the slow one."""
    root = tmp_path_factory.mktemp("reward")
    with LocalNet(root, plugin="template", tempo=10, hyperparameters={"weights_rate_limit": 1}) as net:
        fast = [net.add_miner(), net.add_miner()]
        slow = net.add_miner(options={"delay": SLOW})
        validator = net.add_validator(VALIDATOR)
        net.wait_for_answers(validator)
        net.advance(tempos=4)
    return {"dir": root, "fast": [m.uid for m in fast], "slow": slow.uid}


def what_if(run: dict[str, Any], *args: str) -> dict[str, Any]:
    out, _ = taonet("replay", str(run["dir"]), "what-if", "--netuid", "1", "--reward", "template",
                    "--set", f"alpha={VALIDATOR['alpha']}", *args, "--json", timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_rescoring_with_the_same_reward_model_reproduces_the_recorded_weights(run: dict[str, Any]) -> None:
    """The validator's journal re-scored with the template's own reward (and the validator's alpha) gives, at each
    of its SetWeights, exactly the weights it set; so every epoch is the recorded one."""
    doc = what_if(run)
    r = doc["reward"]
    assert r["journals"] == 1 and r["steps"] >= 5
    assert r["weights_aligned"] >= 3 and r["weights_unaligned"] == 0
    assert r["weights_unchanged"] == r["weights_aligned"]
    assert doc["identical"] is True and doc["movers"] == []


def test_without_the_latency_term_the_slow_miner_is_paid_as_much_as_the_fast_ones(run: dict[str, Any]) -> None:
    """Recorded, the slow miner earned less than both fast ones at the last epoch; re-scored with latency_weight=0 it
    would have been paid as much as they (within the u16 rounding of the weights)."""
    doc = what_if(run, "--set", "latency_weight=0")
    assert doc["set"]["latency_weight"] == "0" and doc["identical"] is False
    last = {u["uid"]: u for u in doc["epochs"][-1]["uids"]}
    slow, fast = last[run["slow"]], [last[u] for u in run["fast"]]
    assert all(slow["emission"] < f["emission"] for f in fast)
    for f in fast:
        assert f["emission_whatif"] > 0
        assert abs(slow["emission_whatif"] - f["emission_whatif"]) <= f["emission_whatif"] // 100


def test_reward_refusals(run: dict[str, Any], tmp_path: Path) -> None:
    """An unknown plugin is exit 6, an unknown option exit 2, a directory without journals exit 7: one line each."""
    base = ["replay", str(run["dir"]), "what-if", "--netuid", "1"]
    out, _ = taonet(*base, "--reward", "nosuchplugin", timeout=60)
    assert out.returncode == 6 and "nosuchplugin" in out.stderr
    out, _ = taonet(*base, "--reward", "template", "--set", "nosuch=1", timeout=60)
    assert out.returncode == 2 and "nosuch" in out.stderr
    out, _ = taonet(*base, "--reward", "template", "--journal", str(tmp_path), timeout=60)
    assert out.returncode == 7 and "no validator journal" in out.stderr
    # another protocol's plugin cannot rebuild the journal's tasks: a usage error naming both (was KeyError, exit 1)
    out, _ = taonet(*base, "--reward", "compute", timeout=60)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "plugin 'compute' cannot re-score" in out.stderr and "--reward template" in out.stderr
    # a neuron option outside its bounds, or not a finite number: exit 2 (alpha=5 used to re-score)
    for value, says in (("alpha=5", "'5' is outside 0..1"), ("alpha=nan", "'nan' is not a finite number")):
        out, _ = taonet(*base, "--reward", "template", "--set", value, timeout=60)
        assert out.returncode == 2 and says in out.stderr, out.stderr
    # a damaged journal frame: refused naming the segment (exit 7), not re-scored as a shorter journal
    damaged = tmp_path / "damaged"
    shutil.copytree(run["dir"], damaged)
    seg = sorted(damaged.rglob("journal-*.cbor"))[0]
    raw = bytearray(seg.read_bytes())
    pos = 4 + int.from_bytes(raw[:4], "big")  # the first step's frame, after the header
    raw[pos + 4] = 0xFF
    seg.write_bytes(bytes(raw))
    out, _ = taonet("replay", str(damaged), "what-if", "--netuid", "1", "--reward", "template", timeout=60)
    assert out.returncode == 7 and out.stderr.startswith(f"error: {seg} at byte {pos}: "), out.stderr


BAD_REWARD = """
import math
from taonet.plugins import SubnetProtocol, hookimpl
from taonet.subnets.template import Double, miner_forward, validator_task


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="a reward model with a mistake", synapses=(Double,))


@hookimpl
def reward(task, responses):
    if {name!r} == "raises":
        raise KeyError("latency")
    return {{r.hotkey: math.nan for r in responses}}
"""


def test_a_reward_model_with_a_mistake_is_its_one_line_error_not_an_internal_one(run: dict[str, Any],
                                                                                 tmp_path: Path) -> None:
    """An author trying a new reward model over a journal: one that raises, or scores NaN, is the plugin's
    HookFailed (exit 7, one line naming the hook and the fix); it was 'internal error ... please report it' (exit 1),
    and NaN was re-scored as 0 without a word."""
    site = tmp_path / "site"
    install(site, "raises-subnet", "raises", BAD_REWARD)
    install(site, "nan-subnet", "nan", BAD_REWARD)
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for plugin, says in (("raises", "the reward hook of subnet plugin 'raises' failed: KeyError: 'latency'"),
                         ("nan", "the reward hook of subnet plugin 'nan' failed: the score of 5")):
        out, _ = taonet("replay", str(run["dir"]), "what-if", "--netuid", "1", "--reward", plugin, timeout=60,
                        env=env)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 7 and len(lines) == 1 and lines[0].startswith(f"error: {says}"), out.stderr
    assert "is nan; every score must be a finite number in [0, 1]" in lines[0]


CHATTY_REWARD = """
print("loading the chatty reward")
from taonet.plugins import SubnetProtocol, hookimpl
from taonet.subnets import template
from taonet.subnets.template import Double, miner_forward, validator_task


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="prints while it scores", synapses=(Double,),
                          options=template.subnet_protocol().options)


@hookimpl
def reward(task, responses, options):
    print("reward called")  # as an author debugging a reward model does
    return template.reward(task, responses, options)
"""


def test_what_a_reward_model_prints_goes_to_stderr_not_into_json_or_csv(run: dict[str, Any], tmp_path: Path) -> None:
    """A reward model that prints (at import and in every call): `--json` is still one JSON object, `--csv` still
    starts with its header; the prints are on stderr (they led stdout, and `json.tool` failed on it)."""
    site = tmp_path / "site"
    install(site, "chatty-subnet", "chatty", CHATTY_REWARD)
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    base = ("replay", str(run["dir"]), "what-if", "--netuid", "1", "--reward", "chatty", "--set", "alpha=0.5")
    out, _ = taonet(*base, "--json", timeout=120, env=env)
    assert out.returncode == 0 and json.loads(out.stdout)["identical"] is True, out.stdout[:300]
    assert "loading the chatty reward" in out.stderr and "reward called" in out.stderr
    out, _ = taonet(*base, "--csv", timeout=120, env=env)
    assert out.returncode == 0 and out.stdout.startswith("block,"), out.stdout[:300]


def test_weights_the_journal_does_not_reproduce_are_said_and_journals_are_found_under_a_folder(
        run: dict[str, Any]) -> None:
    """Without the validator's own alpha (0.5; the default is another) its recorded weights cannot be reproduced from
    its journal: a note on stderr says how many and what to give (it was only in --json's counts). With it: no note,
    and the summary says how many settings were replaced by the same weights. `--journal` of the folder holding the
    state directories finds the journal in them (it said there was none)."""
    base = ["replay", str(run["dir"]), "what-if", "--netuid", "1", "--reward", "template"]
    out, _ = taonet(*base, timeout=120)
    assert out.returncode == 0, out.stderr
    note = [line for line in out.stderr.splitlines() if line.startswith("note: ")]
    assert len(note) == 1 and "recorded weight settings could not be reproduced" in note[0], out.stderr
    assert "--set" in note[0] and "alpha" in note[0]
    out, _ = taonet(*base, "--set", "alpha=0.5", "--journal", str(run["dir"] / "state"), timeout=120)
    assert out.returncode == 0 and "note:" not in out.stderr, out.stderr
    replaced = re.search(r"(\d+) weight settings replaced \((\d+) by the same weights\)", out.stdout)
    assert replaced is not None and replaced[1] == replaced[2] and int(replaced[1]) >= 3, out.stdout
    assert "identical to the recorded epochs, to the RAO" in out.stdout


def test_a_reward_option_without_reward_says_to_give_it(run: dict[str, Any]) -> None:
    """`--set latency_weight=0` without `--reward`: exit 2 saying it is no hyperparameter and that a reward model's
    option needs `--reward PLUGIN`."""
    out, _ = taonet("replay", str(run["dir"]), "what-if", "--netuid", "1", "--set", "latency_weight=0", timeout=60)
    assert out.returncode == 2 and "'latency_weight' is not a hyperparameter" in out.stderr, out.stderr
    assert "give --reward PLUGIN" in out.stderr


def test_journal_shows_what_the_validator_saw_of_each_miner_and_one_uids_answers(run: dict[str, Any],
                                                                                tmp_path: Path) -> None:
    """`replay journal`: per miner the calls asked and answered, mean score and latency (the slow miner scored lower
    and answered slower than each fast one); with --uid its answers step by step beside the task's truth (the slow
    miner's are right: its doubled value is the truth), within --from/--to; no journal is exit 7."""
    base = ("replay", str(run["dir"]), "journal", "--netuid", "1")
    out, _ = taonet(*base, "--json", timeout=60)
    assert out.returncode == 0, out.stderr
    (v,) = json.loads(out.stdout)["validators"]
    miners = {m["uid"]: m for m in v["miners"]}
    slow, fast = miners[run["slow"]], [miners[u] for u in run["fast"]]
    assert v["steps"] >= 5 and slow["answered"] >= 3 and slow["statuses"]["200"] == slow["answered"]
    for f in fast:
        assert slow["mean_latency"] > f["mean_latency"] and slow["mean_score"] < f["mean_score"], (slow, f)
    steps = [s for s in json.loads(taonet(*base, "--uid", str(run["slow"]), "--json", timeout=60)[0].stdout)[
        "validators"][0]["uid_steps"] if s["status"] == 200]
    assert len(steps) == slow["answered"] and all(s["data"]["doubled"] == s["truth"] for s in steps), steps[:3]
    first, last = steps[1]["block"], steps[-2]["block"]
    out, _ = taonet(*base, "--uid", str(run["slow"]), "--from", str(first), "--to", str(last), "--json", timeout=60)
    ranged = json.loads(out.stdout)["validators"][0]["uid_steps"]
    assert ranged and all(first <= s["block"] <= last for s in ranged) and len(ranged) < len(steps) + 1
    out, _ = taonet(*base, "--uid", str(run["slow"]), timeout=60, env={"COLUMNS": "70"})
    assert out.returncode == 0 and f"UID {run['slow']}'s answers to validator" in out.stdout, out.stdout
    rows = [line.split() for line in out.stdout.splitlines() if re.match(r"\s+\d+\s+\d+\s+\d{3}\s", line)]
    # a narrow terminal cuts the truth and the answer, never the numbers (they were all "…" through a pipe)
    assert len(rows) >= len(steps) and all(re.fullmatch(r"\d\.\d{4}|-", r[5]) and r[4] == "s" for r in rows), rows[:3]
    out, _ = taonet("replay", str(tmp_path), "journal", "--netuid", "1", timeout=60)
    assert out.returncode == 7 and "no validator journal for subnet 1" in out.stderr, out.stderr
