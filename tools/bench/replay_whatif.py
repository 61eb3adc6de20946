"""The what-if, why and re-scoring figures of `taonet bench replay`, on the bench's generated log (see
:mod:`taonet.tools.bench.replay`) and a generated validator journal.

- ``what_if_100_epochs_s``: ``replay what-if --netuid 1 --set kappa=40000 --no-cache`` over the whole log (its 10,000
  blocks hold 100 epochs of subnet 1: 256 UIDs, 64 validators): the epochs' inputs read from the epoch index the
  generator wrote beside the log as a node writes it (``what_if_inputs`` says "index"; "log" if it did not cover the
  range), and every epoch re-run: the cold figure, what the first what-if of a range costs.
- ``what_if_100_epochs_fold_s``: the same with ``--no-index``: the recorded states folded from the log (one worker
  process per core, one segment each cut at a snapshot, as the command does on a range this long): what a data
  directory without the index (an old one, or a node run with ``--no-epoch-index``) costs.
- ``what_if_100_epochs_warm_s``: the same range (``--no-index``) with what-if's cache (in a temporary directory)
  already holding it, each run with another kappa (``what_if_cache_bytes``: the size of that range's cache file).
- ``epoch_index_bytes``, ``epoch_index_records``, ``log_bytes``: the disk the index takes beside the log (every
  subnet's epochs) and the block log itself.
- ``why_s``: ``replay why --netuid 1 --hotkey H`` over the whole log, H a hotkey pruned in its middle.
- ``reward_rescore_1000_steps_s``: a journal of 1,000 template-subnet steps (16 answers each) re-scored with the
  template's reward model, moving averages kept as the validator keeps them.

Process layout: what-if (cold) reads the log in one worker process per core and re-runs the epochs in the bench's
process (warm: reads the cache file in the bench's process);
why and the re-scoring run in the bench's process, one thread (the reward hook in the neurons' daemon hook threads).
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from taonet.ledger import Keypair, ss58_encode
from taonet.plugins import Journal, load_plugin

from ..replay import (
    EpochCache,
    EventFilter,
    JournalWeights,
    indexed_epochs,
    list_events,
    neuron_story,
    open_log,
    what_if,
)
from ._stats import p99

__all__ = ["run_whatif", "write_journal"]

STEPS = 1000
ANSWERS = 16


def write_journal(folder: Path, steps: int = STEPS, answers: int = ANSWERS, *, netuid: int = 1) -> str:
    """A template-subnet validator journal of ``steps`` steps with ``answers`` answers each; the validator's hotkey."""
    rng = random.Random(18)
    miners = [ss58_encode(Keypair.from_uri(f"//bench//miner//{i}").public_key) for i in range(answers)]
    hotkey = ss58_encode(Keypair.from_uri("//bench//validator").public_key)
    j = Journal(folder, {"plugin": "template", "netuid": netuid, "hotkey": hotkey}, max_bytes=1 << 30).open()
    try:
        for step in range(steps):
            number = rng.randrange(1, 1_000_000)
            responses = []
            for uid, hk in enumerate(miners):
                latency = rng.uniform(0.001, 1.0)
                doubled = 2 * number if uid % 5 else 2 * number + 1
                responses.append({"uid": uid + 1, "hotkey": hk, "status": 200, "latency": latency,
                                  "data": {"doubled": doubled}})
            j.append({"step": step, "block": 10 + step, "time": 0.0,
                      "task": {"synapse": "Double", "fields": {"number": number}, "truth": 2 * number,
                               "timeout": 2.0},
                      "responses": responses, "scores": {}})
    finally:
        j.close()
    return hotkey


def _timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out



def _disk(data_dir: Path) -> dict[str, int]:
    """Bytes of the block log and of the epoch index beside it, and the index's records."""
    chain = data_dir / "chain"

    def size(folder: Path, pattern: str) -> int:
        return sum(p.stat().st_size for p in folder.rglob(pattern)) if folder.is_dir() else 0

    records = len(list((chain / "epochs").rglob("*.epin"))) if (chain / "epochs").is_dir() else 0
    return {"log_bytes": size(chain / "blocks", "*.seg"), "epoch_index_bytes": size(chain / "epochs", "*.epin"),
            "epoch_index_records": records}


def run_whatif(data_dir: Path, *, runs: int = 5, say: Callable[[str], Any] = lambda m: None) -> dict[str, Any]:
    """Measure what-if, why and the re-scoring (see the module docs); one flat dict."""
    with open_log(data_dir) as store:
        head = store.height
        say("what-if over the whole log…")
        workers = os.cpu_count() or 1  # as `replay what-if` reads a range this long
        inputs = "index" if indexed_epochs(store, 1, 0, head) is not None else "log"
        epochs = len(what_if(store, 1, {"kappa": 40000}, workers=workers).epochs)
        whatifs = _timed(lambda: what_if(store, 1, {"kappa": 40000}, workers=workers), runs)
        say("what-if over the whole log, folding it (--no-index)…")
        folds = _timed(lambda: what_if(store, 1, {"kappa": 40000}, workers=workers, index=False), runs)
        say("what-if from its cache (kappa 0.3, 0.4, 0.5… after a first run kept the range)…")
        with tempfile.TemporaryDirectory(prefix="taonet-bench-whatif-cache-") as tmp:
            cache = EpochCache(Path(tmp))
            kappas = iter(range(19660, 1 << 30, 6553))  # the warm-up keeps the range, each run tries another kappa
            warms = _timed(lambda: what_if(store, 1, {"kappa": next(kappas) % 65536}, workers=workers, cache=cache,
                                           index=False), runs)
            cache_bytes = sum(p.stat().st_size for p in Path(tmp).glob("*.epochs"))
        middle = head // 2
        pruned = next(iter(list_events(store, middle, head, EventFilter.of(["NeuronReplaced"], netuid=1))), None)
        say("why over the whole log…")
        if pruned is not None:
            whys = _timed(lambda: neuron_story(store, 1, hotkey=pruned.event.old_hotkey), runs)  # type: ignore[attr-defined]
        else:
            whys = _timed(lambda: neuron_story(store, 1, uid=1), runs)
    plugin = load_plugin("template")
    options = plugin.options()
    with tempfile.TemporaryDirectory(prefix="taonet-bench-journal-") as tmp:
        hotkey = write_journal(Path(tmp) / "journal")
        say("re-scoring a journal of 1,000 steps…")
        rescores = _timed(lambda: JournalWeights(plugin, options, {hotkey: Path(tmp) / "journal"}, 1), runs)
    return {
        "what_if_100_epochs_s": statistics.median(whatifs),
        "what_if_100_epochs_p99_s": p99(whatifs),
        "what_if_inputs": inputs,
        "what_if_100_epochs_fold_s": statistics.median(folds),
        "what_if_100_epochs_fold_p99_s": p99(folds),
        **_disk(data_dir),
        "what_if_100_epochs_warm_s": statistics.median(warms),
        "what_if_100_epochs_warm_p99_s": p99(warms),
        "what_if_cache_bytes": cache_bytes,
        "what_if_epochs": epochs,
        "why_s": statistics.median(whys),
        "why_p99_s": p99(whys),
        "reward_rescore_1000_steps_s": statistics.median(rescores),
        "reward_rescore_1000_steps_p99_s": p99(rescores),
        "what_if_workers": workers,
        "what_if_process_layout": "what-if cold (no cache): the epochs' inputs read from the epoch index and re-run "
                                  "in the bench's process; fold (--no-index): the log read by one worker process "
                                  "per core (one segment each, cut at a snapshot), the epochs re-run in the bench's "
                                  "process; what-if warm: the range's epochs read from the cache file and re-run in "
                                  "the bench's process; why and the re-scoring in the bench's process, one thread (the "
                                  "reward hook in the neurons' daemon hook threads)",
    }
