"""Counts in printed lines: the singular for one (the QA saw "1 neurons", "1 epochs", "1 validators")."""

from __future__ import annotations

import pytest

from taonet.tools._words import counted


@pytest.mark.parametrize(("n", "thing", "said"), [
    (1, "neuron", "1 neuron"), (0, "neuron", "0 neurons"), (2, "epoch", "2 epochs"), (1, "process", "1 process"),
    (6, "process", "6 processes"), (1_024, "block", "1,024 blocks"), (1, "weight setting", "1 weight setting")])
def test_a_count_is_singular_for_one_and_grouped_by_thousands(n: int, thing: str, said: str) -> None:
    assert counted(n, thing) == said
