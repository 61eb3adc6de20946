"""Genesis: configs round-trip through files, become block 0, and bad files are typed errors."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from taonet.ledger import GenesisSubnet, Keypair, build_genesis, dev_genesis, dump_genesis, load_genesis
from taonet.ledger._genesis import state_from_genesis_block
from taonet.ledger.errors import InvalidBlock, InvalidGenesis


def test_a_genesis_file_round_trips(tmp_path: Path) -> None:
    """dump_genesis then load_genesis gives an equal config, hence the same block 0."""
    config, authority = dev_genesis()
    owner, hot = Keypair.from_uri("//Alice"), Keypair.from_uri("//Alice//sn")
    config = attrs.evolve(config, subnets=(GenesisSubnet(owner=owner.public_key, hotkey=hot.public_key),))
    dump_genesis(config, tmp_path / "genesis.json")
    again = load_genesis(tmp_path / "genesis.json")
    assert again == config
    block, state = build_genesis(again, authority)
    assert block.hash == build_genesis(config, authority)[0].hash
    assert state.subnet(1).owner_hotkey == hot.public_key
    assert state_from_genesis_block(block).digest() == state.digest()


@pytest.mark.parametrize(("text", "reason"), [
    ("{not json", "not JSON"),
    ('{"authority": "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"}', "missing 'chain_id'"),
    ('{"chain_id": "x", "authority": "nope"}', "SS58"),
    ('{"chain_id": "x", "authority": "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu", "params": {"bogus": 1}}',
     "bogus"),
])
def test_a_bad_genesis_file_is_a_typed_error(tmp_path: Path, text: str, reason: str) -> None:
    """Unreadable, malformed or incomplete files raise InvalidGenesis saying what is wrong."""
    path = tmp_path / "g.json"
    path.write_text(text)
    with pytest.raises(InvalidGenesis, match=reason):
        load_genesis(path)
    with pytest.raises(InvalidGenesis, match="cannot read"):
        load_genesis(tmp_path / "missing.json")


def test_block_zero_must_be_signed_by_its_configs_authority() -> None:
    """Sealing a genesis with another key than its authority is refused."""
    config, _ = dev_genesis()
    with pytest.raises(InvalidBlock):
        build_genesis(config, Keypair.from_uri("//Mallory"))
