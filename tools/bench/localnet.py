"""`taonet bench localnet`: the launcher as a user meets it, through the installed command in child processes.

- ``first_emission_s``: from starting `taonet localnet` (a fresh directory; 2 validators, 4 miners, template) to its
  ``first_emission:`` line, the first epoch that paid a miner; median (and ``_p99``) of ``runs`` runs after a warm-up.
- ``stop_s``: from SIGINT to the launcher and every process it started being gone, in those same runs.
- The scale run, once: `taonet localnet --miners SCALE_MINERS --validators SCALE_VALIDATORS --per-host N` (N = 36 by
  default, ``--per-host``) for ``SCALE_TEMPOS`` epochs after its ``ready:`` line (every neuron runs):
  ``pss_mb_64_miners_8_validators`` (the summed proportional set size of the launcher and every process it started,
  after those epochs: shared pages count once), ``max_block_gap_ms_64_8`` (the largest gap between consecutive block
  timestamps from the start), ``miners_paid_64_8`` (how many miners the last epoch paid), ``setup_s_64_8`` (start to
  every neuron's process started) and ``ready_s_64_8`` (start to every neuron running).
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._stats import p99

SCALE_MINERS = 64
SCALE_VALIDATORS = 8
SCALE_TEMPOS = 5
PER_HOST = 36
FIRST_TIMEOUT = 120.0

FIGURES = ("first_emission_s", "first_emission_s_p99", "stop_s", "stop_s_p99", "pss_mb_64_miners_8_validators",
           "max_block_gap_ms_64_8", "miners_paid_64_8", "setup_s_64_8", "ready_s_64_8")
TAONET = [sys.executable, "-m", "taonet.tools"]


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            return False
    return True


def _start(dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*TAONET, "localnet", "--keep", str(dir), "--lines", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"})


def _wait_line(proc: subprocess.Popen[str], prefix: str, timeout: float, ok: Any = None) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            if line.startswith(prefix + ":") and (ok is None or ok(line)):
                return line.partition(":")[2].strip()
            continue
        if proc.poll() is not None:
            raise RuntimeError(f"taonet localnet exited ({proc.returncode}) before {prefix!r}")
        time.sleep(0.02)
    raise RuntimeError(f"no {prefix!r} line from taonet localnet within {timeout:g} s")


def _stop(proc: subprocess.Popen[str], dir: Path) -> float:
    """SIGINT; seconds until the launcher and every child it recorded are gone."""
    pids = [p["pid"] for p in json.loads((dir / "launch.json").read_text())["processes"] if p["pid"]]
    t = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    while not _gone(pids) and time.monotonic() - t < 60:
        time.sleep(0.01)
    took = time.monotonic() - t
    if proc.stdout is not None:
        proc.stdout.close()
    return took


def _one_run(root: Path, k: int) -> tuple[float, float]:
    dir = root / f"run-{k}"
    t = time.monotonic()
    proc = _start(dir)
    try:
        _wait_line(proc, "first_emission", FIRST_TIMEOUT)
        first = time.monotonic() - t
        return first, _stop(proc, dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()



def _scale(root: Path, say: Any, per_host: int) -> dict[str, Any]:
    dir = root / "scale"
    proc = _start(dir, "--miners", str(SCALE_MINERS), "--validators", str(SCALE_VALIDATORS), "--per-host",
                  str(per_host))
    try:
        _wait_line(proc, "running", 600)
        st = json.loads((dir / "launch.json").read_text())
        setup = float(st["uptime_s"])
        _wait_line(proc, "ready", 600)
        for _ in range(SCALE_TEMPOS):  # epochs after every neuron runs
            last = _wait_line(proc, "epoch", 120)
        st = json.loads((dir / "launch.json").read_text())
        pids = [proc.pid] + [p["pid"] for p in st["processes"] if p["pid"]]
        pss = sum(_pss_mb(pid) for pid in pids)
        paid = int(last.rsplit(": ", 1)[1].split("/")[0])
        say(f"scale run: {len(pids)} processes, {pss:,.0f} MB PSS, {paid}/{SCALE_MINERS} miners paid")
        _stop(proc, dir)
        return {"pss_mb_64_miners_8_validators": round(pss, 1), "max_block_gap_ms_64_8": st["max_block_gap_ms"],
                "miners_paid_64_8": paid, "setup_s_64_8": round(setup, 2),
                "ready_s_64_8": round(float(st["ready_s"]), 2)}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run(*, runs: int = 5, progress: Any = None, scale: bool = True, per_host: int = PER_HOST) -> dict[str, Any]:
    """Measure; the figures and how they ran (``per_host``: neurons per host process in the scale run, 1 = each in
    its own)."""
    def say(text: str) -> None:
        if progress is not None:
            progress.print(text)

    with tempfile.TemporaryDirectory(prefix="taonet-bench-localnet-") as tmp:
        root = Path(tmp)
        _one_run(root, 0)  # warm-up
        firsts, stops = [], []
        for k in range(1, runs + 1):
            first, stop = _one_run(root, k)
            say(f"run {k}: first emission {first:.2f} s, stop {stop:.2f} s")
            firsts.append(first)
            stops.append(stop)
        result: dict[str, Any] = {
            "first_emission_s": round(statistics.median(firsts), 2), "first_emission_s_p99": round(p99(firsts), 2),
            "stop_s": round(statistics.median(stops), 2), "stop_s_p99": round(p99(stops), 2)}
        if scale:
            result.update(_scale(root, say, per_host))
    result["runs"] = runs
    result["process_layout"] = (f"taonet localnet in a child process (its node and neuron hosts in their own); scale: "
                                f"{SCALE_MINERS} miners + {SCALE_VALIDATORS} validators, {per_host} per host, "
                                f"{SCALE_TEMPOS} tempos of 10 blocks of 0.25 s; load average "
                                f"{os.getloadavg()[0]:.1f} at the end")
    return result
