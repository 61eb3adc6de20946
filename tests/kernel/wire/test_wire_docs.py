"""docs/wire.md's examples run as written: the miner and validator of "A miner and a validator" (its blacklist's
REGISTERED was used undefined, so every call got a 500), and the "Wallets" snippet top to bottom (it regenerated a
coldkey over the one it had just made, KeyFileExists, and used list_wallets without importing it)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import anyio
import pytest

from taonet.kernel import AxonInfo, UnlockCost, Wallet

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[3] / "docs" / "wire.md"
MINER_ADDRESS = "tcp://0.0.0.0:8091"
"""The miner's address in the example, the one thing the test changes (to an ipc:// path: no port to collide)."""


def _python_block(after_heading: str) -> str:
    """The first python block of the page after the heading ``after_heading``."""
    text = DOC.read_text()
    start = text.index(f"\n{after_heading}\n")
    found = re.search(r"```python\n(.*?)```", text[start:], flags=re.S)
    assert found, f"docs/wire.md has no python block after {after_heading!r}"
    return found.group(1)


@pytest.fixture(autouse=True)
def wallet_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Wallets under the test's folder, no password from the caller's shell, no terminal to prompt on."""
    for var in ("TAONET_WALLET_NAME", "TAONET_WALLET_HOTKEY", "TAONET_PASSWORD", "TAONET_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TAONET_WALLET_PATH", str(tmp_path / "wallets"))
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    return tmp_path / "wallets"


async def test_the_miner_and_validator_example_answers_as_written(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """With the wallets the example names, its miner serves and its validator prints the miner's hotkey and 42."""
    for name in ("miner", "validator"):  # what the example's comment asks for (`taonet wallet create -w NAME`)
        Wallet(name).create(coldkey_password="pw", cost=UnlockCost.FAST)
    code = _python_block("## A miner and a validator")
    assert MINER_ADDRESS in code
    url = f"ipc://{tmp_path / 'miner.ipc'}"
    namespace: dict[str, object] = {"__name__": "wire_docs"}
    exec(compile(code.replace(MINER_ADDRESS, url), "docs/wire.md[miner and validator]", "exec"), namespace)
    miner = Wallet("miner")
    info = AxonInfo(ip="127.0.0.1", port=0, hotkey=miner.hotkey.ss58_address, coldkey=miner.coldkeypub.ss58_address,
                    url=url)
    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(namespace["miner"])  # type: ignore[arg-type]
            while not (tmp_path / "miner.ipc").exists():  # listening
                await anyio.sleep(0.01)
            await namespace["validator"]([info])  # type: ignore[operator]
            tg.cancel_scope.cancel()
    # what the example prints (the axon's log lines may come beside it, as another test of the worker set logging)
    words = capsys.readouterr().out.split()
    assert any(words[i:i + 2] == [miner.hotkey.ss58_address, "42"] for i in range(len(words))), words


def test_the_wallets_snippet_runs_top_to_bottom(wallet_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The snippet, run as written in a fresh wallet folder: the regenerated coldkey is the one it made, the
    development wallet holds //Alice's, and the listing shows both wallets."""
    namespace: dict[str, object] = {"__name__": "wire_docs"}
    exec(compile(_python_block("## Wallets"), "docs/wire.md[wallets]", "exec"), namespace)
    w, cold = namespace["w"], namespace["cold"]
    assert isinstance(w, Wallet)
    out = capsys.readouterr().out
    assert w.coldkeypub.ss58_address == cold.ss58_address  # type: ignore[attr-defined]
    assert w.coldkeypub.ss58_address in out and w.hotkey.ss58_address in out
    assert "['hot1']" in out and "['example', 'example-dev']" in out
    assert sorted(p.name for p in wallet_dir.iterdir()) == ["example", "example-dev"]


STREAM_ADDRESS = "tcp://127.0.0.1:8092"
"""The streaming example's axon address (the test puts it on an ipc:// path: no port to collide)."""


async def test_the_streaming_example_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The "Streaming" example (it was a fragment: model, dendrite and axon undefined, StreamingSynapse not imported)
    runs with the wallets it names: it prints the tokens as they come, then the completion and 200."""
    for name in ("miner", "validator"):
        Wallet(name).create(coldkey_password="pw", cost=UnlockCost.FAST)
    code = _python_block("## Streaming")
    assert STREAM_ADDRESS in code and 'if __name__ == "__main__":' in code
    namespace: dict[str, object] = {"__name__": "wire_docs"}
    exec(compile(code.replace(STREAM_ADDRESS, f"ipc://{tmp_path / 'stream.ipc'}"), "docs/wire.md[streaming]",
                 "exec"), namespace)
    with anyio.fail_after(30):
        await namespace["main"]()  # type: ignore[operator]
    out = capsys.readouterr().out  # the axon's log lines may come beside it, as another test set logging
    assert "to be or not  200" in out.splitlines(), out
    assert out.count("to be or not ") == 2, out  # the tokens as they came, then the completion
