"""set_subnet_identity: the owner records which plugin a subnet runs; the state, digest and snapshots carry it."""

from __future__ import annotations

import pytest

from taonet.ledger import SetSubnetIdentity, State, SubnetIdentity, SubnetIdentitySet
from taonet.ledger import errors as E

from .chains import ALICE, BOB, chain_with_subnet, tables
from .test_runtime import _builder, _rejects


def test_owner_sets_identity_and_it_is_in_state_and_events() -> None:
    """The owner's call stores the identity at the block and emits SubnetIdentitySet."""
    chain = chain_with_subnet(miners=0)
    chain.call(ALICE, SetSubnetIdentity(netuid=1, plugin="template", description="doubles numbers",
                                        url="https://example.org"))
    result = chain.seal()
    ident = chain.state.identity(1)
    assert ident == SubnetIdentity(plugin="template", description="doubles numbers", url="https://example.org",
                                   block=chain.height)
    assert not result.rejected
    assert [r.event for r in result.events if isinstance(r.event, SubnetIdentitySet)] == [
        SubnetIdentitySet(netuid=1, plugin="template", description="doubles numbers", url="https://example.org")]


def test_identity_changes_the_digest_and_clearing_restores_it() -> None:
    """Setting an identity changes the state digest; an empty plugin name clears it, as if never set."""
    chain = chain_with_subnet(miners=0)
    chain.call(ALICE, SetSubnetIdentity(netuid=1, plugin="template"))
    chain.seal()
    assert chain.state.cold_digest() == chain.state.digest()
    assert chain.state.identity(1) is not None
    chain.call(ALICE, SetSubnetIdentity(netuid=1, plugin=""))
    chain.seal()
    assert chain.state.identity(1) is None
    assert chain.state.cold_digest() == chain.state.digest()


def test_non_owner_is_refused_and_nothing_changes() -> None:
    """Someone other than the owner's coldkey gets NotSubnetOwner; the state is untouched."""
    chain = chain_with_subnet(miners=0)
    _rejects(chain, chain.sign(BOB, SetSubnetIdentity(netuid=1, plugin="template")), E.NotSubnetOwner)


def test_unknown_subnet_is_refused() -> None:
    """An identity for a subnet that does not exist is SubnetNotFound."""
    chain = chain_with_subnet(miners=0)
    _rejects(chain, chain.sign(ALICE, SetSubnetIdentity(netuid=9, plugin="template")), E.SubnetNotFound)


@pytest.mark.parametrize(("field", "value"), [("plugin", "Has Spaces"), ("plugin", "x" * 65),
                                              ("description", "d" * 257), ("url", "u" * 257)])
def test_identity_fields_are_bounded(field: str, value: str) -> None:
    """A plugin name that is not an entry-point name, or text over its bound, cannot even be built."""
    kwargs = {"netuid": 1, "plugin": "template", field: value}
    with pytest.raises((ValueError, TypeError)):
        SetSubnetIdentity(**kwargs)


def test_snapshot_round_trips_identity_and_omits_the_table_when_empty() -> None:
    """A snapshot carries identities; without any, its bytes hold no identity table (as older snapshots)."""
    chain = chain_with_subnet(miners=0)
    before = chain.state.to_snapshot()
    assert State.from_snapshot(before).digest() == chain.state.digest()
    assert b"ident" not in before
    chain.call(ALICE, SetSubnetIdentity(netuid=1, plugin="template", description="d"))
    chain.seal()
    snap = chain.state.to_snapshot()
    loaded = State.from_snapshot(snap)
    assert loaded.digest() == chain.state.digest()
    assert tables(loaded)["ident"] == tables(chain.state)["ident"]


def test_builder_rejection_leaves_digest() -> None:
    """A rejected identity call inside a block builder leaves that builder's state digest as it was."""
    chain = chain_with_subnet(miners=0)
    b = _builder(chain)
    before = b.state.digest()
    with pytest.raises(E.NotSubnetOwner):
        b.push(chain.sign(BOB, SetSubnetIdentity(netuid=1, plugin="template")))
    assert b.state.digest() == before
