"""Registration terms and prices: burn decay and increase, the subnet lock, proof of work and its difficulty."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.ledger import TAO, CreateSubnet, Keypair, SetHyperparameter
from taonet.ledger._economics import (
    adjust_difficulty,
    burn_after_registration,
    current_burn,
    decay,
    lock_cost,
    pow_hash,
    pow_ok,
    solve_pow,
)
from taonet.ledger._events import DifficultyAdjusted
from taonet.ledger._genesis import DEV_SUBNET_DEFAULTS
from taonet.ledger._runtime import current_burn as subnet_burn

from .chains import ALICE, BOB, OWNER_HOT, binding, chain_with_subnet, fund, new_chain, register_all


def test_decay_halves_every_half_life() -> None:
    """After one half-life the value halves (to the RAO), after two it quarters; in between it is monotone."""
    v = 1_000_000_000
    assert decay(v, 0, 360) == v
    assert abs(decay(v, 360, 360) - v // 2) <= 1
    assert abs(decay(v, 720, 360) - v // 4) <= 1
    assert abs(decay(v, 180, 360) - int(v / 2**0.5)) <= 2
    values = [decay(v, t, 360) for t in range(0, 2000, 7)]
    assert values == sorted(values, reverse=True)
    assert decay(v, 64 * 360, 360) == 0


@given(value=st.integers(0, 10**18), elapsed=st.integers(0, 10**6), half_life=st.integers(1, 10**5))
def test_decay_never_grows_and_is_deterministic(value: int, elapsed: int, half_life: int) -> None:
    """decay is an integer in [0, value], and the same inputs give the same RAO (property)."""
    d = decay(value, elapsed, half_life)
    assert 0 <= d <= value
    assert d == decay(value, elapsed, half_life)


def test_burn_rises_by_the_multiplier_and_is_clamped() -> None:
    """Each registration multiplies the current burn by burn_increase_mult; min_burn and max_burn clamp it."""
    assert burn_after_registration(1000, mult_milli=1260, min_burn=1, max_burn=10**9) == 1260
    assert burn_after_registration(10**9, mult_milli=1260, min_burn=1, max_burn=10**9) == 10**9
    assert current_burn(1000, 0, 10**6, half_life=10, min_burn=500, max_burn=10**9) == 500


def test_registration_price_moves_with_registrations_and_time() -> None:
    """On the chain: the burn a registration pays rises after each one and decays back while nobody registers."""
    chain = chain_with_subnet(miners=0)
    chain.call(ALICE, SetHyperparameter(netuid=1, name="max_registrations_per_block", value=1))
    chain.seal()
    prices = []
    for i in range(3):
        prices.append(subnet_burn(chain.state.subnet(1), chain.height + 1))
        cold = Keypair.from_uri(f"//price{i}")
        fund(chain, [cold], 100 * TAO)
        register_all(chain, 1, [(cold, cold)])
    assert prices[0] < prices[1] < prices[2]
    high = subnet_burn(chain.state.subnet(1), chain.height + 1)
    half_life = chain.state.subnet(1).hyper.burn_half_life
    later = subnet_burn(chain.state.subnet(1), chain.height + 1 + half_life)
    assert abs(later - high // 2) <= 1 or later == chain.state.subnet(1).hyper.min_burn


def test_subnet_lock_doubles_then_decays() -> None:
    """The lock doubles after a creation and halves every lock half-life, never below min_lock."""
    assert lock_cost(0, 0, 5, min_lock=10, half_life=100) == 10
    assert lock_cost(1000, 50, 50, min_lock=10, half_life=100) == 2000
    assert abs(lock_cost(1000, 50, 150, min_lock=10, half_life=100) - 1000) <= 1
    assert lock_cost(1000, 0, 10**6, min_lock=10, half_life=100) == 10
    chain = new_chain()
    paid = []
    for i, who in enumerate([ALICE, BOB, ALICE]):
        h = Keypair.from_uri(f"//lock{i}")
        before = chain.state.free(who.public_key)
        chain.call(who, CreateSubnet(hotkey=h.public_key, hotkey_signature=binding(chain, h, who)))
        assert not chain.seal().rejected
        paid.append(before - chain.state.free(who.public_key))
    assert paid[1] > paid[0]
    assert paid[2] > paid[1]
    assert chain.state.status.last_lock == paid[2]


def test_difficulty_moves_toward_the_target_and_is_clamped() -> None:
    """More registrations than targeted raise difficulty, fewer lower it, within [min, max]."""
    assert adjust_difficulty(1000, 2, 2, lo=1, hi=10**9) == 1000
    assert adjust_difficulty(1000, 6, 2, lo=1, hi=10**9) == 2000
    assert adjust_difficulty(1000, 0, 2, lo=1, hi=10**9) == 500
    assert adjust_difficulty(1000, 0, 2, lo=800, hi=10**9) == 800
    assert adjust_difficulty(1000, 100, 2, lo=1, hi=5000) == 5000


def test_the_registrar_adjusts_difficulty_every_interval() -> None:
    """Every adjustment_interval blocks the registrar's answer carries the new difficulty (fewer regs: lower)."""
    h = attrs.evolve(DEV_SUBNET_DEFAULTS, adjustment_interval=5, min_difficulty=10)
    chain = chain_with_subnet(miners=0, hyper=h)
    start = chain.state.subnet(1).difficulty
    adjusted = []
    for _ in range(12):
        result = chain.seal()
        adjusted += [r.event for r in result.block.events if isinstance(r.event, DifficultyAdjusted)]
    assert adjusted
    assert adjusted[0].difficulty == max(10, start // 2)
    assert chain.state.subnet(1).difficulty < start


def test_proof_of_work_solver_reports_progress_and_finds_valid_work() -> None:
    """solve_pow calls progress while it searches and returns a nonce pow_ok accepts."""
    seen: list[int] = []
    block_hash, hotkey = bytes(range(32)), OWNER_HOT.public_key
    nonce = solve_pow(block_hash, hotkey, 20_000, progress=seen.append, every=1000)
    assert nonce is not None
    assert pow_ok(block_hash, hotkey, nonce, 20_000)
    assert pow_hash(block_hash, hotkey, nonce) < (1 << 256) // 20_000
    assert seen == list(range(1000, nonce + 1, 1000))[: len(seen)]
    assert solve_pow(block_hash, hotkey, 1 << 200, max_tries=100) is None


def test_progress_callback_can_stop_the_search() -> None:
    """A progress callback that raises stops the search (how a CLI cancels on Ctrl-C)."""

    class Stop(Exception):
        pass

    def stop(_tries: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        solve_pow(bytes(32), bytes(32), 1 << 250, progress=stop, every=10)
