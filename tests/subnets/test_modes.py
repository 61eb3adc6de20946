"""Every built-in subnet's exploit modes are options of the plugin itself; a mode that does not exist is an error."""

from __future__ import annotations

import inspect
from pathlib import Path

import anyio
import pytest

from taonet.plugins import NeuronContext, load_plugin
from taonet.plugins.errors import InvalidOption
from taonet.subnets.compute import MatMul
from taonet.subnets.oracle import Forecast
from taonet.subnets.prompting import Complete


@pytest.mark.parametrize("plugin_name", ["compute", "oracle", "prompting"])
def test_an_unknown_mode_is_an_error_not_honest_mining(plugin_name: str) -> None:
    """A mode that does not exist is refused before the neuron starts (the option's choices); options handed to the
    hooks without that check still fail the miner's start and answers with the list of modes."""
    plugin = load_plugin(plugin_name)
    with pytest.raises(InvalidOption, match=r"^option 'mode': 'honset' is not one of honest, "):
        plugin.options({"mode": "honset"})
    options = {**plugin.options(), "mode": "honset"}
    context = NeuronContext(role="miner", netuid=1, hotkey="h", uid=1, options=options, plugin_dir=Path("/none"))

    async def start() -> None:
        for result in plugin.hook.neuron_start(context=context):  # a lifecycle hook: a list (of coroutines if async)
            if inspect.isawaitable(result):
                await result

    with pytest.raises(ValueError, match=r"^mode must be one of honest, .*, not 'honset'$"):
        anyio.run(start)
    task = load_plugin(plugin_name)
    syn = {"compute": lambda: MatMul(n=1, a=b"\x01", b=b"\x01"),
           "oracle": lambda: Forecast(block=1, horizon=8, prices=[1]),
           "prompting": lambda: Complete(prompt="thee", seed=1, length=2)}[plugin_name]()
    with pytest.raises(ValueError, match="mode must be one of"):
        list(task.hook.miner_forward(synapse=syn, options=options) or ())
