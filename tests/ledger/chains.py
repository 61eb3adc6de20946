"""Small chains for tests: a dev genesis with a subnet, an owner and registered hotkeys."""

from __future__ import annotations

from typing import Any

from taonet.ledger import (
    BurnedRegister,
    Chain,
    CreateSubnet,
    FileStore,
    Hyperparameters,
    Keypair,
    State,
    dev_genesis,
    hotkey_binding_payload,
)
from taonet.ledger._genesis import DEV_SUBNET_DEFAULTS

ALICE = Keypair.from_uri("//Alice")
BOB = Keypair.from_uri("//Bob")
CHARLIE = Keypair.from_uri("//Charlie")
DAVE = Keypair.from_uri("//Dave")
OWNER_HOT = Keypair.from_uri("//Alice//owner")


def hot(name: str) -> Keypair:
    """A hotkey derived for tests."""
    return Keypair.from_uri(f"//hot//{name}")


def binding(chain: Chain, hotkey: Keypair, coldkey: Keypair) -> bytes:
    """The hotkey's signature consenting to ``coldkey`` owning it on ``chain``."""
    return hotkey.sign(hotkey_binding_payload(chain.genesis_hash, coldkey.public_key))


def new_chain(store: Any = None, *, hyper: Hyperparameters | None = None, **kwargs: Any) -> Chain:
    """A dev chain (optionally on ``store``)."""
    config, authority = dev_genesis(subnet_defaults=hyper or DEV_SUBNET_DEFAULTS)
    return Chain.create(config, authority, store=store, **kwargs)


def chain_with_subnet(store: FileStore | None = None, *, miners: int = 1, hyper: Hyperparameters | None = None,
                      **kwargs: Any) -> Chain:
    """A dev chain where Alice owns subnet 1 (OWNER_HOT at UID 0) and Bob registered ``miners`` hotkeys."""
    chain = new_chain(store, hyper=hyper, **kwargs)
    chain.call(ALICE, CreateSubnet(hotkey=OWNER_HOT.public_key, hotkey_signature=binding(chain, OWNER_HOT, ALICE)))
    chain.seal()
    for i in range(miners):
        h = hot(f"m{i}")
        chain.call(BOB, BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, BOB)))
        chain.seal()
    chain.seal()  # the registrar's answers land
    return chain


def tables(state: State) -> dict[str, dict[Any, Any]]:
    """Every table of ``state`` (digested and derived) as plain dicts, for exact comparison."""
    from taonet.ledger._state import TABLES

    return {t: dict(state.items(t)) for t in TABLES}


def fund(chain: Chain, keys: list[Keypair], amount: int) -> None:
    """Transfer ``amount`` RAO from Alice to each key (sealed)."""
    from taonet.ledger import Transfer

    for k in keys:
        chain.call(ALICE, Transfer(dest=k.public_key, amount=amount))
    chain.seal()


def register_all(chain: Chain, netuid: int, pairs: list[tuple[Keypair, Keypair]]) -> None:
    """Burn-register each (coldkey, hotkey) on ``netuid``, resubmitting refused ones until every one holds a UID."""
    for _ in range(4 + 2 * len(pairs)):
        pending = {p.hotkey for p in chain.state.subnet(netuid).pending}
        for cold, h in pairs:
            if chain.state.uid_of(netuid, h.public_key) is None and h.public_key not in pending:
                chain.call(cold, BurnedRegister(netuid=netuid, hotkey=h.public_key,
                                                hotkey_signature=binding(chain, h, cold), max_burn=10**18))
        chain.seal()
        if all(chain.state.uid_of(netuid, h.public_key) is not None for _, h in pairs):
            return
    raise AssertionError("registrations did not all land")


def seal_until_epoch(chain: Chain, netuid: int) -> int:
    """Seal blocks until an epoch result for ``netuid`` lands; returns that block's number."""
    from taonet.ledger._events import EpochCompleted

    for _ in range(5000):
        result = chain.seal()
        if any(isinstance(r.event, EpochCompleted) and r.event.netuid == netuid for r in result.block.events):
            return result.block.number
    raise AssertionError("no epoch")


def pruning_chain(blocks: int, store: Any = None, **kwargs: Any) -> Chain:
    """A chain whose subnet 1 is full (3 UIDs), with registrations that prune, weights, stake, transfers and epochs."""
    import attrs

    from taonet.ledger import AddStake, SetWeights, Transfer

    hyper = attrs.evolve(DEV_SUBNET_DEFAULTS, max_allowed_uids=3, immunity_period=2, tempo=4, weights_rate_limit=0)
    chain = chain_with_subnet(store, miners=2, hyper=hyper, **kwargs)
    chain.call(ALICE, AddStake(hotkey=OWNER_HOT.public_key, amount=10**12))
    k = 0
    while chain.height < blocks:
        if chain.height % 3 == 0:
            h = hot(f"late{k}")
            k += 1
            chain.call(BOB, BurnedRegister(netuid=1, hotkey=h.public_key, hotkey_signature=binding(chain, h, BOB),
                                           max_burn=10**18))
        if chain.height % 2 == 0:
            chain.call(ALICE, Transfer(dest=BOB.public_key, amount=10**9 + chain.height))
            chain.call(OWNER_HOT, SetWeights(netuid=1, uids=[0, 1, 2], weights=[1, chain.height % 7, 3]))
        chain.seal()
    return chain


def flip_record_byte(chain_dir: Any, block: int, mask: int = 0xFF) -> tuple[str, int]:
    """Damage block ``block``'s record in the log at ``chain_dir``: one byte in the middle of its body XORed with
    ``mask`` (its checksum then fails). The segment file and the record's offset, as errors name them."""
    with FileStore(chain_dir, read_only=True) as store:
        path, offset = store.location(block)
        size = len(store.get_raw(block))
    with open(path, "r+b") as f:
        f.seek(offset + 8 + size // 2)
        byte = f.read(1)
        f.seek(offset + 8 + size // 2)
        f.write(bytes([byte[0] ^ mask]))
    return path, offset
