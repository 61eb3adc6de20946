"""The progress bar of `subnet pow-register` on a terminal: the tries the solver reports as it goes (past the
average too), and no "0 tries" before its first report; nothing in --json mode or without a terminal."""

from __future__ import annotations

import io
import re
import threading

from rich.console import Console

from taonet.tools.cli._common import Out
from taonet.tools.cli._pow import progress_bar


def _frames(difficulty: int, reports: list[int]) -> list[str]:
    """Each distinct line the bar drew (on a terminal) while the solver, on another thread as in
    `Subtensor.register`, reported ``reports``; the last is the bar's state when the solve ended."""
    out = Out()
    screen = io.StringIO()
    out._err = Console(file=screen, force_terminal=True, width=100, color_system=None)
    with progress_bar(out, difficulty) as tick:
        for tries in reports:
            solver = threading.Thread(target=tick, args=(tries,))
            solver.start()
            solver.join(timeout=10)
    lines = re.split(r"\r|\n|\x1b\[[0-9;?]*[A-Za-z]", screen.getvalue())
    return list(dict.fromkeys(line.strip() for line in lines if "tries" in line))


def test_before_any_report_the_bar_says_the_tries_expected_not_zero() -> None:
    """A solve that ends before the solver's first report (a small difficulty): never "0 tries"."""
    frames = _frames(1000, [])
    assert frames and all("about 1,000 tries expected" in f for f in frames), frames
    assert not any(re.search(r"(^|\s)0 tries", f) for f in frames), frames


def test_the_bar_counts_the_reported_tries_past_the_average() -> None:
    """Reports up to 300,000 tries against a difficulty of 120,000: the bar ends saying 300,000 (not stuck at 0, nor
    at 120,000 once past the average)."""
    frames = _frames(120_000, [50_000 * k for k in range(1, 7)])
    assert "about 120,000 tries expected" in frames[0], frames
    assert "300,000 tries (about 120,000 expected)" in frames[-1], frames


def test_the_bar_is_silent_in_json_mode_and_without_a_terminal() -> None:
    """--json, or stderr not a terminal: the callback does nothing and nothing is drawn."""
    for out, terminal in ((Out(as_json=True), True), (Out(), False)):
        screen = io.StringIO()
        out._err = Console(file=screen, force_terminal=terminal, width=100)
        with progress_bar(out, 1000) as tick:
            tick(50_000)
        assert screen.getvalue() == ""
