"""The launcher's epoch lines follow the chain (docs/launcher.md, "The view"): every EpochCompleted of a subnet is
shown, those of the setup (before the neurons started) too, numbered from the subnet's creation, with the epoch's
block and the block that pays it; `--epochs N` stops once every subnet ran N. Checked against
`taonet replay DIR events --type EpochCompleted --json` on a short localnet whose epochs come during its setup."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .processes import taonet

LINE = re.compile(r"^epoch: subnet (\d+) epoch (\d+) \(block (\d+), paid in (\d+)\): (\d+)/(\d+) miners paid"
                  r"( \(during the setup, before the neurons started\))?$")


def test_epoch_lines_number_every_epoch_of_the_chain(tmp_path: Path) -> None:
    net = tmp_path / "net"
    env = {"HOME": str(tmp_path)}
    # three subnets, 0.05 s blocks, tempo 2: epochs come every 3 blocks, during the setup too (the launcher used to
    # start reading the chain after it, so its "epoch 1" was the chain's second or third)
    out, _ = taonet("localnet", "--plugin", "template", "--plugin", "template", "--plugin", "template",
                    "--miners", "2", "--validators", "1", "--block-time", "0.05", "--tempo", "2", "--epochs", "2",
                    "--lines", "--keep", str(net), env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [x for x in out.stdout.splitlines() if x.startswith("epoch:")]
    shown: dict[int, list[tuple[int, int, int, bool]]] = {}
    for x in lines:
        m = LINE.match(x)
        assert m, x
        netuid, number, block, paid_in = (int(g) for g in m.groups()[:4])
        shown.setdefault(netuid, []).append((number, block, paid_in, bool(m.group(7))))
    assert sorted(shown) == [1, 2, 3], lines
    # every subnet ran 2 epochs at least (those of the setup are shown at once, so some show more)
    counts = sorted({len(v) for v in shown.values()})
    said = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    assert counts[0] >= 2 and f"done: {said} epochs of every subnet" in out.stdout, out.stdout  # the counts shown
    assert any(early for v in shown.values() for *_, early in v), lines  # this network's setup holds epochs
    ev, _ = taonet("replay", str(net), "events", "--type", "EpochCompleted", "--json", env=env, timeout=30)
    assert ev.returncode == 0, ev.stderr
    chain: dict[int, list[tuple[int, int]]] = {}
    for e in json.loads(ev.stdout)["events"]:
        chain.setdefault(e["fields"]["netuid"], []).append((e["fields"]["block"], e["block"]))
    for netuid, epochs in shown.items():
        # each shown epoch is the chain's epoch of that number: (its block, the block holding the event)
        assert [(n, b, p) for n, b, p, _ in epochs] == [(k, *chain[netuid][k - 1]) for k, *_ in epochs], (
            netuid, epochs, chain[netuid])
        assert [n for n, *_ in epochs] == list(range(1, len(epochs) + 1))  # none skipped, from the first
