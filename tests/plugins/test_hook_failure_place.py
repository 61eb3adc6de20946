"""A plugin's exception says where it happened: the innermost frame of its traceback in the plugin's own code
(``path:line, in function``, the path from the plugin's package on) is in the neuron's log line and status errors
(HookFailed's ``where``, its ``said``), never in what a caller is sent (``str()``); the whole traceback is a debug
line. Before, only ``KeyError: 'boom'`` was said, with no file or line even at debug level."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from taonet.plugins import Plugin
from taonet.plugins._neuron import MAX_PLACE, call_within, lifecycle, plugin_place
from taonet.plugins.errors import HookFailed

pytestmark = pytest.mark.anyio

PACKAGE = {
    "__init__.py": '''
        from taonet.kernel import Synapse
        from taonet.plugins import SubnetProtocol, Task, hookimpl

        from .scoring import score_all


        class Ask(Synapse):
            n: int = 0


        @hookimpl
        def subnet_protocol():
            return SubnetProtocol(name="placed", description="fails in its helpers", synapses=(Ask,))


        @hookimpl
        def validator_task(rng):
            return Task(synapse=Ask())


        @hookimpl
        def miner_forward(synapse):
            return synapse


        @hookimpl
        def reward(task, responses):
            return score_all(responses)


        @hookimpl
        def neuron_stop(context):
            raise RuntimeError("x" * 5000)
        ''',
    "scoring.py": '''
        import json


        def score_all(responses):
            return {r: _lookup({}, "boom") for r in responses} if responses else _parse("not json")


        def _lookup(scores, key):
            return scores[key]


        def _parse(text):
            return json.loads(text)
        ''',
}


@pytest.fixture
def placed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plugin:
    """The plugin of the package ``placed_pkg`` (its hooks in ``__init__``, its helpers in ``scoring``)."""
    pkg = tmp_path / "placed_pkg"
    pkg.mkdir()
    for name, source in PACKAGE.items():
        (pkg / name).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "placed_pkg", raising=False)
    monkeypatch.delitem(sys.modules, "placed_pkg.scoring", raising=False)
    import placed_pkg

    return Plugin.from_object("placed", placed_pkg)


def _line(text: str, file: str = "scoring.py") -> int:
    """The line of ``placed_pkg/FILE`` holding ``text``."""
    lines = textwrap.dedent(PACKAGE[file]).splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


async def _reward_fails(plugin: Plugin, responses: list[Any]) -> HookFailed:
    with pytest.raises(HookFailed) as info:
        await call_within(plugin, "reward", 5.0, "so this step was skipped", task=None, responses=responses,
                          metagraph=None, options={})
    return info.value


async def test_a_hooks_exception_names_the_plugins_innermost_frame(placed: Plugin) -> None:
    """A reward whose helper (another file of the package) raises KeyError: the place is that helper's line; one
    that calls json.loads on bad text: the plugin's line that called it, not json's own."""
    e = await _reward_fails(placed, ["5Miner"])
    line = _line("return scores[key]")
    assert (e.error, e.where) == ("KeyError: 'boom'", f"placed_pkg/scoring.py:{line}, in _lookup")
    assert e.said == f"KeyError: 'boom' (at {e.where})"
    assert "placed_pkg" not in str(e), "what a caller may be sent"
    e = await _reward_fails(placed, [])
    assert e.error.startswith("JSONDecodeError: Expecting value")
    assert e.where == f"placed_pkg/scoring.py:{_line('json.loads(text)')}, in _parse"
    assert isinstance(e.__cause__, KeyError | ValueError)  # its traceback, for the debug line


async def test_a_lifecycle_failure_is_one_bounded_line_and_its_traceback_is_a_debug_line(placed: Plugin) -> None:
    """neuron_stop raising with a 5,000-character message: the warning's error is bounded (300 characters of the
    cause, then the place), and the whole traceback follows at debug level, ending with the raise."""
    from taonet.plugins._log import get_logger

    with capture_logs() as logs:
        failed = await lifecycle(placed, "neuron_stop", get_logger("test"), context=None)
    assert isinstance(failed, HookFailed)
    [warning, debug] = logs
    assert (warning["event"], warning["log_level"], warning["hook"]) == ("plugin.hook_failed", "warning",
                                                                          "neuron_stop")
    line = _line("raise RuntimeError", "__init__.py")
    assert warning["error"] == f"RuntimeError: {'x' * 286} (at placed_pkg/__init__.py:{line}, in neuron_stop)"
    assert (debug["event"], debug["log_level"], debug["hook"]) == ("plugin.hook_traceback", "debug", "neuron_stop")
    assert debug["traceback"].startswith("Traceback (most recent call last):")
    assert 'raise RuntimeError("x" * 5000)' in debug["traceback"]
    assert len(debug["traceback"]) < 16_000


def test_no_frame_of_the_plugin_is_no_place_and_a_long_path_keeps_its_end(
        placed: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception raised outside the plugin's code has no place (""); a deep path is cut from its start."""
    with pytest.raises(ValueError, match="not the plugin") as outside:
        raise ValueError("not the plugin's")
    assert plugin_place(placed, outside.value) == ""
    deep = tmp_path.joinpath(*["d" * 30] * 8)
    deep.mkdir(parents=True)
    (deep / "deep_pkg.py").write_text("def boom():\n    raise KeyError('deep')\n")
    monkeypatch.syspath_prepend(str(deep))
    monkeypatch.delitem(sys.modules, "deep_pkg", raising=False)
    import deep_pkg

    with pytest.raises(KeyError) as info:
        deep_pkg.boom()
    monkeypatch.setattr(placed, "_roots", (str(deep / "deep_pkg.py"),))  # a lone module: its own file
    assert plugin_place(placed, info.value) == "deep_pkg.py:2, in boom"
    monkeypatch.setattr(placed, "_roots", (str(tmp_path),))
    place = plugin_place(placed, info.value)
    assert place.startswith("...") and place.endswith("/deep_pkg.py:2, in boom")
    assert len(place) == MAX_PLACE + len(":2, in boom")
