"""`LocalNet.wait_for_answers` with a reward that returns NaN or raises, honest miners answering, as real processes:
its error carries the validator's latest status errors (the cause: `plugin.reward: ...`), where it only said how
many answered steps were journaled, as if the miners were to blame; and a reward's exception names where in the
plugin's code it was raised, in the validator's status errors and in its log."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .dists import install

PLUGIN = '''
from taonet.plugins import Option, SubnetProtocol, hookimpl
from taonet.subnets.template import Double, miner_forward, validator_task


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="a reward that goes wrong", synapses=(Double,),
                          options={{"reward": Option(default="nan", choices=("nan", "raise"))}})


def _lookup(scores, key):
    return scores[key]


@hookimpl
def reward(task, responses, options):
    if options["reward"] == "raise":
        return {{r.hotkey: _lookup({{}}, "boom") for r in responses}}
    return {{r.hotkey: float("nan") for r in responses}}
'''


def _wait_for_error(neuron: object, start: str, limit: float = 60.0) -> str:
    """The first of ``neuron``'s status errors starting with ``start``, waited for (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        errors = (neuron.status() or {}).get("errors") or []  # type: ignore[attr-defined]
        if found := [e for e in errors if e.startswith(start)]:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no status error {start!r} in {limit} s")


@pytest.mark.slow
def test_wait_for_answers_says_the_validators_latest_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from taonet.testing import LocalNet

    site = tmp_path / "site"
    module = install(site, "badreward-subnet", "badreward", PLUGIN)
    line = next(i for i, text in enumerate(module.read_text().splitlines(), 1) if "return scores[key]" in text)
    monkeypatch.setenv("PYTHONPATH", f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.syspath_prepend(str(site))
    with LocalNet(tmp_path / "net", plugin="badreward", timeout=10.0) as net:
        net.add_miner()
        nan = net.add_validator()
        raises = net.add_validator(options={"reward": "raise"})
        cause = _wait_for_error(nan, "plugin.reward: ")
        assert " is nan" in cause
        with pytest.raises(RuntimeError) as info:
            net.wait_for_answers(nan, timeout=0.5)
        message = str(info.value)
        assert message.startswith(f"{nan.name} journaled 0 answered steps in 0.5 s, not 3; its latest status errors: ")
        assert cause[:300] in message and message.endswith(f" (log: {nan.log})")
        said = _wait_for_error(raises, "plugin.reward: ")
        assert said == f"plugin.reward: KeyError: 'boom' (at badreward_subnet.py:{line}, in _lookup)"
        with pytest.raises(RuntimeError) as info:
            net.wait_for_answers(raises, timeout=0.5)
        assert said in str(info.value)
        assert f"KeyError: 'boom' (at badreward_subnet.py:{line}, in _lookup)" in raises.log.read_text()
