"""`registrar_due` (what a block's required answers ask of the registrar) agrees with the registrar's answer itself."""

from __future__ import annotations

import attrs

from taonet.ledger import BurnedRegister, replay
from taonet.ledger._genesis import DEV_SUBNET_DEFAULTS
from taonet.ledger._system_calls import registrar_answer, registrar_due

from .chains import BOB, CHARLIE, binding, chain_with_subnet, hot


def test_registrar_due_is_true_exactly_when_the_answer_is_not_empty() -> None:
    """Over a chain with assignments, prunings, refusals (too many per block) and difficulty adjustments, every
    state's `registrar_due` equals `not registrar_answer(state).is_empty`."""
    hyper = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=3, max_allowed_uids=4, immunity_period=2,
                         max_registrations_per_block=2, adjustment_interval=5)
    chain = chain_with_subnet(miners=2, hyper=hyper)
    for i in range(12):
        for k, cold in enumerate((BOB, CHARLIE, BOB)[: 1 + i % 3]):
            h = hot(f"late{i}-{k}")
            chain.call(cold, BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, cold),
                                            max_burn=10**18))
        chain.seal()
        chain.seal()
    kinds = set()
    for n in range(chain.height + 1):
        state = replay(chain.store, to=n)
        answer = registrar_answer(state)
        assert registrar_due(state) == (not answer.is_empty), n
        kinds |= {name for name in ("assignments", "refusals", "difficulties") if getattr(answer, name)}
    assert kinds == {"assignments", "refusals", "difficulties"}  # every kind of answer was met
