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
    history_every: int = 10
    history_blocks: int = 1000
    mempool_limit: int = 200_000
    mempool_per_signer: int = 256
    """At most this many extrinsics of one signer wait in the mempool (more get SignerLimit)."""
    mempool_expire_blocks: int = 10
    """A signer whose first waiting nonce cannot apply for this many blocks loses what it has waiting."""
    mempool_known_signers_only: bool = True
    """Admit extrinsics that pay nothing only from keys the chain knows (see the mempool docs); admission only."""
    max_block_extrinsics: int = 20_000

    @property
    def actor_timeout_s(self) -> float:
        """Seconds an actor may take to answer before production pauses loudly (default 10 block times)."""
        return self.actor_timeout if self.actor_timeout is not None else 10 * self.block_time


def default_data_dir() -> Path:
    """``$TAONET_DATA_DIR`` or ``~/.taonet/node``."""
    return Path(os.environ.get("TAONET_DATA_DIR", Path.home() / ".taonet" / "node"))


def default_replica_dir() -> Path:
    """``$TAONET_REPLICA_DIR`` or ``~/.taonet/replica`` (never a node's directory: one writer per directory)."""
    return Path(os.environ.get("TAONET_REPLICA_DIR", Path.home() / ".taonet" / "replica"))
