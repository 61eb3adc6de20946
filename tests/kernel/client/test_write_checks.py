"""Writes that can never work are refused before signing: a weight commit whose salt or vectors its reveal would
refuse, a hyperparameter value that is not an integer; and PendingReveal.from_json given the file's text says to
json.loads it. Against a real dev node: the typed error, and nothing reached the chain (nonce, commits unchanged)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import attrs
import numpy as np
import pytest

from taonet.kernel.client import PendingReveal
from taonet.ledger import DEV_SUBNET_DEFAULTS, Keypair
from taonet.ledger.errors import InvalidCall, InvalidHyperparameter, InvalidWeights

from ..node.nodes import Wallet, running_node

CR = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True)

BAD_VECTORS: list[tuple[list[int], list[float]]] = [
    ([1, 0], [1.0]),  # lengths differ
    ([1, 1], [0.5, 0.5]),  # duplicate UIDs
    ([], []),  # empty (the subnet requires at least one weight)
    ([1, 7], [0.5, 0.5]),  # a UID beyond the subnet's two
    ([1], [math.nan]),  # not finite
    ([0, 1], [0.5, -0.5]),  # negative
]


@pytest.mark.anyio
async def test_a_salt_no_reveal_takes_is_refused_before_signing(tmp_path: Path) -> None:
    """salt=b"x" or 100 bytes: InvalidCall naming the salt, action "", nonce unchanged and no pending commit."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path, hyper=CR) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        nonce = await sub.get_nonce(owner.hotkey)
        for salt in (b"x", bytes(100), "a string salt", 12):
            r = await sub.commit_weights(owner, 1, [1], [1.0], salt=salt)
            assert not r.success and isinstance(r.error, InvalidCall), (salt, r.message)
            assert "salt must be 8 to 64 bytes" in r.message and r.action == "" and r.reveal is None
            s = await sub.set_weights(owner, 1, [1], [1.0], salt=salt)
            assert not s.success and isinstance(s.error, InvalidCall) and s.action == "", s.message
        with pytest.raises(InvalidCall, match="salt"):
            await sub.commit_weights(owner, 1, [1], [1.0], salt=b"x", raise_error=True)
        assert await sub.get_nonce(owner.hotkey) == nonce
        assert await sub.get_weight_commits(1) == {}
        ok = await sub.commit_weights(owner, 1, [1], [1.0], salt=bytes(64))
        assert ok.success and ok.action == "committed", ok.message
        assert PendingReveal.from_json(json.loads(json.dumps(ok.reveal.to_json()))) == ok.reveal


@pytest.mark.anyio
async def test_commit_weights_checks_the_vectors_as_set_weights_does(tmp_path: Path) -> None:
    """Each vector set_weights refuses on a subnet without commit-reveal, commit_weights and set_weights refuse on
    one with it: the same InvalidWeights and message, at once, action "", nothing signed or committed; a commit
    the chain refuses has action "" too."""
    owner, miner = Wallet("Alice"), Wallet("Bob")
    async with running_node(tmp_path) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.burned_register(miner, 1)).uid == 1
        plain = []
        for uids, weights in BAD_VECTORS:
            r = await sub.set_weights(owner, 1, uids, weights, commit_reveal=False)
            assert not r.success and isinstance(r.error, InvalidWeights), (uids, weights, r.message)
            plain.append(str(r.error))
        refused = await sub.commit_weights(owner, 1, [1], [1.0])  # the chain refuses it: commit-reveal is off
        assert not refused.success and refused.status == "rejected" and refused.action == "", refused.message
        assert (await sub.set_hyperparameter(owner, 1, "commit_reveal_weights_enabled", True)).success
        nonce = await sub.get_nonce(owner.hotkey)
        for (uids, weights), message in zip(BAD_VECTORS, plain, strict=True):
            c = await sub.commit_weights(owner, 1, uids, weights)
            assert not c.success and isinstance(c.error, InvalidWeights), (uids, weights, c.message)
            assert str(c.error) == message and c.action == "" and c.reveal is None
            started = time.monotonic()
            s = await sub.set_weights(owner, 1, uids, weights)
            assert not s.success and isinstance(s.error, InvalidWeights) and str(s.error) == message
            assert s.action == "" and time.monotonic() - started < 1.0
        assert await sub.get_nonce(owner.hotkey) == nonce
        assert await sub.get_weight_commits(1) == {}
        ok = await sub.commit_weights(owner, 1, np.array([1, 0]), np.array([0.25, 0.75]))
        assert ok.success and ok.action == "committed", ok.message


@pytest.mark.anyio
async def test_set_hyperparameter_takes_only_integers(tmp_path: Path) -> None:
    """1.5, "abc", "yes", None, [1] (and True for a count) are InvalidHyperparameter naming the hyperparameter and
    saying it takes an integer; nothing is signed and the value stays. True for a flag and numpy ints still work."""
    owner = Wallet("Alice")
    async with running_node(tmp_path) as (_node, sub):
        assert (await sub.create_subnet(owner)).success
        tempo = (await sub.get_subnet_hyperparameters(1))["tempo"]
        nonce = await sub.get_nonce(owner.coldkey)
        for value in (1.5, 2.0, "abc", "yes", None, [1], True):
            r = await sub.set_hyperparameter(owner, 1, "tempo", value)
            assert not r.success and isinstance(r.error, InvalidHyperparameter), (value, r.message)
            assert r.message.startswith("hyperparameter tempo: it takes an integer in [1, 50,400]"), r.message
        with pytest.raises(InvalidHyperparameter, match="tempo"):
            await sub.set_hyperparameter(owner, 1, "tempo", 1.5, raise_error=True)
        assert await sub.get_nonce(owner.coldkey) == nonce
        assert (await sub.get_subnet_hyperparameters(1))["tempo"] == tempo
        assert (await sub.set_hyperparameter(owner, 1, "tempo", np.int64(7))).success
        assert (await sub.set_hyperparameter(owner, 1, "commit_reveal_weights_enabled", True)).success
        flag = await sub.set_hyperparameter(owner, 1, "commit_reveal_weights_enabled", "yes")
        assert isinstance(flag.error, InvalidHyperparameter) and "True, False or an integer in [0, 1]" in flag.message
        hyper = await sub.get_subnet_hyperparameters(1)
        assert hyper["tempo"] == 7 and hyper["commit_reveal_weights_enabled"] is True


def test_from_json_given_the_text_says_to_load_it() -> None:
    """from_json(to_json() as JSON text) says it takes the dict and to json.loads the text; a salt no reveal takes
    is refused by PendingReveal.new."""
    hotkey = Keypair.from_uri("//Alice//hot").ss58_address
    text = json.dumps(PendingReveal.new(1, hotkey, [1], [1.0], salt=bytes(8)).to_json())
    with pytest.raises(ValueError, match=r"takes the dict to_json\(\) gives.*json\.loads") as e:
        PendingReveal.from_json(text)
    assert "not a JSON object" not in str(e.value)
    for salt in (b"x", bytes(65)):
        with pytest.raises(ValueError, match="salt must be 8 to 64 bytes"):
            PendingReveal.new(1, hotkey, [1], [1.0], salt=salt)
