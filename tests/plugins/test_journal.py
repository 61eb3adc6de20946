"""The validator's journal and state files: append-only frames, torn tails dropped, rotation under a cap, atomic
scores; and a journal step re-scored by the template's reward model."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.plugins import Scores, StateDir, load_plugin, read_journal, step_inputs
from taonet.plugins._journal import Journal
from taonet.plugins.errors import JournalDamaged

HEADER = {"plugin": "template", "netuid": 1, "hotkey": "5F..."}
cbor_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20)
                           | st.binary(max_size=20), lambda c: st.lists(c, max_size=4)
                           | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=10)


@settings(max_examples=30)
@given(payloads=st.lists(cbor_values, min_size=1, max_size=20))
def test_records_read_back_in_order_across_reopen(tmp_path_factory: object, payloads: list[object]) -> None:
    """What is appended is read back, in order, also after closing and opening the journal again."""
    folder = Path(tmp_path_factory.mktemp("j"))  # type: ignore[attr-defined]
    j = Journal(folder, HEADER).open()
    half = len(payloads) // 2
    for i, p in enumerate(payloads[:half]):
        j.append({"step": i, "data": p})
    j.close()
    j = Journal(folder, HEADER).open()
    assert j.last_step == (half - 1 if half else None)
    for i, p in enumerate(payloads[half:], start=half):
        j.append({"step": i, "data": p})
    j.close()
    assert [(r["step"], r["data"]) for r in read_journal(folder)] == list(enumerate(payloads))


def test_a_torn_last_frame_is_dropped_and_appending_goes_on(tmp_path: Path) -> None:
    """A frame cut short by a kill is dropped on open; the steps before it stay and new ones follow."""
    j = Journal(tmp_path, HEADER).open()
    for i in range(3):
        j.append({"step": i})
    j.close()
    seg = next(tmp_path.glob("journal-*.cbor"))
    with open(seg, "ab") as f:
        body = cbor2.dumps({"step": 3})
        f.write(len(body).to_bytes(4, "big") + body[:-1])  # the kill came mid-write
    j = Journal(tmp_path, HEADER).open()
    assert j.last_step == 2
    j.append({"step": 3})
    j.close()
    assert [r["step"] for r in read_journal(tmp_path)] == [0, 1, 2, 3]


def test_a_damaged_frame_is_refused_by_readers_and_never_cut_by_the_writer(tmp_path: Path) -> None:
    """A complete frame that is not CBOR (followed by valid ones): read_journal raises JournalDamaged naming the
    segment and offset instead of stopping there (a shorter journal re-scored as if whole); opening the journal to
    append keeps that segment byte for byte and goes on in a new one (it used to truncate everything after it).
    Zeros after the last frame stay a torn tail."""
    j = Journal(tmp_path, HEADER).open()
    for i in range(4):
        j.append({"step": i})
    j.close()
    seg = next(tmp_path.glob("journal-*.cbor"))
    raw = bytearray(seg.read_bytes())
    pos = 0
    for _ in range(2):  # past the header and step 0: the frame of step 1
        pos += 4 + int.from_bytes(raw[pos : pos + 4], "big")
    raw[pos + 4] = 0xFF  # a CBOR break code where a data item must be
    seg.write_bytes(bytes(raw))
    with pytest.raises(JournalDamaged) as e:
        list(read_journal(tmp_path))
    assert e.value.path == str(seg) and e.value.offset == pos and "restore the journal" in str(e.value)
    j = Journal(tmp_path, HEADER).open()
    j.append({"step": 4})
    j.close()
    assert seg.read_bytes() == bytes(raw) and len(list(tmp_path.glob("journal-*.cbor"))) == 2
    with pytest.raises(JournalDamaged):  # the older segment is still damaged: still refused, not skipped
        list(read_journal(tmp_path))
    fresh = tmp_path / "zeros"
    j = Journal(fresh, HEADER).open()
    j.append({"step": 0})
    j.close()
    with open(next(fresh.glob("journal-*.cbor")), "ab") as f:
        f.write(bytes(64))
    assert [r["step"] for r in read_journal(fresh)] == [0]


def test_rotation_keeps_the_journal_under_its_cap(tmp_path: Path) -> None:
    """Segments rotate at a quarter of the cap and the oldest go: the folder stays near the cap, newest kept."""
    cap = 64 * 1024
    j = Journal(tmp_path, HEADER, max_bytes=cap).open()
    for i in range(2000):
        j.append({"step": i, "pad": b"x" * 200})
    j.close()
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total <= cap + cap // 4 + 1024
    steps = [r["step"] for r in read_journal(tmp_path)]
    assert steps[-1] == 1999 and steps == list(range(steps[0], 2000)) and steps[0] > 0
    assert len(list(tmp_path.glob("journal-*.cbor"))) >= 4


def test_scores_are_saved_atomically_and_a_damaged_file_is_set_aside(tmp_path: Path) -> None:
    """Scores round-trip; an unreadable scores file is renamed .damaged and the validator starts afresh."""
    with StateDir(tmp_path / "v") as sd:
        assert sd.load_scores() is None
        s = Scores(step=7, block=100, weights_block=90, scores={"a": 0.5})
        sd.save_scores(s)
        assert sd.load_scores() == s
        sd.scores_file.write_bytes(b"not cbor at all \xff")
        assert sd.load_scores() is None
        assert (tmp_path / "v" / "scores.cbor.damaged").exists()


def test_a_second_neuron_on_one_state_dir_is_refused(tmp_path: Path) -> None:
    """The state directory's lock refuses a second neuron (StateDirBusy)."""
    import pytest

    from taonet.plugins.errors import StateDirBusy

    with StateDir(tmp_path / "v"), pytest.raises(StateDirBusy), StateDir(tmp_path / "v"):
        pass


def test_a_state_dir_that_cannot_be_made_is_one_error_the_host_does_not_retry(tmp_path: Path) -> None:
    """A file where the state directory (or its plugin/ folder) should be: StateDirUnusable naming the path, a
    PluginError, so the neuron host marks the neuron failed instead of restarting it forever on a raw
    FileExistsError (what `neurons run` did); the file is left as it was."""
    from taonet.plugins._host import _fatal
    from taonet.plugins.errors import StateDirUnusable

    (tmp_path / "afile").write_text("mine")
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "plugin").write_text("mine")
    for path in (tmp_path / "afile", tmp_path / "v", tmp_path / "afile" / "sub"):
        with pytest.raises(StateDirUnusable) as e, StateDir(path):
            pass
        assert str(e.value).startswith(f"{path} cannot be a neuron's state directory")
        assert _fatal(BaseExceptionGroup("neuron", [e.value])) is e.value
    assert (tmp_path / "afile").read_text() == "mine" and (tmp_path / "v" / "plugin").read_text() == "mine"


def test_a_journal_step_is_rescored_by_the_reward_model(tmp_path: Path) -> None:
    """step_inputs rebuilds a step's task and responses: the template's reward gives back the journaled scores."""
    plugin = load_plugin("template")
    opts = plugin.options()
    record = {"step": 0, "block": 5, "time": 0.0,
              "task": {"synapse": "Double", "fields": {"number": 21, "doubled": None}, "truth": 42, "timeout": 2.0},
              "responses": [{"uid": 1, "hotkey": "fast", "status": 200, "latency": 0.0, "data": {"doubled": 42}},
                            {"uid": 2, "hotkey": "slow", "status": 200, "latency": 1.0, "data": {"doubled": 42}},
                            {"uid": 3, "hotkey": "wrong", "status": 200, "latency": 0.0, "data": {"doubled": 43}},
                            {"uid": 4, "hotkey": "gone", "status": 408, "latency": 2.0, "data": None}],
              "scores": {}}
    task, responses = step_inputs(record, plugin.protocol.synapses)
    scores = plugin.hook.reward(task=task, responses=responses, metagraph=None, options=opts)
    assert scores == {"fast": 1.0, "slow": 0.75, "wrong": 0.0, "gone": 0.0}
