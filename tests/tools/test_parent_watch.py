"""taonet.tools.signals.watch_parent: what it refuses to watch (the launcher's own test kills a real launcher)."""

from __future__ import annotations

import os

import pytest

from taonet.tools.signals import PARENT_ENV, watch_parent


@pytest.mark.parametrize("value", [None, "", "launcher", "-5", "1", "0"])
def test_nothing_is_watched_without_a_parent_process_id(value: str | None) -> None:
    env = {} if value is None else {PARENT_ENV: value}
    assert watch_parent(env) is None


def test_a_process_id_that_is_not_the_parent_is_not_watched() -> None:
    """A grandchild inherits the variable from the launcher's child: its parent is the child, so it does not watch."""
    assert watch_parent({PARENT_ENV: str(os.getpid())}) is None

