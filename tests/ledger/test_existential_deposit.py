"""The existential deposit: no zero transfers and no dust-made accounts on a new chain; an old chain keeps its rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.ledger import (
    EXISTENTIAL_DEPOSIT,
    TAO,
    AddStake,
    Chain,
    ChainParams,
    FileStore,
    GenesisConfig,
    Keypair,
    Nominate,
    State,
    Transfer,
    decode,
    dev_genesis,
    dump_genesis,
    encode,
    load_genesis,
)
from taonet.ledger import errors as E
from taonet.ledger._calls import Genesis
from taonet.ledger._codec import Message, dumps, field_int, message

from .chains import ALICE, BOB, OWNER_HOT, chain_with_subnet, new_chain
from .test_old_chain import FIXTURE
from .test_runtime import _builder, _rejects

FRESH = Keypair.from_uri("//fresh")


def _sealed(chain: Chain, keypair: Keypair, call: Transfer) -> None:
    chain.call(keypair, call)
    result = chain.seal()
    assert not result.rejected, result.rejected


# --- the parameter ---------------------------------------------------------------------------------------------------


def test_a_new_chain_has_the_real_chains_deposit_of_500_rao() -> None:
    """ChainParams, dev_genesis and a chain built from it default to 500 RAO."""
    assert EXISTENTIAL_DEPOSIT == 500
    assert ChainParams(chain_id="x", authority=bytes(32)).existential_deposit == 500
    config, _ = dev_genesis()
    assert config.params.existential_deposit == 500
    assert new_chain().state.params.existential_deposit == 500


def test_old_params_bytes_decode_with_the_rule_off_and_encode_unchanged() -> None:
    """Parameters without the field (as written before it existed) decode to 0 and re-encode to the same bytes, so
    the state digest over them is unchanged; a non-zero deposit is written and read back."""
    old = ChainParams(chain_id="x", authority=bytes(32), existential_deposit=0)
    raw = encode(old)
    assert b"existential_deposit" not in raw
    assert decode(raw, ChainParams).existential_deposit == 0
    new = attrs.evolve(old, existential_deposit=500)
    assert b"existential_deposit" in encode(new)
    assert decode(encode(new), ChainParams) == new


def test_the_committed_old_chain_has_the_rule_off(tmp_path: Path) -> None:
    """The fixture's genesis (made before the deposit existed) carries no deposit, and its config bytes re-encode
    identically."""
    shutil.copytree(FIXTURE, tmp_path / "c")
    with FileStore(tmp_path / "c", fsync=False) as store:
        call = store.get(0).extrinsics[0].call
    assert isinstance(call, Genesis)
    config = decode(call.config, GenesisConfig)
    assert config.params.existential_deposit == 0
    assert encode(config) == call.config


@message("test.absent_widget")
class _Widget(Message):
    size: int = field_int()
    extra: int = field_int(default=7, absent=0)


def test_a_field_with_an_absent_value_is_left_out_and_refused_when_written_in_canonical_form() -> None:
    """The codec leaves a field out while it holds its absent value; canonical decoding refuses it written out."""
    assert encode(_Widget(size=1, extra=0)) == dumps(["test.absent_widget", 1, {"size": 1}])
    assert decode(dumps(["test.absent_widget", 1, {"size": 1}])) == _Widget(size=1, extra=0)
    assert decode(encode(_Widget(size=1))) == _Widget(size=1, extra=7)
    explicit = dumps(["test.absent_widget", 1, {"size": 1, "extra": 0}])
    assert decode(explicit) == _Widget(size=1, extra=0)
    with pytest.raises(E.NonCanonical):
        decode(explicit, canonical=True)


def test_a_genesis_file_without_the_deposit_keeps_the_rule_off(tmp_path: Path) -> None:
    """A genesis file written before the deposit existed makes the same chain as before (rule off); dump_genesis
    always writes the deposit, so a new file round-trips it."""
    config, _ = dev_genesis()
    dump_genesis(config, tmp_path / "g.json")
    assert load_genesis(tmp_path / "g.json").params.existential_deposit == 500
    data = json.loads((tmp_path / "g.json").read_text())
    del data["params"]["existential_deposit"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert load_genesis(tmp_path / "old.json").params.existential_deposit == 0


# --- the rule --------------------------------------------------------------------------------------------------------


@pytest.fixture
def chain() -> Chain:
    """A dev chain with the default deposit (500 RAO) and subnet 1."""
    return chain_with_subnet(miners=1)


def test_a_zero_transfer_is_refused(chain: Chain) -> None:
    """0 RAO is ZeroTransfer, to a new account and to an existing one alike; the state is untouched."""
    for dest in (FRESH.public_key, BOB.public_key):
        err = _rejects(chain, chain.sign(ALICE, Transfer(dest=dest, amount=0)), E.ZeroTransfer)
        assert err.CODE == "zero_transfer" and "0 RAO" in str(err)


def test_dust_to_an_account_that_does_not_exist_is_refused(chain: Chain) -> None:
    """Below the deposit to a new account is BelowExistentialDeposit(amount, minimum); the state is untouched."""
    err = _rejects(chain, chain.sign(ALICE, Transfer(dest=FRESH.public_key, amount=499)), E.BelowExistentialDeposit)
    assert (err.amount, err.minimum) == (499, 500)
    assert "at least 500 RAO" in str(err)
    assert not chain.state.account_exists(FRESH.public_key)


def test_the_deposit_creates_an_account_which_then_takes_dust(chain: Chain) -> None:
    """Exactly the deposit creates the account; after that any non-zero amount may follow."""
    _sealed(chain, ALICE, Transfer(dest=FRESH.public_key, amount=500))
    assert chain.state.account_exists(FRESH.public_key)
    _sealed(chain, ALICE, Transfer(dest=FRESH.public_key, amount=1))
    assert chain.state.free(FRESH.public_key) == 501


def test_the_sender_may_go_down_to_zero_and_still_exists_by_its_nonce(chain: Chain) -> None:
    """No reaping: an account may send everything; with free 0 it exists by its nonce and still takes 1 RAO."""
    _sealed(chain, ALICE, Transfer(dest=FRESH.public_key, amount=600))
    _sealed(chain, FRESH, Transfer(dest=BOB.public_key, amount=600))
    account = chain.state.account(FRESH.public_key)
    assert (account.free, account.nonce) == (0, 1)
    assert chain.state.account_exists(FRESH.public_key)
    _sealed(chain, ALICE, Transfer(dest=FRESH.public_key, amount=1))


def test_an_account_exists_by_stake_alone() -> None:
    """Stake held as a coldkey makes an account exist (free 0, nonce 0), through a snapshot too; removing the last
    stake ends it."""
    s = State()
    who, hotkey = FRESH.public_key, OWNER_HOT.public_key
    assert not s.account_exists(who)
    s.add_stake(who, hotkey, 10)
    s.add_stake(who, BOB.public_key, 5)
    assert s.account_exists(who)
    s.add_stake(who, hotkey, -10)
    assert s.account_exists(who)
    s.add_stake(who, BOB.public_key, -5)
    assert not s.account_exists(who)


def test_the_stake_index_behind_existence_is_rebuilt_from_a_snapshot(chain: Chain) -> None:
    """A coldkey that staked all it had keeps its stake count through a snapshot."""
    staker = Keypair.from_uri("//staker")
    chain.call(ALICE, Nominate(hotkey=OWNER_HOT.public_key, take=0))
    _sealed(chain, ALICE, Transfer(dest=staker.public_key, amount=TAO))
    chain.call(staker, AddStake(hotkey=OWNER_HOT.public_key, amount=TAO))
    assert not chain.seal().rejected
    assert chain.state.free(staker.public_key) == 0
    again = State.from_snapshot(chain.state.to_snapshot())
    assert again.get("coldstake", staker.public_key) == 1
    assert again.account_exists(staker.public_key)


def test_with_the_rule_off_zero_and_dust_transfers_pass_as_before() -> None:
    """A chain whose deposit is 0 (every chain made before it existed) takes zero and dust transfers."""
    config, authority = dev_genesis(existential_deposit=0)
    chain = Chain.create(config, authority)
    chain.call(ALICE, Transfer(dest=FRESH.public_key, amount=1))
    chain.call(BOB, Transfer(dest=Keypair.from_uri("//other").public_key, amount=0))
    assert not chain.seal().rejected
    assert chain.state.free(FRESH.public_key) == 1


# destinations: new, funded, emptied (sent everything away), staked (staked everything); only "new" does not exist
_KINDS = ("new", "funded", "emptied", "staked")
_SETUP = chain_with_subnet(miners=1)
_EMPTIED, _STAKED, _FUNDED = (Keypair.from_uri(f"//kind//{k}") for k in ("emptied", "staked", "funded"))
_SETUP.call(ALICE, Transfer(dest=_EMPTIED.public_key, amount=1000))
_SETUP.call(ALICE, Transfer(dest=_STAKED.public_key, amount=TAO))
_SETUP.call(ALICE, Transfer(dest=_FUNDED.public_key, amount=1000))
_SETUP.call(ALICE, Nominate(hotkey=OWNER_HOT.public_key, take=0))
_SETUP.seal()
_SETUP.call(_EMPTIED, Transfer(dest=BOB.public_key, amount=1000))
_SETUP.call(_STAKED, AddStake(hotkey=OWNER_HOT.public_key, amount=TAO))
assert not _SETUP.seal().rejected


@given(amount=st.integers(0, 3 * EXISTENTIAL_DEPOSIT), kind=st.sampled_from(_KINDS))
def test_a_transfer_is_taken_exactly_when_the_rule_allows(amount: int, kind: str) -> None:
    """Accepted iff amount > 0 and (the destination exists or amount >= 500); a refusal changes nothing (property)."""
    dest = {"new": Keypair.from_uri(f"//new//{amount}").public_key, "funded": _FUNDED.public_key,
            "emptied": _EMPTIED.public_key, "staked": _STAKED.public_key}[kind]
    ext = _SETUP.sign(ALICE, Transfer(dest=dest, amount=amount))
    if amount == 0:
        _rejects(_SETUP, ext, E.ZeroTransfer)
    elif kind == "new" and amount < EXISTENTIAL_DEPOSIT:
        _rejects(_SETUP, ext, E.BelowExistentialDeposit)
    else:
        b = _builder(_SETUP)
        b.push(ext)
        assert b.state.free(dest) == _SETUP.state.free(dest) + amount


def test_the_errors_cross_the_wire() -> None:
    """Both rejections rebuild from their wire form with their fields."""
    for err in (E.ZeroTransfer(dest="5F..."), E.BelowExistentialDeposit(amount=1, minimum=500)):
        back = E.error_from_wire(E.error_to_wire(err))
        assert type(back) is type(err) and back.fields() == err.fields()

