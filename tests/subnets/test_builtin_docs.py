"""What the built-in subnets' pages tell a user matches the plugins: only the template answers organic queries (the
others' gateways refuse every one: "answers no organic query"), a network file opens no gateway unless a validator
row sets one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from taonet.plugins import load_plugin

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ("template", "compute", "oracle", "prompting")
REFUSAL = "answers no organic query"  # taonet.plugins' gateway refusal, as `taonet query` prints it


def _text(rel: str) -> str:
    """A page's text with its line breaks made spaces (sentences are checked, not their wrapping)."""
    return " ".join((ROOT / rel).read_text().split())


def _section(rel: str, heading: str) -> str:
    """The part of a page from ``heading`` to the next heading of the same level."""
    text = (ROOT / rel).read_text()
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n")
    end = text.find(f"\n{level} ", start + 1)
    return " ".join(text[start:end if end > 0 else None].split())


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_readme_says_whether_its_subnet_answers_organic_queries(name: str) -> None:
    """Only the template has `validator_organic`; the others' READMEs say their gateway refuses every query."""
    organic = load_plugin(name).implements("validator_organic")
    assert organic == (name == "template")
    readme = _text(f"subnets/{name}/README.md")
    if organic:
        assert 'gateway = "HOST:PORT"' in readme  # a network file's validator row must ask for a gateway
    else:
        assert f"subnet 2's plugin '{name}' {REFUSAL}" in readme


def test_the_built_in_subnets_section_says_only_the_template_answers_organic_queries() -> None:
    """docs/subnets.md's "Built-in subnets" names the refusal and where gateways come from."""
    section = _section("docs/subnets.md", "## Built-in subnets")
    assert REFUSAL in section and "gateway" in section


def test_the_launcher_page_says_a_network_file_opens_no_gateway_by_itself() -> None:
    """docs/launcher.md: the example file shows the row key, and the text says what happens without it."""
    page = _text("docs/launcher.md")
    assert '# gateway = "127.0.0.1:0"' in page and REFUSAL in page
    for example in ("network-one-subnet.toml", "network-two-subnets.toml"):  # true of the files it speaks of
        assert not re.search(r"^\s*gateway\s*=", (ROOT / "docs" / example).read_text(), flags=re.M)
