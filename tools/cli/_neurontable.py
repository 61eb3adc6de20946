"""The neuron table `subnet metagraph` and `wallet overview` share: btcli's columns, chosen to fit the terminal."""

from __future__ import annotations

from typing import Any

from ._common import Out

__all__ = ["COLUMNS", "DROP_ORDER", "columns", "neuron_json", "neuron_row"]

COLUMNS = ("COLDKEY", "HOTKEY", "UID", "ACTIVE", "STAKE(τ)", "RANK", "TRUST", "CONSENSUS", "INCENTIVE", "DIVIDENDS",
           "EMISSION(\u03c1)", "VTRUST", "VPERMIT", "UPDATED", "AXON", "HOTKEY_SS58")
"""Every column, in btcli's order (COLDKEY and HOTKEY are wallet names in an overview; EMISSION(ρ) is in RAO)."""  # noqa: RUF001

DROP_ORDER = ("AXON", "RANK", "TRUST", "VTRUST", "ACTIVE", "UPDATED", "CONSENSUS", "COLDKEY", "HOTKEY_SS58",
              "VPERMIT", "DIVIDENDS")
"""The columns left out first when a table is wider than the terminal (``--wide`` keeps them all)."""


def neuron_json(n: Any) -> dict[str, Any]:
    """One neuron as JSON (amounts in RAO)."""
    return {
        "netuid": n.netuid, "uid": n.uid, "hotkey": n.hotkey, "coldkey": n.coldkey, "active": n.active,
        "stake": n.stake.rao, "rank": n.rank, "trust": n.trust, "consensus": n.consensus, "incentive": n.incentive,
        "dividends": n.dividends, "emission": n.emission.rao, "vtrust": n.validator_trust,
        "vpermit": n.validator_permit, "updated": n.blocks_since_update, "last_update": n.last_update,
        "axon": _axon(n), "registered_at": n.block_at_registration,
    }


def columns(out: Out) -> list[str]:
    """:data:`COLUMNS`, with stake in RAO when ``--rao`` asks for it."""
    return [c.replace("(τ)", "(ρ)") if out.rao else c for c in COLUMNS]  # noqa: RUF001


def neuron_row(out: Out, n: Any, coldkey: str, hotkey: str) -> list[str]:
    """The cells of one neuron, in :data:`COLUMNS` order (``coldkey``/``hotkey``: names, or short addresses)."""
    return [
        coldkey, hotkey, str(n.uid), "*" if n.active else "", out.figure(n.stake.rao, 2).lstrip("τ"),
        f"{n.rank:.4f}", f"{n.trust:.4f}", f"{n.consensus:.4f}", f"{n.incentive:.4f}", f"{n.dividends:.4f}",
        f"{n.emission.rao:,}", f"{n.validator_trust:.4f}", "*" if n.validator_permit else "",
        str(n.blocks_since_update), _axon(n) or "", n.hotkey,
    ]


def _axon(n: Any) -> str | None:
    a = n.axon_info
    return f"{a.ip}:{a.port}" if a.is_serving else None
