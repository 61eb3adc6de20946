"""`taonet localnet`'s network, built as a :class:`NetworkSpec`: a dev node with fast blocks, one subnet per plugin,
funded development wallets, M validators (the first of each subnet with a gateway for organic queries) and N miners
per subnet placed N per neuron host."""

from __future__ import annotations

import attrs

from ._spec import LOCALNET_SOURCE, NetworkSpec, parse_network

__all__ = ["LOCALNET_TEMPO", "localnet_spec", "AUTO_PER_HOST"]

AUTO_PER_HOST = 36
"""Neurons per host process when none is asked for: two hosts share a 64 + 8 network over two cores."""
LOCALNET_TEMPO = 10
"""Blocks per epoch: validators hold a permit after the first epoch, so miners are paid at the second (~5 s)."""


def localnet_spec(*, plugins: tuple[str, ...] = ("template",), validators: int = 2, miners: int = 4,
                  block_time: float = 0.25, tempo: int = LOCALNET_TEMPO, per_host: int = 0,
                  stake: float = 1000.0, max_connections: int | None = None,
                  max_connections_per_address: int | None = None,
                  max_connections_per_network: int | None = None, rpc: str | None = None,
                  feed: str | None = None) -> NetworkSpec:
    """The network `taonet localnet` runs; ``per_host`` N puts at most N neurons in a host process (1: each in its
    own), 0 means AUTO_PER_HOST; ``max_connections*`` are the node's connection bounds (None: the node's default),
    checked as a network file's ``[node]`` keys, as are ``rpc`` and ``feed``, the node's addresses (None: 127.0.0.1:9944
    if free, else a free port; a free port)."""
    bounds = {"max_connections": max_connections, "max_connections_per_address": max_connections_per_address,
              "max_connections_per_network": max_connections_per_network, "rpc": rpc, "feed": feed}
    data = {
        "name": "localnet",
        "node": {k: v for k, v in bounds.items() if v is not None},
        "wallets": [{"name": "owner", "uri": "//Alice"}, {"name": "validator", "uri": "//Bob"},
                    {"name": "miner", "uri": "//Charlie"}],
        "subnets": [{"netuid": k, "plugin": p, "owner": "owner", "description": "taonet localnet",
                     "hyperparameters": {"tempo": tempo, "max_registrations_per_block": 4096,
                                         # the owner's permit comes on top (the chain's rule)
                                         "max_allowed_validators": max(validators, 1)}}
                    for k, p in enumerate(plugins, 1)],
        "neurons": [],
    }
    index = 0
    for k, p in enumerate(plugins, 1):
        for role, count, hotkey in (("validator", validators, "v"), ("miner", miners, "m")):
            for i in range(count):
                process = f"host-{index // (per_host or AUTO_PER_HOST)}"
                data["neurons"].append({"name": f"{role}-{k}-{i}", "role": role, "plugin": p, "netuid": k,
                                        "wallet": role, "hotkey": f"{hotkey}{k}-{i}", "process": process,
                                        **({"stake": stake} if role == "validator" else {}),
                                        # the first validator opens a gateway: `taonet query --netuid K` works
                                        **({"gateway": "127.0.0.1:0"} if role == "validator" and i == 0 else {})})
                index += 1
    from taonet.plugins.errors import UnknownPlugin

    from .errors import PluginFailedInFile, UnknownPluginInFile

    try:
        spec = parse_network(data, source=LOCALNET_SOURCE)
    except UnknownPluginInFile as e:  # no file to name: the --plugin given
        raise UnknownPlugin(name=e.name, installed=e.installed) from None
    except PluginFailedInFile as e:  # the same: the plugin's own error
        raise e.__cause__ or e from None
    return NetworkSpec(name=spec.name, node=attrs.evolve(spec.node, block_time=block_time), subnets=spec.subnets,
                       wallets=spec.wallets, neurons=spec.neurons, timeout=spec.timeout)
