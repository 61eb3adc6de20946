"""Every wallet a network file declares is made, not only those a subnet or a neuron uses: a QA pass declared a
`user` wallet (//Dave, fund 5000) to use by hand; the launcher listed it on its `wallets:` line but never wrote it."""

from __future__ import annotations

from pathlib import Path

from taonet.kernel import Wallet
from taonet.ledger import Keypair
from taonet.tools.launcher._setup import prepare_wallets
from taonet.tools.launcher._spec import parse_network

NETWORK = {
    "name": "n",
    "wallets": [{"name": "owner", "uri": "//Alice"}, {"name": "user", "uri": "//Dave", "fund": 5000},
                {"name": "spare", "fund": 10}],
    "subnets": [{"netuid": 1, "plugin": "template", "owner": "owner"}],
    "neurons": [{"role": "miner", "plugin": "template", "netuid": 1, "wallet": "miners", "count": 1}],
}


def test_a_declared_wallet_no_neuron_uses_is_made_with_a_default_hotkey_and_funded(tmp_path: Path) -> None:
    spec = parse_network(NETWORK)
    created = prepare_wallets(spec, tmp_path)
    user = Wallet("user", "default", tmp_path)
    assert user.coldkeypub.ss58_address == Keypair.from_uri("//Dave").ss58_address
    assert user.hotkeypub.ss58_address == Keypair.from_uri("//Dave//default").ss58_address
    assert Wallet("spare", "default", tmp_path).hotkey_file.exists()
    assert {"user", "spare", "miners"} <= set(created)  # funded by the setup (each has fund > 0)
    assert prepare_wallets(spec, tmp_path) == {}  # made once: a resumed network keeps them
