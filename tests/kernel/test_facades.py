"""The kernel's facades: what users import is there, every room's ``__all__`` resolves, the node loads on demand."""

from __future__ import annotations

import subprocess
import sys

import pytest

import taonet.kernel
from taonet.kernel import client, node, wire

USER_NAMES = ["Axon", "AxonConfig", "AxonInfo", "Balance", "Blocking", "Dendrite", "DendriteConfig", "ExtrinsicResult",
              "Metagraph", "Node", "NodeConfig", "Password", "RpcClient", "RpcServer", "Status", "StreamingSynapse",
              "Subtensor", "Synapse", "SynapseStream", "TerminalInfo", "UnlockCost", "WIRE_VERSION", "Wallet",
              "blocking", "errors", "list_wallets", "subtensor"]


@pytest.mark.parametrize("name", USER_NAMES)
def test_the_kernel_still_exports_what_users_import(name: str) -> None:
    """``from taonet.kernel import X`` keeps working for every name it offered before the rooms."""
    assert getattr(taonet.kernel, name) is not None


@pytest.mark.parametrize("room", [wire, client, node], ids=lambda m: m.__name__)
def test_every_name_a_room_exports_exists_and_is_documented(room: object) -> None:
    """Each room's ``__all__`` names real objects, each with a docstring (its one-line contract)."""
    names = room.__all__  # type: ignore[attr-defined]
    assert names
    for name in names:
        obj = getattr(room, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), f"{room.__name__}.{name} has no docstring"  # type: ignore


def test_an_unknown_name_is_an_attribute_error() -> None:
    """The lazy lookup of the node's names does not swallow typos."""
    with pytest.raises(AttributeError, match="Subtensr"):
        taonet.kernel.Subtensr  # noqa: B018


def test_reading_the_chain_does_not_load_the_node() -> None:
    """A script that imports the client and the wire through ``taonet.kernel`` imports no module of the node."""
    code = ("import sys\nfrom taonet.kernel import Subtensor, Axon, Dendrite, Wallet, Metagraph, subtensor\n"
            "print(sorted(m for m in sys.modules if m.startswith('taonet.kernel.node')))\n"
            "from taonet.kernel import Node\nprint(Node.__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["[]", "taonet.kernel.node._node"]
