"""A table that fits the terminal only without its two edge columns is fitted (addresses shortened), never left for
rich to cut a cell (`…` in the middle of an address at exactly 78-80 columns, found by a QA pass)."""

from __future__ import annotations

import io

from rich.console import Console

from taonet.tools.cli._common import Out, short_address

ADDRESS = "5" + "Q" * 47


def _printed(width: int) -> str:
    out = Out()
    out._console = Console(file=io.StringIO(), width=width, highlight=False)  # the terminal's width, captured
    out.table("t", ("NAME", "ADDRESS"), [("abc", ADDRESS)], left=("NAME", "ADDRESS"), shorten=("ADDRESS",))
    return out._console.file.getvalue()


def test_a_table_one_or_two_columns_too_wide_for_its_edges_shortens_its_addresses() -> None:
    cells = len("NAME") + 2 + len(ADDRESS)  # 54: the cells alone fit 54 and 55 columns, the table needs 56
    for width in (cells, cells + 1):
        shown = _printed(width)
        assert short_address(ADDRESS) in shown, shown
    assert ADDRESS in _printed(cells + 2)  # room for the whole table: the address whole
