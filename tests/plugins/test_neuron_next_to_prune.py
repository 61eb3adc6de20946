"""A neuron whose UID a registration would replace next says so before it happens (`neuron.next_to_prune`, and
`next_to_prune` in status.json), and says when it no longer is: before, the first word was `neuron.deregistered`,
after the slot was gone. Real parts: a dev node and the neurons as processes (taonet.testing)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from taonet.testing import LocalNet

pytestmark = pytest.mark.slow


def _event(log: Path, event: str, within: float) -> dict[str, Any]:
    """The first line of a neuron's JSON log with ``event``, waiting up to ``within`` seconds for it."""
    ends = time.monotonic() + within
    while True:
        for line in log.read_text().splitlines():
            if f'"{event}"' in line and (entry := json.loads(line)).get("event") == event:
                return entry
        assert time.monotonic() < ends, f"no {event} in {log} within {within} s"
        time.sleep(0.1)


def _status_until(neuron: Any, key: str, value: object, within: float) -> dict[str, Any]:
    ends = time.monotonic() + within
    while (status := neuron.status() or {}).get(key) != value:
        assert time.monotonic() < ends, (key, value, status)
        time.sleep(0.1)
    return status


def test_a_miner_says_its_uid_is_next_to_prune_and_when_it_no_longer_is(tmp_path: Path) -> None:
    """A full subnet of 3 UIDs (the owner's, a miner's, a validator's; no immunity): the miner, earning nothing while
    the validator, setting no weights, is paid by stake (and, registered before it, first in a tie of 0 too), is
    next; the subnet grown to 4 UIDs, nobody is."""
    hyper = {"max_allowed_validators": 1, "max_allowed_uids": 3, "immunity_period": 0}
    with LocalNet(tmp_path, plugin="template", tempo=5, hyperparameters=hyper) as net:
        miner = net.add_miner({"metagraph_interval": 1})
        # no weights from it: each epoch pays by stake, the validator all of it (with its weights, the miner's
        # incentive and its dividends could tie, and the pruning rule could pick either)
        validator = net.add_validator({"metagraph_interval": 1, "weights_interval": 100_000})
        said = _event(miner.log, "neuron.next_to_prune", within=30)
        assert said["uid"] == miner.uid and said["level"] == "warning", said
        assert said["note"] == (f"subnet {net.netuid} is full (3 of 3 UIDs) and a registration now replaces UID "
                                f"{miner.uid}: it has the lowest emission of the neurons past their immunity period")
        _status_until(miner, "next_to_prune", True, within=10)
        net.advance(tempos=1)
        assert _status_until(validator, "uid", validator.uid, within=10)["next_to_prune"] is False
        owner = net.wallet("owner", "//Alice", "//Alice//owner")
        assert net.subtensor.set_hyperparameter(owner, net.netuid, "max_allowed_uids", 4).success
        back = _event(miner.log, "neuron.no_longer_next_to_prune", within=30)
        assert back["uid"] == miner.uid and back["level"] == "info", back
        _status_until(miner, "next_to_prune", False, within=10)
        assert not [x for x in validator.log.read_text().splitlines() if '"neuron.next_to_prune"' in x]
