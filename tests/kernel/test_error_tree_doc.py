"""docs/architecture.md says what catches what: TaonetError catches every error; KernelError is one branch of it."""

from __future__ import annotations

import inspect
from pathlib import Path

import taonet.kernel.errors as kernel_errors
from taonet.ledger.errors import LedgerError, TaonetError

PAGE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _errors_bullet() -> str:
    """The page's bullet about the error tree, its lines joined."""
    text = PAGE.read_text()
    start = text.index("- The errors stay one tree")
    return " ".join(text[start:text.index("\n\n", start)].split())


def test_the_page_names_every_branch_directly_under_taonet_error() -> None:
    """Each class of kernel/errors.py that derives from TaonetError directly (not through KernelError) is named,
    with LedgerError, and the page says TaonetError is what catches everything."""
    direct = {cls.__name__ for _, cls in inspect.getmembers(kernel_errors, inspect.isclass)
              if TaonetError in cls.__bases__ and cls.__module__ == kernel_errors.__name__}
    assert {"KernelError", "ProtocolError", "WalletError", "SynapseFrozen"} <= direct
    bullet = _errors_bullet()
    for name in sorted(direct | {LedgerError.__name__}):
        assert f"`{name}`" in bullet, name
    assert "catches `TaonetError` to catch every error" in bullet
    assert "a user catches `KernelError`" not in bullet
