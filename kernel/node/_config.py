"""How to run a node or a replica: its configuration, the system actors it expects, and its default directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import attrs

from taonet.ledger import GenesisConfig, Keypair

__all__ = ["ACTORS", "NodeConfig", "default_data_dir", "default_replica_dir"]

ACTORS = ("scheduler", "consensus", "registrar")
"""The system actors of the block pipeline, in the order their answers enter a block."""
ACTOR_MAX_REQUEST = 32 << 20
"""The largest request the actors' channel takes: an epoch result of a large subnet carries its bonds (the public RPC
takes far less, ``taonet.kernel.client.MAX_REQUEST``)."""


@attrs.frozen(kw_only=True)
class NodeConfig:
    """How to run a node (parsed once by the CLI or built by a test)."""

    data_dir: Path
    authority: Keypair
    genesis: GenesisConfig | None = None
    block_time: float = 12.0
    rpc: str = "tcp://127.0.0.1:9944"
    feed: str = "tcp://127.0.0.1:9945"
    clock: Literal["wall", "logical"] = "wall"
    actor_timeout: float | None = None
    local_actors: tuple[str, ...] = ACTORS
    actor_delays: dict[str, float] = attrs.field(factory=dict)
    fsync: bool = True
    snapshot_every: int = 1000
    epoch_index: bool = True
    """Keep each epoch's inputs beside the log (``chain/epochs/``, for ``replay what-if``; about 60 KB per epoch of a
    256-UID subnet with 64 validators): written after the block is published, off the event loop."""
    history_every: int = 10
    history_blocks: int = 1000
    mempool_limit: int = 200_000
    mempool_limit_bytes: int = 128 << 20
    """At most this many bytes of encoded extrinsics wait in the mempool (more get MempoolFull, unit bytes). Decoded,
    an extrinsic takes 3x (a transfer) to 20x (a 4,096-UID weight vector) its encoding in memory."""
    mempool_per_signer: int = 256
    """At most this many extrinsics of one signer wait in the mempool (more get SignerLimit)."""
    mempool_expire_blocks: int = 10
    """A signer whose first waiting nonce cannot apply for this many blocks loses what it has waiting."""
    mempool_known_signers_only: bool = True
    """Admit extrinsics that pay nothing only from keys the chain knows (see the mempool docs); admission only."""
    max_block_extrinsics: int = 20_000
    max_block_extrinsics_bytes: int = 64 << 20
    """At most this many bytes of encoded mempool extrinsics per block (at least one, however large); what does not
    fit waits for the next block, in order. Well under the 256 MiB a stored block may take, leaving room for the
    system calls and events."""
    block_budget: float | None = None
    """Seconds a block may spend applying mempool extrinsics (None: one block time); what does not fit waits for the
    next block, so a flood lengthens the queue, not the gap between blocks. Not applied with the logical clock,
    whose blocks must not depend on timing."""
    actors_rpc: str | None = None
    """The out-of-process actors' RPC address (None: the public RPC's port + 2, e.g. 9946; port 0 stays 0)."""
    max_connections: int = 4096
    """Connections each of the node's listening sockets (RPC, feed, actors' channel) accepts at once; one more is
    closed as it comes and its dialer retries (a crowd holding connections cannot use up the node's file
    descriptors, which it needs to store blocks). Existing connections, and sealing, are not affected."""
    max_connections_per_address: int = 512
    """Connections one remote address (an IPv4 address, an IPv6 /64) may hold on each of those sockets at once; one
    more from it is closed as it comes, so one host cannot take every connection and shut other new clients out. A
    localnet dials everything from 127.0.0.1: 64 miners and 8 validators in a process each held 73 RPC and 73 feed
    connections (one per process), seven times less than the default. Behind a proxy, where every client comes from
    the proxy's address, raise it to ``max_connections``."""
    max_connections_per_network: int | None = None
    """Connections one remote network (an IPv6 /48, an IPv4 /24) may hold on each of those sockets at once, however
    many addresses it dials from (None: 4 x ``max_connections_per_address``, at most ``max_connections``): one site
    cannot fill ``max_connections`` from many addresses. Behind a proxy, raise it with the per-address bound."""
    rpc_in_flight: int = 256
    """Public requests handled at once; more get ``Busy`` at once."""
    rpc_per_client: int = 16
    """Public requests in flight from one connection (nng pipe); more get ``Busy`` at once."""
    rpc_budget: float = 10.0
    """Seconds a public request may take on the node before it is cut off with ``Busy``."""
    rpc_wait_max: float = 5.0
    """The longest a short waiting request (``wait_block``, ``submit_wait``) waits on the node, in seconds."""
    read_threads: int = 2
    """Worker threads that fold past states for reads at an old block."""
    receipts_limit: int = 262_144
    """Outcomes of recent extrinsics kept for ``receipt`` (oldest forgotten first)."""
    tune_gc: bool = False
    """Freeze the opened state out of the cyclic GC and raise its thresholds (process-wide: for a process that
    is the node, as ``taonet node run``; library users and tests leave their process's GC alone)."""
    gc_full_every: float = 600.0
    """With ``tune_gc``: the node runs a full collection itself right after a seal once this many seconds have passed
    since the last full one (0: never). The raised thresholds leave the oldest generation uncollected for days, so
    cyclic garbage that reaches it would stay; one full collection takes tens of milliseconds, between two seals."""

    @property
    def block_budget_s(self) -> float | None:
        """The seconds a block may spend on mempool extrinsics, or None when only ``max_block_extrinsics`` bounds it."""
        if self.clock == "logical":
            return None
        return self.block_budget if self.block_budget is not None else self.block_time

    @property
    def actor_timeout_s(self) -> float:
        """Seconds an actor may take to answer before production pauses loudly (default 10 block times)."""
        return self.actor_timeout if self.actor_timeout is not None else 10 * self.block_time

    @property
    def actors_address(self) -> str:
        """Where out-of-process actors reach the node: ``actors_rpc``, or derived from ``rpc``."""
        if self.actors_rpc is not None:
            return self.actors_rpc
        rpc = self.rpc
        if rpc.startswith(("tcp://", "tcp4://", "tcp6://")):
            base, _, port = rpc.rpartition(":")
            if port.isdigit():
                return f"{base}:{0 if int(port) == 0 else int(port) + 2}"
        if rpc.startswith("ipc://"):
            return rpc + ".actors"
        return rpc + "-actors"


STOP_REASON = "a stop was asked (SIGTERM or Ctrl-C, or the caller cancelled the run)"
"""The reason ``node.stopped`` and ``replica.stopped`` give for a clean stop (a cancelled run)."""


def default_data_dir() -> Path:
    """``$TAONET_DATA_DIR`` or ``~/.taonet/node``."""
    return Path(os.environ.get("TAONET_DATA_DIR", Path.home() / ".taonet" / "node"))


def default_replica_dir() -> Path:
    """``$TAONET_REPLICA_DIR`` or ``~/.taonet/replica`` (never a node's directory: one writer per directory)."""
    return Path(os.environ.get("TAONET_REPLICA_DIR", Path.home() / ".taonet" / "replica"))
