"""The mempool's bounds an operator sets and sees: `taonet node run --mempool-max N --mempool-max-mb N` (the installed
command) holds the node's mempool to them, a bad value is one usage line (exit 2) before anything starts, and
`taonet node status` (table and --json) shows the mempool's extrinsics and bytes beside those bounds, and the
process's resident memory and garbage collector (docs/cli.md, docs/node.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from taonet.kernel import subtensor
from taonet.ledger import Extrinsic, Keypair, Transfer

from .processes import error_lines, taonet, taonet_node


def _status(rpc: str, *args: str) -> str:
    out, _ = taonet("node", "status", "-e", rpc, *args, timeout=60, env={"COLUMNS": "100"})
    assert out.returncode == 0, out
    return out.stdout


def test_node_run_holds_the_mempool_to_its_flags_and_node_status_shows_it(tmp_path: Path) -> None:
    """`--mempool-max 3 --mempool-max-mb 1` on a node that seals once a minute: three transfers wait, the fourth
    gets MempoolFull (extrinsics); `node status --json` says 3 waiting, their bytes, the bounds (3, 1 MiB), the
    resident memory and the tuned GC (thresholds 50,000 / 20 / 100, the state frozen); its table has the rows."""
    with taonet_node(tmp_path / "node", "--block-time", "60", "--mempool-max", "3", "--mempool-max-mb", "1") \
            as (_proc, _header, addresses):
        rpc = addresses["rpc"]
        st = json.loads(_status(rpc, "--json"))
        assert (st["mempool"], st["mempool_bytes"], st["mempool_max"], st["mempool_max_bytes"]) == (0, 0, 3, 1 << 20)
        alice, dest = Keypair.from_uri("//Alice"), Keypair.from_uri("//Bob").public_key
        with subtensor(rpc, timeout=20) as sub:
            genesis, nonce = sub.info()["genesis_hash"], sub.get_nonce(alice)
            exts = [Extrinsic.sign(Transfer(dest=dest, amount=1000 + i), alice, nonce=nonce + i, genesis=genesis)
                    for i in range(4)]
            results = sub.submit_batch(exts)
        assert [r.success for r in results] == [True, True, True, False], results
        assert "the mempool is full (3 extrinsics)" in str(results[3].error), results[3]
        size = sum(len(x.to_bytes()) for x in exts[:3])
        st = json.loads(_status(rpc, "--json"))
        assert (st["mempool"], st["mempool_bytes"], st["mempool_max"], st["mempool_max_bytes"]) == (3, size, 3,
                                                                                                   1 << 20), st
        assert isinstance(st["rss_bytes"], int) and 20 << 20 < st["rss_bytes"] < 4 << 30, st
        assert st["gc_thresholds"] == [50_000, 20, 100] and st["gc_frozen"] > 0, st  # node run tunes its GC
        assert len(st["gc_counts"]) == len(st["gc_collections"]) == len(st["gc_collected"]) == 3, st
        table = [" ".join(line.split()) for line in _status(rpc).splitlines()]
        assert f"mempool 3 extrinsics, {size} B; at most 3 and 1.0 MiB" in table, table
        assert any(line.startswith("memory ") and line.endswith(" MiB resident") for line in table), table
        assert any(line.startswith("gc pending ") and line.endswith(" of 50,000 / 20 / 100 (gen 0 / 1 / 2)")
                   for line in table), table
        assert any(line.startswith("gc runs ") and "objects frozen" in line for line in table), table


@pytest.mark.parametrize(("args", "says"), [
    (("--mempool-max", "0"), "Invalid value for '--mempool-max': Input should be greater than or equal to 1"),
    (("--mempool-max", "10000001"), "Invalid value for '--mempool-max': Input should be less than or equal to "
                                    "10000000"),
    (("--mempool-max-mb", "0"), "Invalid value for '--mempool-max-mb': Input should be greater than or equal to 1"),
    (("--mempool-max-mb", "16385"), "Invalid value for '--mempool-max-mb': Input should be less than or equal to "
                                    "16384"),
    (("--mempool-max-mb", "lots"), "Invalid value for '--mempool-max-mb': Input should be a valid integer"),
    (("--mempool-max", "100", "--mempool-per-signer", "500"),
     "--mempool-per-signer (500) is above --mempool-max (100): lower the share, or raise --mempool-max"),
])
def test_a_bad_mempool_bound_is_one_usage_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    """0, above the most allowed (10,000,000 extrinsics, 16,384 MiB), not a number, a signer's share above the whole
    mempool: exit 2, one `error:` line naming the flag, before anything starts (no data directory made)."""
    out, _ = taonet("node", "run", "--dev", "--data-dir", str(tmp_path / "d"), *args, timeout=60,
                    env={"HOME": str(tmp_path), "COLUMNS": "300"})
    lines = error_lines(out.stderr)
    assert out.returncode == 2, out
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert "Traceback" not in out.stderr + out.stdout
    assert not (tmp_path / "d").exists()
    assert not os.path.exists(tmp_path / ".taonet")
