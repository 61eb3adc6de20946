"""`taonet query --json-payload`: PAYLOAD read as JSON and sent as the value it holds (it sent only an int or a
string), through the installed `taonet`. Text that is no JSON, or a value the wire cannot carry (an int beyond 64
bits, NaN, nesting a gateway cannot decode), is one `error:` line naming PAYLOAD, exit 2, before any node is
asked; a value that travels reaches the subnet's plugin (the template takes an int or a string of digits, and
refuses anything else with exit 3, as docs/cli.md says)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..kernel.client.test_blocking import free_address
from ..kernel.node.nodes import stop
from .cli import Cli, one_error
from .processes import TAONET_EXE, read_until, taonet_node


@pytest.mark.parametrize(("payload", "says"), [
    ('{"a": ', "'{\"a\": ' is not JSON (expecting value at character 7); give one JSON value"),
    ("hello", "'hello' is not JSON (expecting value at character 1); give one JSON value, quoted for the shell: "
              "'{\"a\": [1, 2]}', text in double quotes: '\"hello\"'"),
    ("1 2", "'1 2' is not JSON (extra data at character 3)"),
    ("[1, NaN]", "'[1, NaN]' holds NaN, which is not JSON: send a number, or null"),
    (f'{{"big": [{1 << 64}]}}', f"'{{\"big\": [{1 << 64}]}}' holds an int of 65 bits, which the wire cannot carry "
                                 "(at most 64: -2**64 .. 2**64-1); send it as text"),
    ("[" * 25 + "]" * 25, "nests lists and objects deeper than 24 levels, which a gateway cannot take"),
    ('{"a": ' * 25 + "1" + "}" * 25, "nests lists and objects deeper than 24 levels"),
    ("[" * 5000 + "]" * 5000, "nests lists and objects deeper than 24 levels, which a gateway cannot take"),
    ("[1e400]", "holds a number beyond a float's range (JSON reads it as infinity)"),
])
def test_a_payload_that_is_no_json_or_that_the_wire_cannot_carry_is_a_usage_error(tmp_path: Path, payload: str,
                                                                                  says: str) -> None:
    """One line naming PAYLOAD, what is wrong and (for text that is no JSON) how to write it; exit 2, with nothing
    listening at the endpoint (it is refused before connecting)."""
    offline = Cli(wallets=tmp_path / "wallets", endpoint=free_address())
    line = one_error(offline("query", "--netuid", "1", "--json-payload", payload, "--timeout", "0.5"), 2)
    assert line.startswith("error: Invalid value for PAYLOAD: ") and says in line, line


def test_the_payloads_the_wire_carries_pass_the_cli_with_or_without_json(tmp_path: Path) -> None:
    """-2**64 as PAYLOAD or in JSON, 24 nested lists: past the CLI's checks to the (absent) node, exit 4; -2**64 - 1 is
    refused as beyond 64 bits both ways (PAYLOAD took -2**63 at least before, JSON -2**64)."""
    offline = Cli(wallets=tmp_path / "wallets", endpoint=free_address())
    deep = "[" * 24 + "]" * 24
    for args in (("--", str(-(1 << 64))), ("--json-payload", f"[{-(1 << 64)}]"), ("--json-payload", deep)):
        one_error(offline("query", "--netuid", "1", "--timeout", "0.5", *args), 4)
    for args in (("--", str(-(1 << 64) - 1)), ("--json-payload", f"[{-(1 << 64) - 1}]")):
        assert "64" in one_error(offline("query", "--netuid", "1", "--timeout", "0.5", *args), 2)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A dev node whose subnet 1 runs the template, a miner and a validator with a gateway (both processes)."""
    root = tmp_path_factory.mktemp("payload")
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
                neurons.append(subprocess.Popen([TAONET_EXE, role, "run", "--plugin", "template", "--netuid", "1",
                                                 *who, "--external-ip", "127.0.0.1"], stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, text=True, env=cli.env()))
                read_until(neurons[-1], lambda lines, ready=ready: any(ready in x for x in lines), 30)
            yield cli
        finally:
            for proc in neurons:
                stop(proc)


@pytest.mark.slow
def test_a_json_payload_reaches_the_subnets_plugin_as_the_value_it_holds(gateway: Cli) -> None:
    """A JSON number and JSON text are what the template takes (21 and "21": 42, as PAYLOAD 21 is; '"21"' without
    --json-payload is the text with its quotes, which it refuses); an object reaches its validator_organic too, which
    refuses it (exit 3, "does not take this payload"), where the dendrite refuses what the wire cannot carry."""
    assert gateway.ok("query", "--netuid", "1", "--json-payload", "21").stdout == "42\n"
    doc = gateway.ok("query", "--netuid", "1", "--json-payload", '"21"', "--json").json
    assert [a["answer"] for a in doc["answers"]] == [42], doc
    assert "does not take this payload" in one_error(gateway("query", "--netuid", "1", '"21"'), 3)
    line = one_error(gateway("query", "--netuid", "1", "--json-payload", json.dumps({"a": [1, 2]})), 3)
    assert "does not take this payload" in line, line
    deepest = "[" * 24 + "]" * 24  # as deep as the CLI lets through: the gateway decodes it (a peer stops at 32)
    assert "does not take this payload" in one_error(gateway("query", "--netuid", "1", "--json-payload", deepest), 3)
