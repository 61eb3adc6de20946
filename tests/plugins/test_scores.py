"""Scores per hotkey and the weights computed from them: laws that hold for any scores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from taonet.plugins import update_scores, weights_for
from taonet.plugins._scores import prune_scores

hotkeys = st.lists(st.text("abcdef", min_size=1, max_size=4), min_size=1, max_size=12, unique=True)
unit = st.floats(0, 1, allow_nan=False)


@given(hks=hotkeys, data=st.data(), alpha=unit)
def test_moving_average_stays_in_unit_interval_and_moves_towards_the_step(hks: list[str], data: st.DataObject,
                                                                         alpha: float) -> None:
    """Each queried hotkey's average lies between its old value and its new score; others are unchanged."""
    old = {h: data.draw(unit) for h in hks}
    queried = data.draw(st.lists(st.sampled_from(hks), unique=True))
    step = {h: data.draw(unit) for h in queried}
    new = update_scores(old, step, alpha=alpha, queried=queried)
    for h in hks:
        if h in queried:
            lo, hi = sorted((old[h], step[h]))
            assert lo - 1e-12 <= new[h] <= hi + 1e-12
        else:
            assert new[h] == old[h]


def test_a_queried_hotkey_without_a_score_counts_as_zero() -> None:
    """A miner that was asked and not scored (the reward left it out) decays towards zero."""
    assert update_scores({"a": 1.0}, {}, alpha=0.5, queried=["a"]) == {"a": 0.5}


def test_new_hotkey_starts_from_zero_and_departed_are_dropped() -> None:
    """A hotkey seen for the first time starts at alpha * score; one no longer on the subnet is dropped."""
    s = update_scores({"old": 0.9}, {"new": 1.0}, alpha=0.1, queried=["new"])
    assert s == {"old": 0.9, "new": 0.1}
    assert prune_scores(s, ["new"]) == {"new": 0.1}


@given(data=st.data(), n=st.integers(1, 20), cap=st.floats(0.05, 1.0))
def test_weights_are_normalised_within_the_cap_and_follow_the_scores(data: st.DataObject, n: int, cap: float
                                                                     ) -> None:
    """Weights sum to 1, none above max(cap, 1/n), every UID listed, and a higher score never gets less weight."""
    hks = [f"h{i}" for i in range(n)]
    scores = {h: data.draw(unit) for h in hks}
    uids, w = weights_for(scores, hks, max_weight=cap)
    if sum(scores.values()) == 0:
        assert (uids, w) == ([], [])
        return
    assert uids == list(range(n))
    assert abs(sum(w) - 1.0) < 1e-9
    assert max(w) <= max(cap, 1.0 / n) + 1e-9
    for i in range(n):
        for j in range(n):
            if scores[hks[i]] > scores[hks[j]]:
                assert w[i] >= w[j] - 1e-9


def test_weights_follow_hotkeys_not_uids() -> None:
    """The weight of a UID is its current hotkey's score: a new owner of UID 1 gets nothing of the old one's."""
    scores = {"alice": 1.0, "bob": 0.5}
    assert weights_for(scores, ["alice", "bob"]) == ([0, 1], [1 / 1.5, 0.5 / 1.5])
    uids, w = weights_for(scores, ["alice", "carol"])
    assert uids == [0, 1] and w == [1.0, 0.0]
