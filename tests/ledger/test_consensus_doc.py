"""docs/consensus.md speaks of what a reader of the repository can open, and of commit-reveal as taonet has it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "consensus.md"


def test_the_page_points_only_inside_the_repository() -> None:
    """No path into the design notes kept beside the repository (shared/reference/..., DESIGN.md, yuma.md); every
    repository path it names in backquotes exists."""
    text = PAGE.read_text()
    for outside in ("shared/", "DESIGN.md", "yuma.md", "yuma-vectors/`)"):
        assert outside not in text, outside
    named = re.findall(r"`((?:tests|ledger|kernel|docs)/[\w./-]+)`", text)
    assert "tests/fixtures/yuma-vectors/" in named and "tests/ledger/test_yuma_vectors.py" in named
    for rel in named:
        assert (ROOT / rel).exists(), rel


def test_section_4_does_not_deny_commit_reveal() -> None:
    """§4 said "taonet has no commit-reveal" above a Commit-reveal section: it says how revealed weights enter."""
    text = PAGE.read_text()
    weights = text[text.index("## 4. Weights"):text.index("## 5. ")]
    assert "no commit-reveal" not in text
    assert "The epoch reads only revealed weights" in " ".join(weights.split())
    assert "## Commit-reveal" in text
