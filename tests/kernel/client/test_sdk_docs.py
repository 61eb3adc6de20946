"""docs/sdk.md's examples run, as written, against a real dev node process."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from taonet.kernel import subtensor

from ..node.nodes import node_process

DOC = Path(__file__).resolve().parents[3] / "docs" / "sdk.md"
UP_FOR_BLOCKS = 30
"""The head the node reaches before the examples start: none of them may depend on running in its first seconds."""


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_sdk_page_has_examples() -> None:
    """The page holds the examples the next test runs."""
    assert len(_blocks()) >= 5


@pytest.mark.slow
def test_every_sdk_example_runs_against_a_dev_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Each python block of docs/sdk.md runs in order, in one namespace, against $TAONET_ENDPOINT, on a dev node
    at its default pace that has been up for a while (as when a reader types the examples by hand)."""
    with node_process(tmp_path / "node", block_time=0.1) as (_proc, addresses):
        with subtensor(addresses["rpc"], timeout=20) as sub:
            sub.wait_for_block(UP_FOR_BLOCKS, timeout=60)
        monkeypatch.setenv("TAONET_ENDPOINT", addresses["rpc"])
        monkeypatch.setenv("TAONET_METAGRAPH_DIR", str(tmp_path / "metagraphs"))
        namespace: dict[str, object] = {"__name__": "sdk_docs"}
        try:
            for i, code in enumerate(_blocks()):
                exec(compile(code, f"{DOC.name}[block {i}]", "exec"), namespace)
        finally:
            sub = namespace.get("sub")
            if sub is not None and not sub.closed:
                sub.close()
    out = capsys.readouterr().out
    assert "included" in out
    assert "no validator permit" in out
    assert os.environ["TAONET_ENDPOINT"] == addresses["rpc"]
