"""Laws of `what_if` over a small chain sealed in-process by the ledger's Chain (the runtime and system answers the node
uses): random epoch hyperparameters pay every pot exactly; setting a hyperparameter to the value the chain had changes
nothing; the first re-run epoch equals the ledger's epoch on the recorded state with those hyperparameters."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taonet.ledger import (
    DEV_SUBNET_DEFAULTS,
    TAO,
    AddStake,
    BurnedRegister,
    Chain,
    CommitWeights,
    EmissionPaid,
    EpochResult,
    FileStore,
    GenesisSubnet,
    HyperparameterSet,
    Keypair,
    NeuronRegistered,
    NeuronReplaced,
    RegistrationRequested,
    RevealWeights,
    SetWeights,
    SubnetCreated,
    dev_genesis,
    epoch_inputs,
    epoch_result,
    hotkey_binding_payload,
    pack_epoch_inputs,
    replay,
    ss58_encode,
    unpack_epoch_inputs,
    weight_commit_hash,
)
from taonet.tools.replay import (
    EPOCH_HYPERPARAMETERS,
    EpochCache,
    StateCursor,
    epoch_series,
    neuron_story,
    parse_overrides,
    pruning_of,
    subnet_items,
    what_if,
)
from tests.tools.processes import taonet

UIDS = 12
VALIDATORS = 4
TEMPO = 5
HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=TEMPO, max_allowed_uids=UIDS, max_allowed_validators=VALIDATORS,
                     max_registrations_per_block=64, weights_rate_limit=0, immunity_period=20, min_burn=1000,
                     max_burn=1000)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 blocks: one subnet of 12 UIDs, 4 staked validators setting seeded random weights every 3 blocks, and from
    block 40 a registration every 6 blocks (each prunes a UID)."""
    rng = random.Random(18)
    path = tmp_path_factory.mktemp("laws") / "chain"
    config, authority = dev_genesis(subnet_defaults=HYPER)
    alice = Keypair.from_uri("//Alice")
    owner = Keypair.from_uri("//laws//owner")
    config = attrs.evolve(config, subnets=(GenesisSubnet(owner=alice.public_key, hotkey=owner.public_key,
                                                         hyper=HYPER),))
    with FileStore(path, fsync=False) as store:
        chain = Chain.create(config, authority, store=store, snapshot_every=30, block_time_ms=12_000)

        def register(hot: Keypair) -> None:
            chain.call(alice, BurnedRegister(netuid=1, hotkey=hot.public_key, max_burn=10**12,
                                             hotkey_signature=hot.sign(hotkey_binding_payload(chain.genesis_hash,
                                                                                              alice.public_key))))

        hots = [Keypair.from_uri(f"//laws//{u}") for u in range(1, UIDS)]
        for h in hots:
            register(h)
        chain.seal()
        chain.seal()
        validators = hots[:VALIDATORS]
        for i, v in enumerate(validators):
            chain.call(alice, AddStake(hotkey=v.public_key, amount=(100 + 50 * i) * TAO))
        chain.seal()
        late = 0
        while chain.height < 80:
            number = chain.height + 1
            if number % 3 == 0:
                for v in validators:
                    uid = chain.state.uid_of(1, v.public_key)
                    if uid is None or not chain.state.neuron(1, uid).validator_permit:  # type: ignore[union-attr]
                        continue
                    n = chain.state.subnet(1).n  # type: ignore[union-attr]
                    w = [rng.randrange(0, 65536) for _ in range(n)]
                    w[uid] = 0
                    chain.call(v, SetWeights(netuid=1, uids=list(range(n)), weights=w))
            if number >= 40 and number % 6 == 0:
                late += 1
                register(Keypair.from_uri(f"//laws//late//{late}"))
            chain.seal()
    return path


overrides = st.fixed_dictionaries({}, optional={
    "kappa": st.integers(0, 65535),
    "bonds_moving_average": st.integers(0, 1_000_000),
    "bonds_penalty": st.integers(0, 65535),
    "yuma3_enabled": st.booleans(),
    "liquid_alpha_enabled": st.booleans(),
    "max_allowed_validators": st.integers(1, UIDS),
})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=overrides)
def test_what_if_pays_every_pot_exactly_and_its_first_epoch_is_the_ledgers(log: Path, changes: dict) -> None:
    """For any epoch hyperparameters: every re-run epoch pays its pot exactly (neurons + owner cut), and the first
    equals the ledger's epoch_result on the recorded state with those hyperparameters (bonds as recorded)."""
    with FileStore(log, read_only=True) as store:
        w = what_if(store, 1, changes, start=0)
        assert len(w.epochs) >= 10
        for e in w.epochs:
            assert sum(e.whatif.vectors()["emission"]) + e.whatif.owner_cut == e.recorded.pot
        first = w.epochs[0]
        state = replay(store, to=first.block, verify_signatures=False).fork()
        sn = state.subnet(1)
        state.put("subnet", 1, attrs.evolve(sn, hyper=attrs.evolve(sn.hyper, **changes)))
        assert epoch_result(state, 1) == first.whatif


def test_setting_a_hyperparameter_to_the_chains_own_value_changes_nothing(log: Path) -> None:
    """`--set` of every epoch hyperparameter to the value the subnet had reproduces every epoch exactly."""
    same = [f"{name}={int(getattr(HYPER, name))}" for name in EPOCH_HYPERPARAMETERS]
    with FileStore(log, read_only=True) as store:
        w = what_if(store, 1, parse_overrides(same))
        assert w.identical() and len(w.epochs) >= 10 and not w.movers()
        other = what_if(store, 1, {"kappa": 10_000, "bonds_moving_average": 100_000})
        assert not other.identical()


def test_what_if_in_worker_processes_equals_the_one_pass(log: Path) -> None:
    """Read in 2 worker processes cut at the snapshots (every 30 blocks here), what-if gives exactly what one pass
    gives, from a block between snapshots too; the epoch inputs a worker ships give the epoch of the whole state, and
    packed for the cache they come back the same state (digest)."""
    with FileStore(log, read_only=True) as store:
        assert sorted(p.stem for p in (log / "snapshots").glob("*.snap")) == ["000000000030", "000000000060"]
        for start in (0, 17):
            one = what_if(store, 1, {"kappa": 20000, "yuma3_enabled": True}, start=start, index=False)
            two = what_if(store, 1, {"kappa": 20000, "yuma3_enabled": True}, start=start, workers=2, index=False)
            assert one == two and len(one.epochs) >= 10
        state = replay(store, to=one.epochs[-1].block, verify_signatures=False)
        assert epoch_result(epoch_inputs(state, 1), 1) == epoch_result(state, 1)
        packed = unpack_epoch_inputs(pack_epoch_inputs(state, 1))  # as what-if's cache keeps them
        assert packed.digest() == epoch_inputs(state, 1).digest()


def test_reading_only_the_subnets_items_selects_what_the_full_decode_selects(log: Path) -> None:
    """`subnet_items` (which decodes only the items whose bytes name a wanted type and the subnet) gives, block by
    block, exactly the extrinsics and events that filtering every fully decoded block gives, for any range."""
    calls, events = (SetWeights, EpochResult, BurnedRegister, AddStake), (
        NeuronRegistered, NeuronReplaced, RegistrationRequested, SubnetCreated, HyperparameterSet, EmissionPaid)
    with FileStore(log, read_only=True) as store:
        for netuid in (0, 1, 2):
            for start, stop in ((0, store.height + 1), (17, 61), (40, 41)):
                fast = list(subnet_items(store, start, stop, netuid, calls, events))
                full = []
                for block in store.read(start, stop):
                    exts = [x for x in block.extrinsics
                            if isinstance(x.call, calls) and getattr(x.call, "netuid", None) == netuid]
                    recs = [r for r in block.events
                            if isinstance(r.event, events) and getattr(r.event, "netuid", None) == netuid]
                    if exts or recs:
                        full.append((block.number, exts, recs))
                assert fast == full
                if netuid == 1 and stop - start > 1:
                    assert any(x for _, x, _ in full) and any(r for _, _, r in full)


def test_why_explains_every_pruning_as_the_state_before_it_does(log: Path) -> None:
    """For every UID (its prunings explained from states folded forward one from the other, or in worker processes)
    and every hotkey, each tenure that ended names its newcomer, and its pruning is `pruning_of` the state replayed
    to the block before."""
    with FileStore(log, read_only=True) as store:
        prunings = 0
        hotkeys = set()
        for uid in range(UIDS):
            for t in neuron_story(store, 1, uid=uid):
                hotkeys.add(t.hotkey)
                if t.replaced_at is None:
                    continue
                prunings += 1
                before = replay(store, to=t.replaced_at - 1, verify_signatures=False)
                assert t.pruning == pruning_of(before, 1, uid)
                assert t.pruning["registrar_agrees"] and t.pruning["newcomer"] == ss58_encode(t.replaced_by)
        assert prunings >= 5
        cursor = StateCursor(store)  # forward from 42 to 55 (the snapshot at 30 is farther), then back to 20
        for block in (42, 55, 59, 20):
            assert cursor.at(block).digest() == replay(store, to=block, verify_signatures=False).digest()
        for uid in (5, 9):  # one pruning; two, explained in 2 worker processes
            one = [t.as_dict() for t in neuron_story(store, 1, uid=uid)]
            assert [t.as_dict() for t in neuron_story(store, 1, uid=uid, workers=2)] == one
        for hotkey in hotkeys:
            for t in neuron_story(store, 1, hotkey=hotkey):
                same = next(u for u in neuron_story(store, 1, uid=t.uid) if u.registered_at == t.registered_at)
                assert t.as_dict() == same.as_dict()


# --- what-if's cache -------------------------------------------------------------------------------------------------


def test_what_if_from_its_cache_equals_what_if_from_the_log(log: Path, tmp_path: Path) -> None:
    """The first what-if of a range keeps its recorded epochs; later ones (other hyperparameters too, one process or
    two) answer from the cache exactly what reading the log answers; another range is another file."""
    cache = EpochCache(tmp_path / "cache")
    with FileStore(log, read_only=True) as store:
        for workers in (1, 2):
            cache.clear()
            first = what_if(store, 1, {"kappa": 20000}, start=17, workers=workers, cache=cache, index=False)
            (kept,) = (tmp_path / "cache").glob("*.epochs")
            assert first == what_if(store, 1, {"kappa": 20000}, start=17)
            for changes in ({"kappa": 20000}, {"yuma3_enabled": True, "bonds_moving_average": 500_000}, {}):
                warm = what_if(store, 1, changes, start=17, workers=workers, cache=cache, index=False)
                assert warm == what_if(store, 1, changes, start=17) and len(warm.epochs) >= 10
            assert warm.identical() and list((tmp_path / "cache").glob("*.epochs")) == [kept]
        what_if(store, 1, {}, start=0, stop=50, cache=cache, index=False)
        assert len(list((tmp_path / "cache").glob("*.epochs"))) == 2
        series = epoch_series(store, 1, 0, 50)  # plot's series from the kept range, the stakes included
        assert series.blocks and epoch_series(store, 1, 0, 50, cache=cache, index=False) == series
        assert epoch_series(store, 1, 0, 50, cache=cache, workers=2, index=False) == series
        assert cache.key(store, 1, 0, 50) != cache.key(store, 1, 0, 49) != cache.key(store, 2, 0, 49)


@pytest.mark.parametrize("damage", ["cut", "flip", "garbage", "empty", "another_key"])
def test_a_damaged_cache_file_is_a_miss_and_is_written_again(log: Path, tmp_path: Path, damage: str) -> None:
    """A cache file cut short, with a byte changed, of garbage, empty, or a sound file of another range put under this
    range's name: what-if reads the log instead (the same answer) and keeps a sound file again."""
    cache = EpochCache(tmp_path)
    with FileStore(log, read_only=True) as store:
        truth = what_if(store, 1, {"kappa": 30000}, start=5, stop=60)
        what_if(store, 1, {}, start=5, stop=60, cache=cache, index=False)
        (path,) = tmp_path.glob("*.epochs")
        raw = path.read_bytes()
        if damage == "another_key":
            what_if(store, 1, {}, start=6, stop=60, cache=cache, index=False)
            other = next(p for p in tmp_path.glob("*.epochs") if p != path)
            other.replace(path)
        else:
            rng = random.Random(damage)
            k = rng.randrange(len(raw))
            path.write_bytes({"cut": raw[:k], "flip": raw[:k] + bytes([raw[k] ^ 0x10]) + raw[k + 1:],
                              "garbage": rng.randbytes(len(raw)), "empty": b""}[damage])
        assert cache.load(cache.key(store, 1, 5, 60)) is None and not path.exists()
        path.write_bytes(b"taonetWI" + bytes(40))
        assert what_if(store, 1, {"kappa": 30000}, start=5, stop=60, cache=cache, index=False) == truth
        assert path.read_bytes() == raw
        assert what_if(store, 1, {"kappa": 30000}, start=5, stop=60, cache=cache, index=False) == truth


def test_the_cache_keeps_within_its_bound_dropping_the_least_recently_used(log: Path, tmp_path: Path) -> None:
    """Past its byte bound the cache removes the least recently used files; a range larger than the bound, or a
    cache directory that cannot be made, keeps nothing (what-if still answers)."""
    with FileStore(log, read_only=True) as store:
        probe = EpochCache(tmp_path / "probe")
        what_if(store, 1, {}, start=0, stop=40, cache=probe, index=False)
        size = next((tmp_path / "probe").glob("*.epochs")).stat().st_size
        cache = EpochCache(tmp_path / "c", max_bytes=int(2.5 * size))
        ranges = [(0, 40), (1, 40), (2, 40)]
        for a, b in ranges[:2]:
            what_if(store, 1, {}, start=a, stop=b, cache=cache, index=False)
        first = cache._path(cache.key(store, 1, 0, 40))
        os.utime(first, (time.time() - 100, time.time() - 100))
        assert cache.load(cache.key(store, 1, 0, 40)) is not None  # used again: now the most recent
        what_if(store, 1, {}, start=2, stop=40, cache=cache, index=False)
        kept = sorted(p.name for p in (tmp_path / "c").glob("*.epochs"))
        assert len(kept) == 2 and first.name in kept
        assert cache._path(cache.key(store, 1, 1, 40)).name not in kept
        assert sum(p.stat().st_size for p in (tmp_path / "c").glob("*.epochs")) <= cache.max_bytes
        tiny = EpochCache(tmp_path / "tiny", max_bytes=size // 2)
        assert what_if(store, 1, {}, start=0, stop=40, cache=tiny, index=False).identical()
        assert not list((tmp_path / "tiny").glob("*.epochs"))
        (tmp_path / "file").write_text("not a directory")  # a cache that cannot be written keeps nothing, no error
        unwritable = EpochCache(tmp_path / "file" / "c")
        assert what_if(store, 1, {}, start=0, stop=40, cache=unwritable, index=False).identical()


def test_the_command_keeps_its_cache_under_xdg_cache_home_unless_told_not_to(log: Path, tmp_path: Path) -> None:
    """`replay what-if --no-index` keeps the range under $XDG_CACHE_HOME/taonet/what-if and answers the same from it;
    with --no-cache nothing is kept; from the epoch index (the default) it keeps nothing and answers the same."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    outs = []
    for _ in range(2):
        out, _ = taonet("replay", str(log), "what-if", "--netuid", "1", "--set", "kappa=20000", "--json", "--no-index",
                        env=env)
        assert out.returncode == 0, out.stderr
        outs.append(json.loads(out.stdout))
    assert outs[0] == outs[1] and outs[0]["epochs"]
    assert len(list((tmp_path / "xdg" / "taonet" / "what-if").glob("*.epochs"))) == 1
    env = {"XDG_CACHE_HOME": str(tmp_path / "none")}
    out, _ = taonet("replay", str(log), "what-if", "--netuid", "1", "--set", "kappa=20000", "--json", "--no-cache",
                    env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == outs[0] and not (tmp_path / "none").exists()
    out, _ = taonet("replay", str(log), "what-if", "--netuid", "1", "--set", "kappa=20000", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == outs[0] and not (tmp_path / "none").exists()


def test_why_counts_weights_revealed_under_commit_reveal(tmp_path: Path) -> None:
    """On a commit-reveal subnet the weights a validator revealed are the ones `why` shows it gave (from the reveal's
    block on), as the chain set them: the owner's UID 0 revealing 3:4 to UIDs 1 and 2 gives UID 1 a share of 3/7."""
    from tests.ledger.chains import OWNER_HOT, chain_with_subnet

    hyper = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=10, commit_reveal_weights_enabled=True)
    with FileStore(tmp_path / "chain", fsync=False) as store:
        chain = chain_with_subnet(store, miners=2, hyper=hyper, snapshot_every=16)
        key = OWNER_HOT.public_key
        chain.call(OWNER_HOT, CommitWeights(netuid=1, commit_hash=weight_commit_hash(key, 1, (1, 2), (3, 4), b"s" * 8,
                                                                                    0)))
        chain.seal()
        while chain.height < chain.state.weight_commits(1, key)[0].reveal_from:
            chain.seal()
        chain.call(OWNER_HOT, RevealWeights(netuid=1, uids=(1, 2), values=(3, 4), salt=b"s" * 8))
        assert not chain.seal().rejected
        revealed = chain.height
        chain.run(25)
    with FileStore(tmp_path / "chain", read_only=True) as store:
        (t,) = neuron_story(store, 1, uid=1)
        before = [e for e in t.epochs if e["block"] < revealed]
        after = [e for e in t.epochs if e["block"] >= revealed]
        assert before and after and all(not e["weights"] for e in before)
        for e in after:
            (w,) = e["weights"]
            assert (w["uid"], w["share"], w["set_at"]) == (0, round(3 / 7, 6), revealed)
