"""`taonet subnet new NAME`: a separate plugin package, installed into a virtual environment beside taonet (no
network), is discovered through its entry point and its own generated tests pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .processes import error_lines, taonet

SITE = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir() and sys.prefix in p)


def test_subnet_new_writes_a_package_with_its_entry_point(tmp_path: Path) -> None:
    """The package holds a pyproject naming the entry point, the hooks, the protocol, tests and a README."""
    out, _ = taonet("subnet", "new", "my_net", "--path", str(tmp_path / "pkg"))
    assert out.returncode == 0, out.stderr
    root = tmp_path / "pkg"
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "taonet-subnet-my-net"
    assert meta["project"]["entry-points"]["taonet.subnets"] == {"my_net": "my_net"}
    for rel in ("my_net/__init__.py", "my_net/protocol.py", "tests/test_my_net.py", "README.md"):
        assert (root / rel).is_file(), rel
    source = (root / "my_net" / "__init__.py").read_text()
    assert 'NAME = "my_net"' in source and "@hookimpl" in source
    for rel in ("my_net/__init__.py", "my_net/protocol.py", "tests/test_my_net.py"):
        compile((root / rel).read_text(), rel, "exec")


@pytest.mark.parametrize(("args", "text"), [
    (["Bad-Name"], "is not a plugin name"),
    (["template"], "is taken by taonet's own template subnet"),
    (["class"], "'class' is a Python keyword, so `import class` cannot work"),
    (["random"], "'random' is a module of Python's standard library; the plugin's package would shadow it"),
    (["numpy"], "a module named 'numpy' is installed already"),
    (["taonet"], "a module named 'taonet' is installed already"),
    (["compute"], "the package taonet installs a subnet plugin named 'compute' already"),
])
def test_subnet_new_refuses_a_bad_name(tmp_path: Path, args: list[str], text: str) -> None:
    """A name that cannot be an entry point and a package, or that clashes with a module Python finds or another
    package's plugin (the package would shadow it, or fail to load): one line, status 2, nothing written."""
    out, _ = taonet("subnet", "new", *args, "--path", str(tmp_path / "pkg"))
    lines = error_lines(out.stderr)
    assert out.returncode == 2 and len(lines) == 1 and text in lines[0], out.stderr
    assert not (tmp_path / "pkg").exists()


def test_subnet_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    """Nothing is overwritten without --force."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mine.txt").write_text("keep")
    out, _ = taonet("subnet", "new", "ok", "--path", str(tmp_path / "pkg"))
    assert out.returncode == 2 and "is not empty" in out.stderr
    assert (tmp_path / "pkg" / "mine.txt").read_text() == "keep"


def _run(*cmd: str | Path, cwd: Path | None = None, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.mark.slow
def test_a_generated_package_installs_beside_taonet_and_its_tests_pass(tmp_path: Path) -> None:
    """A venv made with --system-site-packages and taonet's site beside it (no network): the package, installed
    without dependencies, is listed by `taonet subnet plugins` and its generated tests pass."""
    _run(sys.executable, "-m", "taonet.tools", "subnet", "new", "doubler", "--path", tmp_path / "pkg")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv)
    py = venv / "bin" / "python"
    venv_site = Path(_run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (venv_site / "taonet-beside.pth").write_text(f"import site; site.addsitedir({SITE!r})\n")
    can_pep660 = _run(py, "-c", "import importlib.util as u; print(bool(u.find_spec('wheel') or "
                                "u.find_spec('setuptools.command.bdist_wheel')))").stdout.strip() == "True"
    if can_pep660:
        _run(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-build-isolation",
             "--no-index", "-e", tmp_path / "pkg")
    else:  # a setuptools without bdist_wheel and no `wheel` package: the editable install setuptools itself does
        _run(py, "-c", "import sys; from setuptools import setup; sys.argv = ['setup.py', 'develop', '--no-deps']; "
                       "setup()", cwd=tmp_path / "pkg")
    listed = json.loads(_run(py, "-m", "taonet.tools", "subnet", "plugins", "--json").stdout)["plugins"]
    mine = next(p for p in listed if p["name"] == "doubler")
    assert mine["package"] == "taonet-subnet-doubler" and "error" not in mine
    result = _run(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path / "pkg", timeout=180)
    assert "3 passed" in result.stdout
