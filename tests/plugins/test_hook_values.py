"""Values a hook returns that the neuron cannot use are the hook's failure, named with the fix; the neuron goes on
(asyncio and trio, real axons, dendrites and a dev node on 127.0.0.1).

- a task's truth, or a ``journal_response`` digest, that the journal's CBOR cannot carry (a numpy scalar, an
  object) skips the step before anything of it is recorded: no score moves, no journal record (it used to crash the
  validator with "internal error: CBOREncodeError", and a neuron host restarted it for ever);
- a ``miner_blacklist`` answer other than a bool, ``(bool, reason)`` or ``(bool, reason, retry_after)`` (the string
  "no") is a 500 naming the hook and what it returned, never a refusal of every caller; a ``miner_priority`` that is
  not a number likewise.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Axon, Dendrite, Wallet
from taonet.ledger import Keypair
from taonet.plugins import (
    Journal,
    NeuronConfig,
    Plugin,
    Scores,
    StateDir,
    SubnetProtocol,
    Task,
    hookimpl,
    read_journal,
    run_miner,
    run_validator,
    validator_step,
)
from taonet.plugins.errors import HookFailed

from ..kernel.node.nodes import dev_wallet, running_node
from .protocols import Double, Subnet

pytestmark = pytest.mark.anyio

MINERS = [Keypair.from_uri(f"//Values//miner{i}") for i in range(2)]
PLAIN = "which the journal cannot carry: give plain int/float/str/bytes/bool/None, lists and dicts of them"


class Values:
    """A plugin whose hooks return what ``truth``, ``digest``, ``blacklist`` and ``priority`` hold; ``bad_steps``
    of its first steps (the others return plain values)."""

    def __init__(self, *, truth: Any = 1, digest: Any = None, bad_steps: int = 10**9) -> None:
        self.truth = truth
        self.digest = digest
        self.bad_steps = bad_steps
        self.blacklist: Any = False
        self.priority: Any = 1.0
        self.tasks = 0
        self.bad_blocks: list[int] = []
        self.forwards = 0

    def _bad(self) -> bool:
        return self.tasks <= self.bad_steps

    @hookimpl
    def subnet_protocol(self) -> SubnetProtocol:
        return SubnetProtocol(name="values", description="returns odd values", synapses=(Double,),
                              options={"timeout": 2.0})

    @hookimpl
    def validator_task(self, rng: Any, block: int) -> Task:
        self.tasks += 1
        if self._bad():
            self.bad_blocks.append(block)
        return Task(synapse=Double(number=rng.randrange(9)), truth=self.truth if self._bad() else 1)

    @hookimpl
    def reward(self, responses: list[Any]) -> dict[str, float]:
        return {r.hotkey: 1.0 for r in responses}

    @hookimpl
    def journal_response(self, response: Any) -> Any:
        return self.digest if self._bad() else {"doubled": response.synapse.doubled}

    @hookimpl
    def miner_forward(self, synapse: Double) -> Double:
        self.forwards += 1
        return synapse.replace(doubled=2 * synapse.number)

    @hookimpl
    def miner_blacklist(self) -> Any:
        return self.blacklist

    @hookimpl
    def miner_priority(self) -> Any:
        return self.priority


BAD_TRUTHS = [
    (np.int64(5), "Task.truth holds a numpy.int64, " + PLAIN + " (e.g. int(x))"),
    (np.float32(0.5), "Task.truth holds a numpy.float32, " + PLAIN + " (e.g. float(x))"),
    (np.arange(3), "Task.truth holds a numpy.ndarray, " + PLAIN + " (e.g. x.tolist())"),
    ({"answer": [1, object()]}, "Task.truth holds an object, " + PLAIN),
]


async def _steps(values: Values, tmp_path: Path, tries: int) -> tuple[list[HookFailed], Scores, list[Any]]:
    """``tries`` validator steps of ``values`` against two loopback miners, journaled under ``tmp_path``: the
    HookFailed of each failing step, the scores and the journal's records."""
    plugin = Plugin.from_object("values", values)
    journal = Journal(tmp_path / "journal", {"plugin": "values"}).open()
    failed = []
    scores = Scores()
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            axons = []
            for kp in MINERS:
                ax = Axon(kp, "tcp://127.0.0.1:0").attach(lambda s: plugin.hook.miner_forward(synapse=s, options={}),
                                                         synapse=Double)
                axons.append(await tg.start(ax.serve))
            mg = Subnet(axons=axons, hotkeys=[kp.ss58_address for kp in MINERS])
            async with Dendrite(Keypair.from_uri("//Values//validator")) as dendrite:
                for block in range(tries):
                    try:
                        await validator_step(plugin, plugin.options(), scores, block=block, metagraph=mg,
                                             dendrite=dendrite, hotkey="5Validator", journal=journal)
                    except HookFailed as e:
                        failed.append(e)
            tg.cancel_scope.cancel()
    journal.close()
    return failed, scores, list(read_journal(tmp_path / "journal"))


@pytest.mark.parametrize(("truth", "says"), BAD_TRUTHS, ids=["int64", "float32", "ndarray", "nested-object"])
async def test_a_truth_the_journal_cannot_carry_skips_the_step_before_any_miner_is_asked(
        tmp_path: Path, truth: Any, says: str) -> None:
    """HookFailed naming validator_task, the truth's type and the fix; no miner asked, no score, no journal record;
    the next step (a plain truth) is step 0, journaled."""
    values = Values(truth=truth, bad_steps=1)
    failed, scores, records = await _steps(values, tmp_path, 2)
    assert [(e.hook, e.error) for e in failed] == [("validator_task", says)]
    assert str(failed[0]) == f"the validator_task hook of subnet plugin 'values' failed: {says}"
    assert values.forwards == len(MINERS)  # the good step's only
    assert [(r["step"], r["block"], r["task"]["truth"]) for r in records] == [(0, 1, 1)]
    assert scores.step == 1 and set(scores.scores) == {kp.ss58_address for kp in MINERS}


async def test_a_journal_response_the_journal_cannot_carry_skips_the_step(tmp_path: Path) -> None:
    """A journal_response returning object(): HookFailed naming the hook and the type; the step's scores are not
    kept and it writes no record (the scores used to move for a step the journal never had)."""
    failed, scores, records = await _steps(Values(digest=object(), bad_steps=1), tmp_path, 2)
    says = "what it returned holds an object, " + PLAIN
    assert [(e.hook, e.error) for e in failed] == [("journal_response", says)]
    assert [(r["step"], r["block"]) for r in records] == [(0, 1)]
    doubled = 2 * records[0]["task"]["fields"]["number"]
    assert [r["data"] for r in records[0]["responses"]] == [{"doubled": doubled}] * len(MINERS)
    assert scores.step == 1


async def test_values_the_journal_carries_are_journaled_as_they_are(tmp_path: Path) -> None:
    """Plain truths and digests (big ints, bytes, nested lists and dicts, None) pass the check unchanged."""
    truth = {"big": 2**70, "raw": b"\x00", "nested": [1.5, None, {"k": "v"}]}
    failed, scores, records = await _steps(Values(truth=truth, digest=[1, "two"]), tmp_path, 1)
    assert failed == [] and scores.step == 1
    assert records[0]["task"]["truth"] == truth
    assert [r["data"] for r in records[0]["responses"]] == [[1, "two"]] * len(MINERS)


async def _values_subnet(sub: Any, root: Path, *neurons: tuple[str, str]) -> list[Wallet]:
    """Subnet 1, owned by //Alice and recording the 'values' plugin, with a wallet per (name, secret URI) of
    ``neurons`` registered on it."""
    owner = dev_wallet(root, "owner", "//Alice")
    out = []
    with anyio.fail_after(30):
        assert (await sub.create_subnet(owner)).success
        assert (await sub.set_subnet_identity(owner, 1, "values")).success
        for name, uri in neurons:
            w = dev_wallet(root, name, uri)
            assert (await sub.burned_register(w, 1)).success
            out.append(w)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("hook", "bad", "says"), [
    ("validator_task", {"truth": np.int64(5)}, "Task.truth holds a numpy.int64, " + PLAIN),
    ("journal_response", {"digest": object()}, "what it returned holds an object, " + PLAIN),
], ids=["truth", "journal_response"])
async def test_a_validator_whose_hook_returns_what_the_journal_cannot_carry_goes_on(
        tmp_path: Path, hook: str, bad: dict[str, Any], says: str) -> None:
    """A validator (against a dev node, a miner answering) whose first two steps return a value CBOR cannot encode:
    it logs plugin.hook_failed naming the hook (once, then not again for the same cause until its 10th), keeps the
    error in status.json, journals none of those steps and moves no score for them, and goes on stepping (it used
    to end with "internal error: CBOREncodeError")."""
    values = Values(**bad, bad_steps=2)
    plugin = Plugin.from_object("values", values)
    async with running_node(tmp_path / "node") as (_node, sub):
        miner, validator = await _values_subnet(sub, tmp_path, ("miner", "//Bob"), ("validator", "//Charlie"))
        common = {"plugin": plugin, "netuid": 1, "endpoint": sub.endpoint, "port": 0}
        vdir = tmp_path / "state" / "validator"
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                await tg.start(run_miner, NeuronConfig(wallet=miner, state_dir=tmp_path / "state" / "miner", **common))
                await tg.start(run_validator, NeuronConfig(wallet=validator, state_dir=vdir,
                                                           options={"timeout": "0.5"}, **common))
                while len(list(read_journal(vdir / "journal"))) < 2:
                    await sub.wait_for_block()
                errors = (StateDir(vdir).read_status() or {}).get("errors", [])
                tg.cancel_scope.cancel()
    failed = [e for e in logs if e["event"] == "plugin.hook_failed"]
    assert [(e["hook"], e["error"], e["times"]) for e in failed] == [(hook, failed[0]["error"], 1)]
    assert failed[0]["error"].startswith(says)
    assert f"plugin.{hook}: {failed[0]['error']}" in errors
    records = list(read_journal(vdir / "journal"))
    assert [r["step"] for r in records] == list(range(len(records)))  # the skipped steps took no step number
    assert not set(values.bad_blocks) & {r["block"] for r in records} and len(values.bad_blocks) == 2
    assert (StateDir(vdir).read_status() or {})["step"] == len(records)


@pytest.mark.slow
async def test_a_blacklist_or_priority_answering_something_else_is_a_500_naming_the_hook(tmp_path: Path) -> None:
    """A miner (against a dev node) whose miner_blacklist returns "no", a 4-tuple or a retry_after that is no
    number, or whose miner_priority returns a str or a bool: the caller gets 500 naming the hook and what it
    returned (not 403 for every caller, nor a priority read from a str), the miner logs it once; what the docs allow
    (a bool, numpy's included, (bool, reason), (bool, reason, retry_after), a number) keeps working."""
    values = Values()
    plugin = Plugin.from_object("values", values)
    cases: list[tuple[str, Any]] = [
        ("blacklist", "no"), ("blacklist", (True, "a", "b", "c")), ("blacklist", (True, "busy", "soon")),
        ("blacklist", False), ("blacklist", np.bool_(False)), ("blacklist", (False, "")),
        ("blacklist", True), ("blacklist", (True, "busy", 5.0)),
        ("priority", "5"), ("priority", True), ("priority", math.nan), ("priority", np.float64(2.0)), ("priority", 3),
    ]
    async with running_node(tmp_path / "node") as (_node, sub):
        [miner] = await _values_subnet(sub, tmp_path, ("miner", "//Bob"))
        config = NeuronConfig(plugin=plugin, netuid=1, wallet=miner, endpoint=sub.endpoint, port=0,
                              state_dir=tmp_path / "state" / "miner")
        got = []
        with capture_logs() as logs, anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                info = await tg.start(run_miner, config)
                async with Dendrite(Keypair.from_uri("//Values//caller")) as d:
                    for which, value in cases:
                        values.blacklist, values.priority = False, 1.0
                        setattr(values, which, value)
                        r = await d(info, Double(number=2), timeout=5.0)
                        got.append((r.dendrite.status_code, r.dendrite.status_message, r.dendrite.retry_after))
                tg.cancel_scope.cancel()
    prefix = "the miner_blacklist hook of subnet plugin 'values' failed: it returned "
    fix = "; return True to refuse the caller, False to let it in, or (bool, reason) or (bool, reason, retry_after " \
          "seconds)"
    assert got[:3] == [(500, f"{prefix}'no' (str){fix}", None),
                       (500, f"{prefix}(True, 'a', 'b', 'c') (tuple){fix}", None),
                       (500, f"{prefix}(True, 'busy', 'soon') (tuple){fix}", None)]
    assert [code for code, _, _ in got[3:6]] == [200, 200, 200]
    assert got[6][:2] == (403, "blacklisted: refused by the subnet's blacklist")
    assert got[7] == (403, "blacklisted: busy", 5.0)
    prefix = "the miner_priority hook of subnet plugin 'values' failed: it returned "
    fix = "; return a number (not NaN), higher served first"
    assert got[8:11] == [(500, f"{prefix}'5' (str){fix}", None), (500, f"{prefix}True (bool){fix}", None),
                         (500, f"{prefix}nan (float){fix}", None)]
    assert [code for code, _, _ in got[11:]] == [200, 200]
    failed = [(e["hook"], e["error"]) for e in logs if e["event"] == "plugin.hook_failed"]
    assert failed == [(("miner_blacklist" if i < 3 else "miner_priority"), m.partition(" failed: ")[2])
                      for i, (_, m, _) in enumerate(got[:3] + got[8:11])]
