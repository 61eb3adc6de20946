"""Whether a neuron's UID is the one a registration would replace next: the registrar's pruning rule
(``taonet.ledger.next_to_prune``) over the neuron's metagraph, said in its log and status.json before it happens."""

from __future__ import annotations

from typing import Any

__all__ = ["NEXT_TO_PRUNE_REPEAT", "PruneWatch", "prune_next"]

NEXT_TO_PRUNE_REPEAT = 100
"""Blocks before a neuron that is still (or again) next to prune says so again."""


def prune_next(mg: Any) -> int | None:
    """The UID a registration answered in the block after the metagraph's would replace; None while the subnet has a
    free UID (a registration takes that) or the metagraph carries no subnet info."""
    from taonet.ledger import next_to_prune, ss58_encode

    sn = getattr(mg, "subnet", None)
    if not sn or int(sn["n"]) < int(sn["max_n"]):
        return None
    owner = ss58_encode(sn["owner_hotkey"])
    rows = ((uid, int(mg.emission[uid]), int(mg.block_at_registration[uid]), mg.hotkeys[uid] == owner)
            for uid in range(mg.n))
    return next_to_prune(rows, mg.block + 1, int(sn["hyperparameters"]["immunity_period"]))


class PruneWatch:
    """Says (a warning) when this neuron's UID becomes the next a registration replaces, again at most every
    :data:`NEXT_TO_PRUNE_REPEAT` blocks while it stays so, and (info) when it no longer is."""

    def __init__(self, log: Any, role: str) -> None:
        self.log, self.role = log, role
        self.next = False
        self.said_at: int | None = None

    def update(self, mg: Any, uid: int | None, netuid: int) -> bool:
        """Whether ``uid`` is next to prune in ``mg`` (said in the log as described above)."""
        now = uid is not None and prune_next(mg) == uid
        if now and (not self.next or self.said_at is None or mg.block - self.said_at >= NEXT_TO_PRUNE_REPEAT):
            assert uid is not None
            sn = mg.subnet
            period = int(sn["hyperparameters"]["immunity_period"])
            immune = mg.block + 1 - int(mg.block_at_registration[uid]) < period
            self.log.warning(
                "neuron.next_to_prune", uid=uid, netuid=netuid, block=mg.block, emission=int(mg.emission[uid]),
                note=f"subnet {netuid} is full ({sn['n']} of {sn['max_n']} UIDs) and a registration now replaces UID "
                     f"{uid}: " + ("every neuron is still immune and this one has the lowest emission" if immune
                                   else "it has the lowest emission of the neurons past their immunity period"),
                hint=f"this {self.role} earns the least at the last epoch; `taonet metagraph {netuid}` shows the "
                     "others' emission")
            self.said_at = mg.block
        elif not now and self.next:
            self.log.info("neuron.no_longer_next_to_prune", uid=uid, netuid=netuid, block=mg.block)
        self.next = now
        return now
