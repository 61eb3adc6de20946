"""Consensus on the chain: tempo, epoch results paid exactly, delegation, pruning, and bonds over several tempos."""

from __future__ import annotations

import attrs
import pytest

from taonet.ledger import (
    TAO,
    AddStake,
    Chain,
    CreateSubnet,
    Extrinsic,
    Hyperparameters,
    Keypair,
    Nominate,
    SetHyperparameter,
    SetWeights,
    replay,
)
from taonet.ledger import errors as E
from taonet.ledger._calls import EpochResult
from taonet.ledger._consensus import consensus_answers, epoch_due, epoch_result, scheduler_answers
from taonet.ledger._emission import apportion, hotkey_credits
from taonet.ledger._events import (
    EmissionPaid,
    EpochCompleted,
    NeuronRegistered,
    NeuronReplaced,
    StakeCredited,
)
from taonet.ledger._genesis import DEV_SUBNET_DEFAULTS

from .chains import ALICE, CHARLIE, OWNER_HOT, binding, fund, new_chain, register_all, seal_until_epoch


def test_epoch_is_due_on_the_chains_tempo_formula() -> None:
    """(block + netuid + 1) % (tempo + 1) == 0; a tempo of 0 never runs."""
    assert [b for b in range(30) if epoch_due(1, 10, b)] == [9, 20]
    assert [b for b in range(30) if epoch_due(3, 10, b)] == [7, 18, 29]
    assert not any(epoch_due(1, 0, b) for b in range(100))
    assert all(epoch_due(2, 1, b) for b in range(1, 100, 2))


@pytest.mark.parametrize("total", [0, 1, 7, 10**9 + 7])
def test_apportion_pays_exactly_with_largest_remainders(total: int) -> None:
    """Parts sum to the total; remainders go to the largest fractional parts, ties to the lower index."""
    weights = [3, 3, 3, 0, 1]
    parts = apportion(total, weights)
    assert sum(parts) == total
    assert parts[3] == 0
    assert apportion(2, [1, 1, 1]) == [1, 1, 0]
    assert apportion(5, [0, 0]) == [0, 0]


# --- a network on the in-process driver -------------------------------------------------------------------------

VALIDATORS = [(Keypair.from_uri(f"//val{i}"), Keypair.from_uri(f"//val{i}//hot")) for i in range(4)]
MINERS = [(Keypair.from_uri(f"//miner{i}"), Keypair.from_uri(f"//miner{i}//hot")) for i in range(16)]


def network(hyper: Hyperparameters | None = None, *, validators: int = 4, miners: int = 16,
            stake: tuple[int, ...] = (1000, 1000, 1000, 1000)) -> Chain:
    """An owner (Alice), ``validators`` staked validators and ``miners`` miners on subnet 1, permits assigned."""
    h = hyper or attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, immunity_period=1000, weights_rate_limit=1)
    chain = new_chain(hyper=h)
    vals, mins = VALIDATORS[:validators], MINERS[:miners]
    fund(chain, [c for c, _ in vals + mins] + [CHARLIE], 10_000 * TAO)
    chain.call(ALICE, CreateSubnet(hotkey=OWNER_HOT.public_key, hotkey_signature=binding(chain, OWNER_HOT, ALICE)))
    chain.seal()
    register_all(chain, 1, vals + mins)
    for (cold, hot), s in zip(vals, stake, strict=False):
        chain.call(cold, AddStake(hotkey=hot.public_key, amount=s * TAO))
    chain.seal()
    seal_until_epoch(chain, 1)  # the first epoch hands out permits by stake
    return chain


def _set_weights(chain: Chain, hot: Keypair, weights: dict[int, int]) -> None:
    uids = sorted(weights)
    chain.call(hot, SetWeights(netuid=1, uids=uids, weights=[weights[u] for u in uids]))


def _miner_uid(chain: Chain, i: int) -> int:
    return chain.state.uid_of(1, MINERS[i][1].public_key)


def _epoch_events(chain: Chain, start: int) -> list[object]:
    return [r.event for b in chain.store.read(start) for r in b.events]


def test_validators_get_permits_by_stake_and_the_owner_keeps_one() -> None:
    """After the first epoch the staked validators and the owner hold permits; miners do not."""
    chain = network()
    permits = {n.hotkey: n.validator_permit for n in chain.state.neurons(1)}
    assert all(permits[h.public_key] for _, h in VALIDATORS)
    assert permits[OWNER_HOT.public_key]
    assert not any(permits[h.public_key] for _, h in MINERS)


def test_incentive_follows_the_weights_and_every_epoch_pays_exactly_its_pot() -> None:
    """Over 3 tempos: favoured miners earn most, each pot is paid to the last RAO, stake grows by the credits."""
    chain = network()
    favour = {_miner_uid(chain, i): 16 - i for i in range(16)}
    for _, hot in VALIDATORS:
        _set_weights(chain, hot, favour)
    chain.seal()
    start = chain.height + 1
    stake_before = {h: chain.state.hotkey_stake(h) for h, _ in chain.state.items("hkstake")}
    issuance_before = chain.state.status.issuance
    for _ in range(3):
        seal_until_epoch(chain, 1)
    events = _epoch_events(chain, start)
    epochs = [e for e in events if isinstance(e, EpochCompleted)]
    assert len(epochs) == 3
    for block in (b for b in chain.store.read(start)):
        results = [x.call for x in block.extrinsics if isinstance(x.call, EpochResult)]
        for res in results:
            assert sum(res.vectors()["emission"]) + res.owner_cut == res.pot
            assert res.owner_cut == res.pot * chain.state.params.owner_cut // 0xFFFF
    incentive = {u: chain.state.neuron(1, u).incentive for u in favour}
    ordered = sorted(favour, key=favour.get, reverse=True)
    assert incentive[ordered[0]] > incentive[ordered[-1]]
    assert [incentive[u] for u in ordered] == sorted(incentive.values(), reverse=True)
    credited: dict[bytes, int] = {}
    for e in events:
        if isinstance(e, StakeCredited):
            credited[e.hotkey] = credited.get(e.hotkey, 0) + e.amount
    for h, before in stake_before.items():
        assert chain.state.hotkey_stake(h) - before == credited.get(h, 0)
    minted = (chain.height - start + 1) * chain.state.params.block_emission
    assert chain.state.status.issuance == issuance_before + minted
    assert replay(chain.store).digest() == chain.state.digest()


def test_equal_weights_from_equal_validators_give_equal_incentive() -> None:
    """Four equal validators weighting four miners equally give those miners equal incentive and consensus."""
    chain = network(miners=4)
    for _, hot in VALIDATORS:
        _set_weights(chain, hot, {_miner_uid(chain, i): 1 for i in range(4)})
    chain.seal()
    seal_until_epoch(chain, 1)
    miners = [chain.state.neuron(1, _miner_uid(chain, i)) for i in range(4)]
    assert len({m.incentive for m in miners}) == 1
    assert miners[0].incentive > 0
    assert len({m.consensus for m in miners}) == 1


def test_a_lone_validator_gets_all_dividends() -> None:
    """With one staked validator weighting, it earns every dividend."""
    chain = network(validators=1, miners=3)
    _set_weights(chain, VALIDATORS[0][1], {_miner_uid(chain, i): 1 for i in range(3)})
    chain.seal()
    seal_until_epoch(chain, 1)
    seal_until_epoch(chain, 1)
    val_uid = chain.state.uid_of(1, VALIDATORS[0][1].public_key)
    dividends = {n.uid: n.dividends for n in chain.state.neurons(1)}
    assert dividends[val_uid] == 0xFFFF
    assert sum(v for u, v in dividends.items() if u != val_uid) == 0


def test_a_nominator_receives_its_share_after_the_take() -> None:
    """Charlie stakes on a delegate: each epoch credits him stake pro rata after the delegate's take."""
    chain = network()
    cold, hot = VALIDATORS[0]
    chain.call(cold, Nominate(hotkey=hot.public_key, take=6554))  # ~10%
    chain.seal()
    chain.call(CHARLIE, AddStake(hotkey=hot.public_key, amount=1000 * TAO))
    for _, h in VALIDATORS:
        _set_weights(chain, h, {_miner_uid(chain, i): 1 for i in range(16)})
    chain.seal()
    seal_until_epoch(chain, 1)
    before_c, before_v = chain.state.stake(CHARLIE.public_key, hot.public_key), chain.state.stake(
        cold.public_key, hot.public_key)
    block = seal_until_epoch(chain, 1)
    earned = next(e.amount for e in _epoch_events(chain, block) if isinstance(e, EmissionPaid)
                  and e.hotkey == hot.public_key)
    got_c = chain.state.stake(CHARLIE.public_key, hot.public_key) - before_c
    got_v = chain.state.stake(cold.public_key, hot.public_key) - before_v
    assert earned > 0
    assert got_c + got_v == earned
    take = earned * 6554 // 0xFFFF
    share_c = (earned - take) * before_c / (before_c + before_v)
    assert abs(got_c - share_c) <= 1
    assert got_v > got_c  # the owner gets the take on top of an equal stake's share


def test_hotkey_credits_keep_everything_for_a_non_delegate() -> None:
    """A hotkey that never nominated pays everything to its owner."""
    chain = network(validators=1, miners=1)
    hot = VALIDATORS[0][1]
    assert hotkey_credits(chain.state, hot.public_key, 12345) == [(VALIDATORS[0][0].public_key, 12345)]


def test_an_epoch_result_that_does_not_pay_the_pot_is_rejected() -> None:
    """The runtime refuses a result whose payouts miss the pot by one RAO, and one for a subnet not due."""
    chain = network(miners=2)
    for _ in range(30):
        chain.seal()
        if epoch_due(1, chain.state.subnet(1).hyper.tempo, chain.height):
            break
    chain.answers = lambda _s: []
    with pytest.raises(E.InvalidBlock, match="missing"):
        chain.seal()
    good = epoch_result(chain.state, 1)
    emission = good.vectors()["emission"]
    bad = attrs.evolve(good, emission=[emission[0] + 1, *emission[1:]])
    from taonet.ledger import BlockBuilder

    b = BlockBuilder(chain.state, parent=chain.store.head_hash, timestamp=0, genesis=chain.genesis_hash)
    for call in scheduler_answers(chain.state):
        b.push(Extrinsic.sign(call, chain.authority, nonce=b.number, genesis=chain.genesis_hash))
    with pytest.raises(E.SystemCallRejected, match="RAO"):
        b.push(Extrinsic.sign(bad, chain.authority, nonce=b.number, genesis=chain.genesis_hash))
    wrong_block = attrs.evolve(good, block=good.block - 1)
    with pytest.raises(E.SystemCallRejected, match="due"):
        b.push(Extrinsic.sign(wrong_block, chain.authority, nonce=b.number, genesis=chain.genesis_hash))
    b.push(Extrinsic.sign(good, chain.authority, nonce=b.number, genesis=chain.genesis_hash))
    assert consensus_answers(chain.state) == [good]


# --- pruning --------------------------------------------------------------------------------------------------


def test_a_full_subnet_replaces_the_lowest_emission_past_immunity() -> None:
    """Into a full subnet, a registration replaces the non-immune UID with the lowest emission; the owner never."""
    h = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=5, max_allowed_uids=4, immunity_period=3, weights_rate_limit=1)
    chain = network(h, validators=1, miners=2, stake=(1000,))
    # UIDs: 0 owner, 1 validator, 2-3 miners; the validator weights miner 3 only, so miner 2 earns nothing
    val_hot = VALIDATORS[0][1]
    m2, m3 = _miner_uid(chain, 0), _miner_uid(chain, 1)
    _set_weights(chain, val_hot, {m3: 1})
    chain.seal()
    seal_until_epoch(chain, 1)
    seal_until_epoch(chain, 1)
    emissions = {n.uid: n.emission for n in chain.state.neurons(1)}
    assert emissions[m2] == 0 < emissions[m3]
    newcomer = Keypair.from_uri("//newcomer")
    fund(chain, [newcomer], 100 * TAO)
    register_all(chain, 1, [(newcomer, newcomer)])
    assert chain.state.uid_of(1, newcomer.public_key) == m2
    assert chain.state.uid_of(1, MINERS[0][1].public_key) is None
    assert chain.state.uid_of(1, OWNER_HOT.public_key) == 0
    replaced = [e for e in _epoch_events(chain, 0) if isinstance(e, NeuronReplaced)]
    assert replaced[-1].old_hotkey == MINERS[0][1].public_key


def test_when_everyone_is_immune_the_same_rule_runs_over_the_immune() -> None:
    """All immune: the lowest emission goes, ties to the earliest registration, then the lowest UID."""
    h = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=1000, max_allowed_uids=3, immunity_period=10_000,
                     max_registrations_per_block=1)
    chain = new_chain(hyper=h)
    chain.call(ALICE, CreateSubnet(hotkey=OWNER_HOT.public_key, hotkey_signature=binding(chain, OWNER_HOT, ALICE)))
    chain.seal()
    a, b, c = (Keypair.from_uri(f"//imm{i}") for i in range(3))
    fund(chain, [a, b, c], 100 * TAO)
    register_all(chain, 1, [(a, a)])
    register_all(chain, 1, [(b, b)])
    assert chain.state.subnet(1).n == 3
    register_all(chain, 1, [(c, c)])
    # a and b both earned 0; a registered first, so a goes
    assert chain.state.uid_of(1, a.public_key) is None
    assert chain.state.uid_of(1, c.public_key) == 1
    regs = [e for e in _epoch_events(chain, 0) if isinstance(e, NeuronRegistered | NeuronReplaced)]
    assert isinstance(regs[-1], NeuronReplaced)


def test_every_hyperparameter_is_settable_by_name_within_bounds() -> None:
    """Each hyperparameter has bounds and the owner can set it to its upper or lower bound (consistently)."""
    from taonet.ledger._params import HYPERPARAMETER_BOUNDS

    assert set(HYPERPARAMETER_BOUNDS) == set(Hyperparameters().as_dict())
    chain = network(validators=0, miners=0, stake=())
    for name, (lo, hi) in HYPERPARAMETER_BOUNDS.items():
        current = getattr(chain.state.subnet(1).hyper, name)
        for value in (lo, hi, int(current)):
            chain.call(ALICE, SetHyperparameter(netuid=1, name=name, value=value))
            result = chain.seal()
            if result.rejected:
                assert isinstance(result.rejected[0][1], E.InvalidHyperparameter)
                assert "would exceed" in result.rejected[0][1].reason or "below" in result.rejected[0][1].reason
            else:
                assert getattr(chain.state.subnet(1).hyper, name) == value


# --- bonds over several tempos -------------------------------------------------------------------------------


def bonds_scenario(*, yuma3: bool, liquid_alpha: bool, bonds_penalty: int = 0, bonds_moving_average: int = 975_000,
                   alpha_low: int = 6554, alpha_high: int = 19661) -> dict[str, float]:
    """Four equal validators and two miners. A, B, C weight miner 1 for four tempos; then A moves to miner 2 one
    tempo before B and C do; D copies last tempo's consensus every tempo. Returns the TAO each validator earned over
    the six tempos after B and C moved. (Defaults: the chain's own Yuma 3 test settings.)"""
    h = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, immunity_period=1000, weights_rate_limit=1, yuma3_enabled=yuma3,
                     liquid_alpha_enabled=liquid_alpha, bonds_penalty=bonds_penalty,
                     bonds_moving_average=bonds_moving_average, alpha_low=alpha_low, alpha_high=alpha_high)
    chain = network(h, validators=4, miners=2)
    m1, m2 = _miner_uid(chain, 0), _miner_uid(chain, 1)
    a, b, c, d = (hot for _, hot in VALIDATORS)

    def copy_consensus() -> None:
        cons = {n.uid: n.consensus for n in chain.state.neurons(1) if n.uid in (m1, m2) and n.consensus}
        _set_weights(chain, d, cons or {m1: 1})

    for v in (a, b, c):
        _set_weights(chain, v, {m1: 1})
    copy_consensus()
    chain.seal()
    for _ in range(4):
        seal_until_epoch(chain, 1)
        copy_consensus()
        chain.seal()
    _set_weights(chain, a, {m2: 1})
    chain.seal()
    seal_until_epoch(chain, 1)
    copy_consensus()
    _set_weights(chain, b, {m2: 1})
    _set_weights(chain, c, {m2: 1})
    chain.seal()
    start = chain.height
    for _ in range(6):
        seal_until_epoch(chain, 1)
        copy_consensus()
        chain.seal()
    earned = {"A": 0, "B": 0, "C": 0, "D": 0}
    names = {v.public_key: k for k, v in zip("ABCD", (a, b, c, d), strict=True)}
    for e in _epoch_events(chain, start):
        if isinstance(e, EmissionPaid) and e.hotkey in names:
            earned[names[e.hotkey]] += e.amount
    return {k: v / TAO for k, v in earned.items()}


def test_yuma3_with_liquid_alpha_rewards_the_validator_that_moves_first() -> None:
    """When the best miner changes, the validator that moves a tempo early out-earns those that follow."""
    earned = bonds_scenario(yuma3=True, liquid_alpha=True)
    assert earned["A"] > 1.3 * earned["B"]
    assert earned["A"] > 1.3 * earned["C"]
    assert abs(earned["B"] - earned["C"]) < 0.01 * earned["B"]


@pytest.mark.parametrize(("yuma3", "liquid_alpha"), [(False, False), (True, True)])
def test_a_consensus_copier_earns_less_than_honest_validators(yuma3: bool, liquid_alpha: bool) -> None:
    """Copying last tempo's consensus lags the market: the copier earns less than the validators it copies."""
    earned = bonds_scenario(yuma3=yuma3, liquid_alpha=liquid_alpha)
    assert earned["D"] < earned["B"]
    assert earned["D"] < earned["C"]
