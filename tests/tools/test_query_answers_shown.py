"""How `taonet query` prints an answer that is not text or a number, through the installed command: an object or a
list as compact JSON (it printed Python's repr, `{'sorted': [1, 3, 5, 9], 'checksum': 58}`), bytes as `0x` hex in
the plain lines and in `--json` (which held `"b'...'"`); and a `--validator` UID the subnet does not have is said as
such (it said that validator "publishes no gateway"). The subnet's plugin is an installed package of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from ..kernel.node.nodes import stop
from ..plugins.dists import install
from .cli import Cli, one_error
from .processes import TAONET_EXE, read_until, taonet_node

pytestmark = pytest.mark.slow

SHAPES = '''
from typing import Any

from taonet.kernel import Synapse
from taonet.plugins import SubnetProtocol, Task, hookimpl

ANSWERS = {{"dict": {{"sorted": [1, 3, 5, 9], "checksum": 58}}, "list": [1, "é", None], "bytes": b"\\x00\\xffab",
           "text": "plain text", "true": True}}


class Shape(Synapse):
    kind: str = ""
    out: Any = None

    def deserialize(self):
        return self.out


@hookimpl
def subnet_protocol():
    return SubnetProtocol(name={name!r}, description="answers in shapes", synapses=(Shape,))


@hookimpl
def validator_task(rng):
    return Task(synapse=Shape(kind="dict"))


@hookimpl
def validator_organic(payload):
    return Task(synapse=Shape(kind=str(payload)))


@hookimpl
def miner_forward(synapse):
    return synapse.replace(out=ANSWERS.get(synapse.kind))


@hookimpl
def reward(task, responses):
    return {{r.hotkey: 1.0 for r in responses}}
'''


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node whose subnet 1 runs the `shapes` plugin (installed for the test): a miner and a validator with a
    gateway, each a process."""
    root = tmp_path_factory.mktemp("shapes")
    install(root / "site", "shapes-subnet", "shapes", SHAPES)
    path = {"PYTHONPATH": f"{root / 'site'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with taonet_node(root / "node", "--block-time", "0.1") as (_proc, _header, addresses):
        cli = Cli(wallets=root / "wallets", endpoint=addresses["rpc"])
        cli.ok("wallet", "create", "-w", "owner", "-H", "validator")
        cli.ok("wallet", "create", "-w", "m", "-H", "miner")
        cli.ok("wallet", "faucet", "-w", "owner", "--amount", "2000")
        cli.ok("wallet", "faucet", "-w", "m", "--amount", "50")
        cli.ok("subnet", "create", "-w", "owner", "-H", "validator", "-y")
        cli.ok("subnet", "register", "1", "-w", "m", "-H", "miner", "-y")
        neurons = []
        try:
            for role, who, ready in (("miner", ("-w", "m", "-H", "miner", "--port", "0"), "miner.started"),
                                     ("validator", ("-w", "owner", "-H", "validator", "--gateway", "127.0.0.1:0"),
                                      "gateway.published")):
                neurons.append(subprocess.Popen([TAONET_EXE, role, "run", "--plugin", "shapes", "--netuid", "1",
                                                 *who, "--external-ip", "127.0.0.1"], stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True, env=cli.env(**path)))
                read_until(neurons[-1], lambda lines, ready=ready: any(ready in x for x in lines), 30)
            yield cli
        finally:
            for proc in neurons:
                stop(proc)


def test_an_object_a_list_or_bytes_is_printed_as_json_or_hex_not_as_pythons_repr(gateway: Cli) -> None:
    """PAYLOAD dict: `{"sorted":[1,3,5,9],"checksum":58}`; list: `[1,"é",null]`; bytes: `0x00ff6162` (plain, in
    the --all lines (the miner, UID 1) and in --json); text as it is, True as JSON's `true`."""
    shown = {kind: gateway.ok("query", "--netuid", "1", kind).stdout
             for kind in ("dict", "list", "bytes", "text", "true")}
    assert shown == {"dict": '{"sorted":[1,3,5,9],"checksum":58}\n', "list": '[1,"é",null]\n',
                     "bytes": "0x00ff6162\n", "text": "plain text\n", "true": "true\n"}, shown
    line = gateway.ok("query", "--netuid", "1", "--all", "dict").stdout.splitlines()[0]
    assert line.split("\t")[0] == "1" and line.split("\t")[2] == '{"sorted":[1,3,5,9],"checksum":58}', line
    doc = gateway.ok("query", "--netuid", "1", "--json", "bytes").json
    assert [a["answer"] for a in doc["answers"]] == ["0x00ff6162"], doc
    doc = gateway.ok("query", "--netuid", "1", "--json", "dict").json
    assert [a["answer"] for a in doc["answers"]] == [{"sorted": [1, 3, 5, 9], "checksum": 58}], doc


def test_a_validator_uid_the_subnet_does_not_have_is_said_as_such(gateway: Cli) -> None:
    """`--validator 99` on a subnet of UIDs 0..1: `subnet 1 has no UID 99 (its UIDs are 0..1)`, exit 6; UID 1 (the
    miner, no gateway) still `publishes no gateway`, exit 6."""
    line = one_error(gateway("query", "--netuid", "1", "--validator", "99", "dict"), 6)
    assert line == "error: subnet 1 has no UID 99 (its UIDs are 0..1): taonet metagraph 1 lists them", line
    line = one_error(gateway("query", "--netuid", "1", "--validator", "1", "dict"), 6)
    assert "publishes no gateway" in line, line
    assert json.loads(gateway.ok("query", "--netuid", "1", "--validator", "0", "--json", "text").stdout)["answers"]
