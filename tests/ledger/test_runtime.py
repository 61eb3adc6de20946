"""The runtime: every rejection reason is a typed error that leaves the state exactly as it was."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from taonet.ledger import (
    TAO,
    AddStake,
    BlockBuilder,
    BurnedRegister,
    Chain,
    CreateSubnet,
    Extrinsic,
    Keypair,
    Nominate,
    PowRegister,
    RegistrarAnswer,
    RemoveStake,
    ServeAxon,
    SetHyperparameter,
    SetWeights,
    Transfer,
    apply,
    registrar_answer,
)
from taonet.ledger import errors as E
from taonet.ledger._economics import solve_pow
from taonet.ledger._events import NeuronRegistered, RegistrationRefused, Transferred

from .chains import ALICE, BOB, CHARLIE, DAVE, OWNER_HOT, binding, chain_with_subnet, hot, new_chain, tables


def _builder(chain: Chain) -> BlockBuilder:
    return BlockBuilder(chain.state, parent=chain.store.head_hash, timestamp=0, genesis=chain.genesis_hash)


def _rejects(chain: Chain, ext: Extrinsic, error: type[E.ExtrinsicRejected], *, builder: BlockBuilder | None = None,
             check: Callable[[E.ExtrinsicRejected], bool] | None = None) -> E.ExtrinsicRejected:
    b = builder or _builder(chain)
    before_digest, before = b.state.digest(), tables(b.state)
    with pytest.raises(error) as info:
        b.push(ext)
    assert b.state.digest() == before_digest
    assert tables(b.state) == before
    if check is not None:
        assert check(info.value), info.value
    return info.value


@pytest.fixture
def chain() -> Chain:
    """Subnet 1 owned by Alice (OWNER_HOT at UID 0, with a permit) and two of Bob's hotkeys at UIDs 1 and 2."""
    return chain_with_subnet(miners=2)


# --- signatures, chain, nonces, money --------------------------------------------------------------------------


def test_bad_signature_is_rejected(chain: Chain) -> None:
    """A signature by another key over the same call is BadSignature."""
    ext = chain.sign(ALICE, Transfer(dest=BOB.public_key, amount=1))
    forged = attrs.evolve(ext, signature=BOB.sign(ext.signed_bytes()))
    _rejects(chain, forged, E.BadSignature)


def test_wrong_genesis_is_rejected(chain: Chain) -> None:
    """An extrinsic signed for another chain names both genesis hashes."""
    ext = Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), ALICE, nonce=chain.next_nonce(ALICE.public_key),
                         genesis=bytes(32))
    err = _rejects(chain, ext, E.WrongGenesis)
    assert err.expected == chain.genesis_hash and err.got == bytes(32)


def test_stale_and_future_nonces_are_rejected(chain: Chain) -> None:
    """A reused nonce is StaleNonce, a skipped one FutureNonce; both say the expected nonce."""
    nonce = chain.state.account(ALICE.public_key).nonce
    assert nonce > 0
    stale = Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), ALICE, nonce=nonce - 1, genesis=chain.genesis_hash)
    future = Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), ALICE, nonce=nonce + 1, genesis=chain.genesis_hash)
    assert _rejects(chain, stale, E.StaleNonce).expected == nonce
    assert _rejects(chain, future, E.FutureNonce).expected == nonce


def test_insufficient_balance_is_rejected(chain: Chain) -> None:
    """Sending more than the free balance reports what was needed and what is there."""
    free = chain.state.free(ALICE.public_key)
    err = _rejects(chain, chain.sign(ALICE, Transfer(dest=BOB.public_key, amount=free + 1)), E.InsufficientBalance)
    assert (err.needed, err.available) == (free + 1, free)


def test_fee_counts_toward_the_balance_check() -> None:
    """With a flat fee, an amount that fits without the fee is rejected and the fee is burned when it fits."""
    from taonet.ledger import Chain, dev_genesis

    config, authority = dev_genesis()
    config = attrs.evolve(config, params=attrs.evolve(config.params, extrinsic_fee=1000))
    chain = Chain.create(config, authority)
    poor = Keypair.from_uri("//poor")
    chain.call(ALICE, Transfer(dest=poor.public_key, amount=5000))
    chain.seal()
    _rejects(chain, chain.sign(poor, Transfer(dest=BOB.public_key, amount=4001)), E.InsufficientBalance)
    issuance = chain.state.status.issuance
    chain.call(poor, Transfer(dest=BOB.public_key, amount=4000))
    result = chain.seal()
    assert not result.rejected
    assert chain.state.free(poor.public_key) == 0
    assert chain.state.status.issuance == issuance - 1000


# --- hotkeys and registration ----------------------------------------------------------------------------------


def test_stake_on_an_unknown_hotkey_is_rejected(chain: Chain) -> None:
    """A hotkey the chain never saw is UnknownHotkey."""
    _rejects(chain, chain.sign(ALICE, AddStake(hotkey=hot("nobody").public_key, amount=TAO)), E.UnknownHotkey)


def test_unregistered_hotkey_cannot_set_weights(chain: Chain) -> None:
    """Weights from a hotkey without a UID on the subnet is HotkeyNotRegistered."""
    stranger = hot("stranger")
    err = _rejects(chain, chain.sign(stranger, SetWeights(netuid=1, uids=[0], weights=[1])), E.HotkeyNotRegistered)
    assert err.netuid == 1


def test_registering_a_hotkey_owned_by_another_coldkey_is_rejected(chain: Chain) -> None:
    """Bob's hotkey cannot be registered by Charlie even with a valid binding signature."""
    h = hot("m0")  # owned by Bob
    call = BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, CHARLIE))
    _rejects(chain, chain.sign(CHARLIE, call), E.HotkeyOwnedByOther)


def test_nominating_someone_elses_hotkey_is_rejected(chain: Chain) -> None:
    """Only the owning coldkey may nominate a hotkey."""
    _rejects(chain, chain.sign(CHARLIE, Nominate(hotkey=hot("m0").public_key, take=100)), E.HotkeyOwnedByOther)


def test_registration_without_the_hotkeys_consent_is_rejected(chain: Chain) -> None:
    """A binding signed by a key other than the hotkey is BadHotkeySignature."""
    h = hot("fresh")
    call = BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, hot("other"), CHARLIE))
    _rejects(chain, chain.sign(CHARLIE, call), E.BadHotkeySignature)


def test_registering_twice_is_rejected(chain: Chain) -> None:
    """A hotkey already holding a UID on the subnet is AlreadyRegistered."""
    h = hot("m0")
    call = BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, BOB))
    _rejects(chain, chain.sign(BOB, call), E.AlreadyRegistered)


def test_staking_to_a_non_delegate_is_rejected_until_it_nominates(chain: Chain) -> None:
    """Another coldkey may stake on a hotkey only after its owner nominated it."""
    target = hot("m0")
    _rejects(chain, chain.sign(CHARLIE, AddStake(hotkey=target.public_key, amount=TAO)), E.NotDelegate)
    chain.call(BOB, Nominate(hotkey=target.public_key, take=1000))
    chain.call(CHARLIE, AddStake(hotkey=target.public_key, amount=TAO))
    assert not chain.seal().rejected
    assert chain.state.stake(CHARLIE.public_key, target.public_key) == TAO


def test_removing_more_stake_than_held_is_rejected(chain: Chain) -> None:
    """Unstaking beyond one's stake on the hotkey is InsufficientStake."""
    chain.call(ALICE, AddStake(hotkey=OWNER_HOT.public_key, amount=5 * TAO))
    chain.seal()
    err = _rejects(chain, chain.sign(ALICE, RemoveStake(hotkey=OWNER_HOT.public_key, amount=6 * TAO)),
                   E.InsufficientStake)
    assert err.available == 5 * TAO


def test_proof_of_work_below_difficulty_is_rejected(chain: Chain) -> None:
    """Work that does not meet the difficulty, or names an old block, is ProofOfWorkInvalid."""
    h = hot("pow")
    number = chain.height
    block_hash = chain.store.get(number).hash
    difficulty = chain.state.subnet(1).difficulty
    good = solve_pow(block_hash, h.public_key, difficulty, max_tries=10**6)
    assert good is not None
    bad = next(n for n in range(10**6) if solve_pow(block_hash, h.public_key, difficulty, start=n, max_tries=1) is None)
    sig = binding(chain, h, CHARLIE)
    _rejects(chain, chain.sign(CHARLIE, PowRegister(netuid=1, hotkey=h.public_key, hotkey_signature=sig,
                                                    block_number=number, nonce=bad)), E.ProofOfWorkInvalid)
    old = max(0, number - chain.state.params.pow_window - 1)
    _rejects(chain, chain.sign(CHARLIE, PowRegister(netuid=1, hotkey=h.public_key, hotkey_signature=sig,
                                                    block_number=old, nonce=good)), E.ProofOfWorkInvalid)
    chain.call(CHARLIE, PowRegister(netuid=1, hotkey=h.public_key, hotkey_signature=sig, block_number=number,
                                    nonce=good))
    assert not chain.seal().rejected
    chain.seal()
    assert chain.state.uid_of(1, h.public_key) == 3


# --- subnets and weights ---------------------------------------------------------------------------------------


def test_unknown_subnet_is_rejected(chain: Chain) -> None:
    """A call naming a netuid that does not exist is SubnetNotFound."""
    h = hot("x")
    call = BurnedRegister(netuid=9, hotkey=h.public_key, hotkey_signature=binding(chain, h, CHARLIE))
    assert _rejects(chain, chain.sign(CHARLIE, call), E.SubnetNotFound).netuid == 9


def test_only_the_owner_sets_hyperparameters(chain: Chain) -> None:
    """Bob may not change Alice's subnet; Alice may, within bounds and by known names only."""
    _rejects(chain, chain.sign(BOB, SetHyperparameter(netuid=1, name="tempo", value=5)), E.NotSubnetOwner)
    _rejects(chain, chain.sign(ALICE, SetHyperparameter(netuid=1, name="tempo", value=0)), E.InvalidHyperparameter)
    _rejects(chain, chain.sign(ALICE, SetHyperparameter(netuid=1, name="nope", value=1)), E.InvalidHyperparameter)
    _rejects(chain, chain.sign(ALICE, SetHyperparameter(netuid=1, name="max_allowed_uids", value=2)),
             E.InvalidHyperparameter)
    chain.call(ALICE, SetHyperparameter(netuid=1, name="tempo", value=5))
    chain.call(ALICE, SetHyperparameter(netuid=1, name="yuma3_enabled", value=1))
    assert not chain.seal().rejected
    assert chain.state.subnet(1).hyper.tempo == 5 and chain.state.subnet(1).hyper.yuma3_enabled is True


def test_weights_without_a_validator_permit_are_rejected(chain: Chain) -> None:
    """A miner without a permit may set only its self-weight."""
    m0 = hot("m0")
    err = _rejects(chain, chain.sign(m0, SetWeights(netuid=1, uids=[0, 2], weights=[1, 1])), E.NoValidatorPermit)
    assert err.uid == 1
    chain.call(m0, SetWeights(netuid=1, uids=[1], weights=[7]))
    assert not chain.seal().rejected


@pytest.mark.parametrize(
    ("uids", "weights", "reason"),
    [
        ([1, 2], [1], "uids but"),
        ([1, 1], [1, 2], "duplicate"),
        ([1, 9], [1, 2], "unknown uids"),
        ([0, 1, 2, 2], [1, 1, 1, 1], "too many"),
    ],
)
def test_malformed_weight_vectors_are_rejected(chain: Chain, uids: list[int], weights: list[int], reason: str) -> None:
    """Mismatched lengths, duplicates, unknown UIDs and more weights than UIDs are InvalidWeights."""
    ext = chain.sign(OWNER_HOT, SetWeights(netuid=1, uids=uids, weights=weights))
    _rejects(chain, ext, E.InvalidWeights, check=lambda e: reason in e.reason)


def test_too_few_and_too_heavy_weights_are_rejected(chain: Chain) -> None:
    """Fewer than min_allowed_weights, or one weight above max_weights_limit, is InvalidWeights."""
    chain.call(ALICE, SetHyperparameter(netuid=1, name="min_allowed_weights", value=2))
    chain.call(ALICE, SetHyperparameter(netuid=1, name="max_weights_limit", value=40000))
    chain.seal()
    _rejects(chain, chain.sign(OWNER_HOT, SetWeights(netuid=1, uids=[1], weights=[5])), E.InvalidWeights,
             check=lambda e: "too few" in e.reason)
    _rejects(chain, chain.sign(OWNER_HOT, SetWeights(netuid=1, uids=[1, 2], weights=[9, 1])), E.InvalidWeights,
             check=lambda e: "max weight" in e.reason)
    chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[2, 1], weights=[1, 1]))
    assert not chain.seal().rejected
    owner = chain.state.neuron(1, 0)
    assert owner.weights()[0].tolist() == [1, 2]
    assert owner.weights()[1].tolist() == [65535, 65535]


def test_stale_version_key_is_rejected(chain: Chain) -> None:
    """Weights carrying a version key below the subnet's weights_version are StaleVersionKey."""
    chain.call(ALICE, SetHyperparameter(netuid=1, name="weights_version", value=7))
    chain.seal()
    err = _rejects(chain, chain.sign(OWNER_HOT, SetWeights(netuid=1, uids=[1], weights=[1], version_key=6)),
                   E.StaleVersionKey)
    assert (err.required, err.got) == (7, 6)


def test_weights_and_axon_are_rate_limited(chain: Chain) -> None:
    """A second set_weights or serve_axon inside the rate limit is RateLimited with the block to retry at."""
    chain.call(ALICE, SetHyperparameter(netuid=1, name="weights_rate_limit", value=5))
    chain.call(ALICE, SetHyperparameter(netuid=1, name="serving_rate_limit", value=4))
    chain.seal()
    chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[1], weights=[1]))
    chain.call(OWNER_HOT, ServeAxon(netuid=1, ip="127.0.0.1", port=8091))
    first = chain.seal()
    assert not first.rejected
    err = _rejects(chain, chain.sign(OWNER_HOT, SetWeights(netuid=1, uids=[2], weights=[1])), E.RateLimited)
    assert err.retry_at == first.block.number + 5
    err = _rejects(chain, chain.sign(OWNER_HOT, ServeAxon(netuid=1, ip="127.0.0.1", port=8092)), E.RateLimited)
    assert err.retry_at == first.block.number + 4


def test_serve_axon_records_the_endpoint(chain: Chain) -> None:
    """A registered hotkey's axon lands on its neuron."""
    chain.call(hot("m1"), ServeAxon(netuid=1, ip="10.0.0.7", port=9000, version=3))
    assert not chain.seal().rejected
    axon = chain.state.neuron(1, 2).axon
    assert (axon.ip, axon.port, axon.version) == ("10.0.0.7", 9000, 3)


# --- system calls ----------------------------------------------------------------------------------------------


def test_system_calls_need_the_authority(chain: Chain) -> None:
    """A registrar answer signed by a user is rejected."""
    answer = registrar_answer(chain.state)
    ext = Extrinsic.sign(answer, ALICE, nonce=chain.height + 1, genesis=chain.genesis_hash)
    _rejects(chain, ext, E.BadSignature)


def test_a_registrar_answer_that_breaks_the_rules_is_rejected(chain: Chain) -> None:
    """An answer giving a registration a UID the rules do not give is SystemCallRejected."""
    h = hot("new")
    chain.call(CHARLIE, BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, CHARLIE)))
    chain.answers = lambda _s: []  # the driver withholds the answer so the test can forge one
    chain.seal()
    good = registrar_answer(chain.state)
    assert len(good.assignments) == 1
    bad = attrs.evolve(good, assignments=(attrs.evolve(good.assignments[0], uid=0),))
    ext = Extrinsic.sign(bad, chain.authority, nonce=chain.height + 1, genesis=chain.genesis_hash)
    _rejects(chain, ext, E.SystemCallRejected)


def test_a_block_without_a_due_registrar_answer_is_invalid(chain: Chain) -> None:
    """Pending registrations must be answered in the next block; sealing without the answer fails."""
    h = hot("late")
    chain.call(CHARLIE, BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, CHARLIE)))
    chain.seal()
    chain.answers = lambda _s: []
    with pytest.raises(E.InvalidBlock, match="registrar"):
        chain.seal()


def test_system_calls_must_precede_user_calls(chain: Chain) -> None:
    """A system call after a user extrinsic is rejected by the builder."""
    b = _builder(chain)
    b.push(chain.sign(ALICE, Transfer(dest=BOB.public_key, amount=1)))
    answer = Extrinsic.sign(RegistrarAnswer(block=chain.height, assignments=(), refusals=()), chain.authority,
                            nonce=chain.height + 1, genesis=chain.genesis_hash)
    _rejects(chain, answer, E.SystemCallRejected, builder=b)


# --- what accepted calls do ------------------------------------------------------------------------------------


def test_transfer_moves_exactly_the_amount_and_bumps_the_nonce(chain: Chain) -> None:
    """A transfer debits the sender, credits the receiver, and increments only the sender's nonce."""
    a0, b0 = chain.state.account(ALICE.public_key), chain.state.account(BOB.public_key)
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=123))
    result = chain.seal()
    assert chain.events(result)[0] == Transferred(src=ALICE.public_key, dest=BOB.public_key, amount=123)
    a1, b1 = chain.state.account(ALICE.public_key), chain.state.account(BOB.public_key)
    assert (a1.free, a1.nonce) == (a0.free - 123, a0.nonce + 1)
    assert (b1.free, b1.nonce) == (b0.free + 123, b0.nonce)


def test_registration_is_answered_in_the_next_block_with_a_free_uid() -> None:
    """A burned registration holds its burn in block N and takes the lowest free UID in block N+1."""
    chain = chain_with_subnet(miners=0)
    h = hot("reg")
    free0 = chain.state.free(CHARLIE.public_key)
    chain.call(CHARLIE, BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, CHARLIE)))
    chain.seal()
    assert chain.state.uid_of(1, h.public_key) is None
    paid = free0 - chain.state.free(CHARLIE.public_key)
    assert paid > 0
    issuance = chain.state.status.issuance
    result = chain.seal()
    registered = [e for e in chain.events(result) if isinstance(e, NeuronRegistered)]
    assert registered == [NeuronRegistered(netuid=1, uid=1, hotkey=h.public_key, coldkey=CHARLIE.public_key,
                                           burned=paid)]
    minted = chain.state.params.block_emission
    assert chain.state.status.issuance == issuance - paid + minted


def test_registrations_beyond_the_per_block_limit_are_refunded() -> None:
    """Past max_registrations_per_block, a request is refused and its burn returned."""
    chain = chain_with_subnet(miners=0)
    chain.call(ALICE, SetHyperparameter(netuid=1, name="max_registrations_per_block", value=1))
    chain.seal()
    a, b = hot("a"), hot("b")
    free0 = chain.state.free(DAVE.public_key)
    chain.call(DAVE, BurnedRegister(netuid=1, hotkey=a.public_key, hotkey_signature=binding(chain, a, DAVE)))
    chain.call(DAVE, BurnedRegister(netuid=1, hotkey=b.public_key, hotkey_signature=binding(chain, b, DAVE)))
    chain.seal()
    result = chain.seal()
    refused = [e for e in chain.events(result) if isinstance(e, RegistrationRefused)]
    assert [e.hotkey for e in refused] == [b.public_key]
    paid_for_a = next(e.burned for e in chain.events(result) if isinstance(e, NeuronRegistered))
    assert chain.state.free(DAVE.public_key) == free0 - paid_for_a


def test_create_subnet_takes_the_lowest_free_netuid_and_locks_the_cost() -> None:
    """Each creation takes the next netuid, locks its cost, and the next lock doubles."""
    chain = new_chain()
    locks = []
    for i, who in enumerate([ALICE, BOB]):
        h = hot(f"owner{i}")
        free0 = chain.state.free(who.public_key)
        chain.call(who, CreateSubnet(hotkey=h.public_key, hotkey_signature=binding(chain, h, who)))
        assert not chain.seal().rejected
        locks.append(free0 - chain.state.free(who.public_key))
        assert chain.state.subnet(i + 1).owner == who.public_key
        assert chain.state.neuron(i + 1, 0).hotkey == h.public_key
    assert locks[1] > locks[0] and locks[1] <= 2 * locks[0]


def test_apply_replays_a_sealed_block_to_the_same_state(chain: Chain) -> None:
    """Re-applying a sealed block on its parent state gives the same digest and events."""
    parent_state, parent_hash = chain.state, chain.store.head_hash
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=5))
    chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[1, 2], weights=[3, 4]))
    result = chain.seal()
    state, records = apply(parent_state, result.block, parent=parent_hash)
    assert state.digest() == chain.state.digest() == result.block.header.state_digest
    assert tuple(records) == result.block.events


def test_apply_rejects_a_tampered_block(chain: Chain) -> None:
    """A block whose header digest was altered (and re-signed) is InvalidBlock on replay."""
    parent_state, parent_hash = chain.state, chain.store.head_hash
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=5))
    block = chain.seal().block
    header = attrs.evolve(block.header, state_digest=bytes(32))
    forged = attrs.evolve(block, header=header, signature=chain.authority.sign(header.hash))
    with pytest.raises(E.InvalidBlock, match="state_digest"):
        apply(parent_state, forged, parent=parent_hash)
    unsigned = attrs.evolve(block, signature=bytes(64))
    with pytest.raises(E.InvalidBlock, match="signature"):
        apply(parent_state, unsigned, parent=parent_hash)


def test_apply_rejects_a_header_whose_extrinsics_root_is_not_its_extrinsics(chain: Chain) -> None:
    """A re-signed header naming another extrinsics root is InvalidBlock on replay, whether the block's own root was
    computed (and kept) before or not; a copy of a checked block with other extrinsics does not keep its root."""
    parent_state, parent_hash = chain.state, chain.store.head_hash
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=5))
    chain.call(ALICE, Transfer(dest=BOB.public_key, amount=6))
    block = chain.seal().block
    header = attrs.evolve(block.header, extrinsics_root=bytes(32))
    for checked_first in (False, True):
        forged = attrs.evolve(block, header=header, signature=chain.authority.sign(header.hash))
        if checked_first:
            assert not forged.roots_ok()
        with pytest.raises(E.InvalidBlock, match="extrinsics_root"):
            apply(parent_state.fork(), forged, parent=parent_hash)
    assert block.roots_ok()
    fewer = attrs.evolve(block, extrinsics=block.extrinsics[:-1])
    assert not fewer.roots_ok()
    with pytest.raises(E.InvalidBlock, match="extrinsics_root"):
        apply(parent_state.fork(), fewer, parent=parent_hash, verify_signatures=False)


def test_rejected_extrinsics_never_enter_the_block(chain: Chain) -> None:
    """The driver reports rejections and seals only what applied."""
    good = chain.call(ALICE, Transfer(dest=BOB.public_key, amount=1))
    bad = Extrinsic.sign(Transfer(dest=BOB.public_key, amount=1), CHARLIE, nonce=99, genesis=chain.genesis_hash)
    chain.submit(bad)
    result = chain.seal()
    assert result.included == (good,)
    assert [type(e) for _, e in result.rejected] == [E.FutureNonce]
    assert bad not in result.block.extrinsics
