"""What a subnet author met on the command line (the installed `taonet`): `subnet new --force` names each file it
wrote over; what `subnet new` writes says nothing of the template it came from; `subnet plugins --options` shows every
choice however narrow the terminal; a mistyped `--plugin` gets the nearest installed name."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from ..plugins.dists import FULL_PLUGIN, install
from .processes import error_lines, taonet

CHOICES = ("honest", "wrong", "slow", "badtype", "nptype", "raise_in_forward", "timeout_forever", "huge_answer")
MANY_CHOICES = FULL_PLUGIN.replace('options={{"loud": False}}', 'options={{"loud": False, "mode": Option(default='
                                   f'"honest", help="miner behaviour", choices={CHOICES!r})}}}}').replace(
    "from taonet.plugins import SubnetProtocol,", "from taonet.plugins import Option, SubnetProtocol,")


def test_subnet_new_force_names_each_file_it_replaced(tmp_path: Path) -> None:
    """Over a generated package whose README and hooks were edited: one `replaced: PATH` line for each of those two
    (the files left as written are not named), and the package is as generated again."""
    pkg = tmp_path / "pkg"
    out, _ = taonet("subnet", "new", "sortr", "--path", str(pkg))
    assert out.returncode == 0 and "replaced" not in out.stdout, out
    (pkg / "README.md").write_text("my notes\n")
    (pkg / "sortr" / "__init__.py").write_text((pkg / "sortr" / "__init__.py").read_text() + "# my hook\n")
    out, _ = taonet("subnet", "new", "sortr", "--path", str(pkg), "--force")
    assert out.returncode == 0, out.stderr
    replaced = [line for line in out.stdout.splitlines() if line.startswith("replaced: ")]
    assert replaced == [f"replaced: {pkg / 'README.md'} (it held other text, now lost)",
                        f"replaced: {pkg / 'sortr' / '__init__.py'} (it held other text, now lost)"], out.stdout
    assert "# my hook" not in (pkg / "sortr" / "__init__.py").read_text()


def test_what_subnet_new_writes_says_nothing_of_the_template(tmp_path: Path) -> None:
    """No "template" left in the hooks or the protocol (their docstrings said "from taonet's template subnet", "The
    smallest complete plugin, and what `taonet subnet new` starts from", "The template's ..."); the README links to
    no bare https://github.com/, and it and the pyproject say taonet is to be installed from its checkout first."""
    pkg = tmp_path / "pkg"
    assert taonet("subnet", "new", "sortr", "--path", str(pkg))[0].returncode == 0
    for rel in ("sortr/__init__.py", "sortr/protocol.py"):
        text = (pkg / rel).read_text()
        assert not re.search("template|starts from", text, re.IGNORECASE), (rel, text[:600])
    assert '"""The sortr subnet: the validator sends a number' in (pkg / "sortr" / "__init__.py").read_text()
    readme = (pkg / "README.md").read_text()
    assert "https://github.com/" not in readme and "a few seconds" not in readme, readme
    assert "taonet is not on PyPI" in readme and "pip install -e PATH/TO/taonet" in readme, readme
    pyproject = (pkg / "pyproject.toml").read_text()
    assert "taonet is not on PyPI" in pyproject, pyproject
    assert tomllib.loads(pyproject)["project"]["dependencies"] == ["taonet"]


def test_subnet_plugins_options_show_every_choice_in_80_columns(tmp_path: Path) -> None:
    """A choice list wider than the DESCRIPTION column (it ended in `…`, `{honest|wrong|slow|badtype|nptype|r…`) is
    folded onto the next lines: every choice is there."""
    site = tmp_path / "site"
    install(site, "many-subnet", "many", MANY_CHOICES)
    out, _ = taonet("subnet", "plugins", "--options", env={"PYTHONPATH": f"{site}{os.pathsep}"
                                                           f"{os.environ.get('PYTHONPATH', '')}", "COLUMNS": "80"})
    assert out.returncode == 0, out.stderr
    assert max(map(len, out.stdout.splitlines())) <= 80 and "…" not in out.stdout, out.stdout
    assert "mode=honest{" + "|".join(CHOICES) + "}" in "".join(out.stdout.split()), out.stdout


def test_a_mistyped_plugin_gets_the_nearest_installed_name(tmp_path: Path) -> None:
    """`subnet create --plugin tmplate`: `(did you mean template? installed: ...)`, exit 6, before any node is
    asked; a name near none is said as before."""
    common = ("-w", "owner", "-H", "default", "-e", "tcp://127.0.0.1:1", "-y")
    out, _ = taonet("subnet", "create", "--plugin", "tmplate", *common, env={"TAONET_WALLET_PATH": str(tmp_path)})
    lines = error_lines(out.stderr)
    assert out.returncode == 6 and len(lines) == 1, out.stderr
    assert lines[0].startswith("error: no subnet plugin named 'tmplate' is installed (did you mean template? "
                               "installed: "), lines
    out, _ = taonet("subnet", "create", "--plugin", "zzzz", *common, env={"TAONET_WALLET_PATH": str(tmp_path)})
    assert out.returncode == 6 and "did you mean" not in out.stderr, out.stderr


def test_query_timeout_default_is_the_one_docs_cli_md_says() -> None:
    """`query --help` says 12 (the gateway's answer, after the miners'), and docs/cli.md's `taonet query` row says
    12 too, apart from the reading commands' 10 (it said only those 10 s, for every command)."""
    out, _ = taonet("query", "--help", env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    text = " ".join(out.stdout.split())
    assert "Seconds to wait for the gateway's answer" in text and "[default: 12.0]" in text, text
    row = next(line for line in (Path(__file__).parents[2] / "docs" / "cli.md").read_text().splitlines()
               if line.startswith("| `taonet query --netuid K"))
    assert "`--timeout S` is the seconds it waits for the gateway's answer, default 12" in row, row
