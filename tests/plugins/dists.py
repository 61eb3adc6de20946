"""Installed plugin packages for tests: a module and a ``*.dist-info`` (what pip writes) in a folder put on the path."""

from __future__ import annotations

from pathlib import Path

FULL_PLUGIN = '''
from taonet.plugins import SubnetProtocol, Task, hookimpl
from taonet.kernel import Synapse


class Echo(Synapse):
    text: str = ""


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="echoes text", synapses=(Echo,), options={{"loud": False}})


@hookimpl
def validator_task(rng):
    return Task(synapse=Echo(text=str(rng.random())))


@hookimpl
def miner_forward(synapse):
    return synapse


@hookimpl
def reward(task, responses):
    return {{r.hotkey: 1.0 for r in responses}}
'''

MISSING_HOOKS = '''
from taonet.plugins import SubnetProtocol, hookimpl
from taonet.kernel import Synapse


class Ping(Synapse):
    n: int = 0


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="only a protocol", synapses=(Ping,))


@hookimpl
def miner_forward(synapse):
    return synapse
'''

FAILS_TO_IMPORT = '''
import a_module_that_is_not_installed  # noqa: F401
'''

UNKNOWN_HOOK = FULL_PLUGIN + '''

@hookimpl
def miner_forwrd(synapse):
    return synapse
'''


def install(site: Path, package: str, plugin: str, source: str, *, module: str | None = None) -> Path:
    """Write ``module`` (default: ``package`` with underscores) and a dist-info declaring the entry point
    ``plugin = module`` in the ``taonet.subnets`` group; returns the module's path."""
    module = module or package.replace("-", "_")
    site.mkdir(parents=True, exist_ok=True)
    path = site / f"{module}.py"
    path.write_text(source.format(name=plugin, other="other"))
    info = site / f"{package.replace('-', '_')}-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[taonet.subnets]\n{plugin} = {module}\n")
    return path

CHATTY = '''
print("Loading model weights... done")
''' + FULL_PLUGIN.replace('    return SubnetProtocol(', '    print("protocol!")\n    return SubnetProtocol(')

EXITS_AT_IMPORT = '''
import sys
sys.exit("this plugin needs a GPU")
'''

CLASS_PLUGIN = '''
from taonet.plugins import SubnetProtocol, Task, hookimpl
from taonet.kernel import Synapse


class Echo(Synapse):
    text: str = ""


class Plugin:
    def __init__(self):
        self.suffix = "!"

    @hookimpl
    def subnet_protocol(self):
        return SubnetProtocol(name={name!r}, description="a class", synapses=(Echo,))

    @hookimpl
    def validator_task(self, rng):
        return Task(synapse=Echo(text="hi"))

    @hookimpl
    def miner_forward(self, synapse):
        return synapse.replace(text=synapse.text + self.suffix)

    @hookimpl
    def reward(self, task, responses):
        return {{}}
'''
