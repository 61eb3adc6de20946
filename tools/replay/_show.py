"""``replay show``: a subnet's metagraph, or an account's balance and stake, at any block of the log."""

from __future__ import annotations

from typing import Any

import attrs

from taonet.kernel import Metagraph, NeuronInfo
from taonet.kernel.client import neurons_from_payload
from taonet.kernel.node import metagraph_payload
from taonet.ledger import State, ss58_encode
from taonet.ledger.errors import SubnetNotFound

__all__ = ["SubnetNotInLog", "account_at", "metagraph_at", "neurons_at"]


@attrs.define(auto_exc=True, str=False, slots=False)
class SubnetNotInLog(SubnetNotFound):
    """A subnet a replay command was asked about that does not exist at the block (or in the range): the same
    error (exit 6, code ``subnet_not_found``), saying how to list the subnets the log has."""

    data_dir: str = "DIR"
    """The data directory as the user gave it, quoted for a shell."""

    def __str__(self) -> str:
        return (f"{super().__str__()}: `taonet replay {self.data_dir} events --type SubnetCreated` lists the subnets "
                "and the block each was created in")


def neurons_at(state: State, netuid: int) -> list[NeuronInfo]:
    """Every neuron of ``netuid`` at ``state``'s block, as the client's ``neurons_lite`` reads them from a node."""
    if state.subnet(netuid) is None:
        raise SubnetNotFound(netuid=netuid, block=state.height)
    return neurons_from_payload(metagraph_payload(state, netuid))


def metagraph_at(state: State, netuid: int) -> Metagraph:
    """The :class:`Metagraph` of ``netuid`` at ``state``'s block, built as the node's ``metagraph`` RPC builds it."""
    if state.subnet(netuid) is None:
        raise SubnetNotFound(netuid=netuid, block=state.height)
    mg = Metagraph(netuid)
    mg.apply_payload(metagraph_payload(state, netuid))
    return mg


def account_at(state: State, coldkey: bytes) -> dict[str, Any]:
    """A coldkey's free balance, nonce and stake per hotkey (RAO) at ``state``'s block."""
    acct = state.account(coldkey)
    stakes = [{"hotkey": ss58_encode(h), "stake": amount} for (c, h), amount in sorted(state.items("stake"))
              if c == coldkey and amount]
    return {"block": state.height, "address": ss58_encode(coldkey), "free": acct.free, "nonce": acct.nonce,
            "stake": stakes, "total_stake": sum(s["stake"] for s in stakes)}
