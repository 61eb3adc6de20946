"""taonet.testing: a dev network for a subnet plugin's tests — a node, a subnet running the plugin, miners and
validators as real processes, and the metagraph to check who got paid.

::

    from taonet.testing import LocalNet

    def test_honest_miners_earn(tmp_path):
        with LocalNet(tmp_path, plugin="myplugin") as net:
            good = net.add_miner()
            bad = net.add_miner(options={"honest": "false"})
            validator = net.add_validator()
            net.wait_for_answers(validator)
            net.advance(tempos=3)
            mg = net.metagraph()
            assert mg.I[good.uid] > mg.I[bad.uid]

Everything started is stopped when the ``with`` block ends (SIGTERM, then SIGKILL after a deadline). Keys are
development keys (``//Bob//miner-0``...) in wallets under ``root``; nothing outside ``root`` is written.
This module is part of the plugins layer (``taonet.plugins.testing``, installed as ``taonet.testing``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs

__all__ = ["LocalNet", "NeuronProcess", "answered_steps", "read_line", "stop_process"]

TAONET = [sys.executable, "-m", "taonet.tools"]
STOP_TIMEOUT = 10.0


def read_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 60.0) -> str:
    """The value of the first ``prefix: value`` line ``proc`` prints (RuntimeError if it exits or times out)."""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    buf = ""
    while time.monotonic() < deadline:
        chunk = proc.stdout.readline()
        if chunk:
            buf += chunk
            if buf.endswith("\n"):
                line, buf = buf.strip(), ""
                if line.startswith(prefix + ":"):
                    os.set_blocking(proc.stdout.fileno(), True)
                    return line.partition(":")[2].strip()
            continue
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(proc.args[2:6])} exited with status {proc.returncode} before printing "
                               f"{prefix!r}; see its log")
        time.sleep(0.02)
    raise RuntimeError(f"no {prefix!r} line within {timeout} s")


def _last_error(log: Path) -> str:
    """Why a neuron did not start, from the end of its log: the last ``error:`` line (what the `taonet` command said
    when it stopped), else the last hook error it logged (``plugin.hook_failed``: a neuron_start past its
    hook_timeout, said before the process ends), or ""."""
    import json

    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    said = next((line.strip() for line in reversed(lines) if line.startswith("error:")), "")
    for line in reversed(lines if not said else ()):
        if '"plugin.hook_failed"' in line and '"neuron_start"' in line:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("hook") == "neuron_start":
                return f"plugin.hook_failed: the neuron_start hook failed: {event.get('error')}"
    return said


LATEST_ERRORS = 3
"""A neuron's latest status errors a LocalNet wait's error shows (each cut to ERROR_CHARS characters)."""
ERROR_CHARS = 300


def _latest_errors(neuron: NeuronProcess) -> str:
    """The neuron's latest status errors (status.json's, the most recent last), as the end of a wait's error: why
    steps were skipped (a reward that raised or returned NaN) is there, not in the miners; "" when it has none."""
    errors = [str(e) for e in ((neuron.status() or {}).get("errors") or [])][-LATEST_ERRORS:]
    if not errors:
        return ""
    said = " | ".join(e if len(e) <= ERROR_CHARS else e[:ERROR_CHARS - 3] + "..." for e in errors)
    return f"; its latest status errors: {said}"


def _set_value(v: Any) -> str:
    """An option's value as ``--set`` takes it: a list or a table as JSON, a bool as true/false, else its text."""
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple | dict):
        return json.dumps(list(v) if isinstance(v, tuple) else v)
    return str(v)


def stop_process(proc: subprocess.Popen[str], *, kill: bool = False, timeout: float = STOP_TIMEOUT) -> int:
    """Stop a child process: SIGTERM (SIGKILL with ``kill``), SIGKILL if still there after ``timeout`` seconds;
    reap it, close its stdout, return its exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


def answered_steps(journal: str | os.PathLike[str]) -> int:
    """The steps in a validator's journal folder in which at least one miner answered (status 200); 0 for none."""
    from taonet.plugins import read_journal

    return sum(1 for step in read_journal(journal) if any(r.get("status") == 200 for r in step.get("responses") or ()))


@attrs.define(kw_only=True)
class NeuronProcess:
    """A miner or validator started by :class:`LocalNet`: its process, wallet, UID and state directory."""

    role: str
    name: str
    uid: int
    hotkey: str
    wallet: Any
    state_dir: Path
    log: Path
    args: list[str]
    proc: subprocess.Popen[str] | None = None

    def status(self) -> dict[str, Any] | None:
        """The neuron's status.json, or None before it wrote one."""
        import json

        try:
            return json.loads((self.state_dir / "status.json").read_text())
        except (FileNotFoundError, ValueError):
            return None


class LocalNet:
    """A dev node with one subnet running ``plugin`` and neurons as processes; use it as a context manager."""

    def __init__(self, root: str | os.PathLike[str], plugin: str, *, block_time: float = 0.1, tempo: int = 20,
                 hyperparameters: dict[str, int] | None = None, timeout: float = 30.0) -> None:
        self.root = Path(root)
        self.plugin = plugin
        self.block_time = block_time
        self.tempo = tempo
        self.hyperparameters = dict(hyperparameters or {})
        self.timeout = timeout
        self.netuid = -1
        self.endpoint = ""
        self.neurons: list[NeuronProcess] = []
        self._node: subprocess.Popen[str] | None = None
        self._sub: Any = None
        self._count = {"miner": 0, "validator": 0}
        self._defaults: dict[str, Any] | None = None

    # --- lifetime -----------------------------------------------------------------------------------------------
    def __enter__(self) -> LocalNet:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        from taonet.kernel import subtensor

        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        log = open(self.root / "logs" / "node.log", "w")  # noqa: SIM115 - the child holds it; closed below
        self._node = subprocess.Popen(
            [*TAONET, "node", "run", "--dev", "--block-time", str(self.block_time), "--data-dir",
             str(self.root / "node"), "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--no-fsync"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        self.endpoint = read_line(self._node, "rpc", self.timeout)
        self._sub = subtensor(self.endpoint, timeout=self.timeout)
        owner = self.wallet("owner", "//Alice", "//Alice//owner")
        created = self._sub.create_subnet(owner)
        if not created.success:
            raise RuntimeError(f"could not create the subnet: {created.message}")
        self.netuid = next(e.netuid for e in created.events if type(e).__name__ == "SubnetCreated")
        for name, value in {"tempo": self.tempo, **self.hyperparameters}.items():
            r = self._sub.set_hyperparameter(owner, self.netuid, name, value)
            if not r.success:
                raise RuntimeError(f"could not set {name}={value}: {r.message}")
        r = self._sub.set_subnet_identity(owner, self.netuid, self.plugin, description="taonet.testing")
        if not r.success:
            raise RuntimeError(f"could not record the plugin {self.plugin!r}: {r.message}")

    def close(self) -> None:
        """Stop every validator, then every miner (SIGTERM, then SIGKILL after a deadline), then the node."""
        # validators first: a miner stopped under a validator's query is scored as failed, and weights set from that
        # would reach the epochs the chain still runs while the rest stops (what a replay of ``root`` then shows)
        for n in sorted(self.neurons, key=lambda n: n.role != "validator"):
            if n.proc is not None:
                stop_process(n.proc)
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        if self._node is not None:
            stop_process(self._node)
            self._node = None

    # --- wallets and neurons --------------------------------------------------------------------------------------
    def wallet(self, name: str, coldkey_uri: str, hotkey_uri: str) -> Any:
        """A wallet under ``root/wallets`` with development keys (unencrypted: this is a test network)."""
        from taonet.kernel import Wallet

        w = Wallet(name, "default", self.root / "wallets")
        if not w.coldkey_file.exists():
            w.create_coldkey_from_uri(coldkey_uri, encrypt=False)
            w.create_hotkey_from_uri(hotkey_uri)
        return w

    @property
    def subtensor(self) -> Any:
        """A blocking Subtensor connected to the node."""
        return self._sub

    def _register(self, role: str, coldkey_uri: str, stake: float) -> tuple[str, Any, int]:
        i = self._count[role]
        self._count[role] += 1
        name = f"{role}-{i}"
        w = self.wallet(name, coldkey_uri, f"{coldkey_uri}//{name}")
        r = self._sub.burned_register(w, self.netuid)
        if not r.success or r.uid is None:
            raise RuntimeError(f"could not register {name}: {r.message}")
        if stake > 0:
            s = self._sub.add_stake(w, w.hotkey.ss58_address, stake)
            if not s.success:
                raise RuntimeError(f"could not stake on {name}: {s.message}")
        return name, w, r.uid

    def _spawn(self, role: str, name: str, w: Any, uid: int, options: dict[str, Any] | None,
               state_dir: Path | None = None) -> NeuronProcess:
        state = state_dir or self.root / "state" / name
        args = [*TAONET, role, "run", "--plugin", self.plugin, "--netuid", str(self.netuid), "--wallet-name", name,
                "--hotkey", "default", "--wallet-path", str(self.root / "wallets"), "--endpoint", self.endpoint,
                "--port", "0", "--state-dir", str(state), "--log-json"]
        for k, v in (options or {}).items():
            if v is not None:  # None: the option's default (its "not given")
                args += ["--set", f"{k}={_set_value(v)}"]
        n = NeuronProcess(role=role, name=name, uid=uid, hotkey=w.hotkey.ss58_address, wallet=w, state_dir=state,
                          log=self.root / "logs" / f"{name}.log", args=args)
        self.start(n)
        self.neurons.append(n)
        return n

    def start(self, neuron: NeuronProcess) -> NeuronProcess:
        """(Re)start a neuron's process with its arguments; returns once it serves (miner) or follows blocks, within
        twice ``timeout`` and its neuron_start's ``hook_timeout``."""
        with open(neuron.log, "a") as log:
            neuron.proc = subprocess.Popen(neuron.args, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            read_line(neuron.proc, "axon" if neuron.role == "miner" else "state",
                      self.timeout * 2 + self._hook_timeout(neuron.args))
        except RuntimeError as e:  # say why, from its log: the test's failure then names the plugin's mistake
            stop_process(neuron.proc)  # still running when it timed out: not left behind
            neuron.proc = None
            raise RuntimeError(f"{neuron.name} did not start: {_last_error(neuron.log) or e} (log: {neuron.log})"
                               ) from None
        return neuron

    def _hook_timeout(self, args: list[str]) -> float:
        """The ``hook_timeout`` a neuron run with ``args`` gives its neuron_start: its ``--set``, else the plugin's
        default (the plugin loaded here once), else the neuron's. A neuron_start that overruns it stops the neuron
        with its own error, which a start deadline of its own must not come before."""
        from taonet.plugins import NEURON_OPTIONS
        from taonet.plugins.errors import PluginError

        given = [a.partition("=")[2] for a in args if a.startswith("hook_timeout=")]
        try:
            if given:
                return max(0.0, float(given[-1]))
            if self._defaults is None:
                from taonet.plugins import load_plugin

                self._defaults = load_plugin(self.plugin).protocol.defaults()
            return max(0.0, float(self._defaults["hook_timeout"]))
        except (PluginError, ValueError, TypeError, OverflowError):  # the neuron says what is wrong, itself
            return float(NEURON_OPTIONS["hook_timeout"].default)

    def stop(self, neuron: NeuronProcess, *, kill: bool = False) -> int:
        """Stop a neuron's process (SIGTERM, or SIGKILL with ``kill``); its exit status."""
        if neuron.proc is None:
            return 0
        code = stop_process(neuron.proc, kill=kill)
        neuron.proc = None
        return code

    def add_miner(self, options: dict[str, Any] | None = None) -> NeuronProcess:
        """Register a new hotkey and run a miner on it (``options``: the plugin's ``--set`` values)."""
        name, w, uid = self._register("miner", "//Bob", 0)
        n = self._spawn("miner", name, w, uid, options)
        self.wait_for_axon(n)
        return n

    def add_validator(self, options: dict[str, Any] | None = None, *, stake: float = 1000.0) -> NeuronProcess:
        """Register a new hotkey, stake ``stake`` τ on it and run a validator on it."""
        name, w, uid = self._register("validator", "//Charlie", stake)
        return self._spawn("validator", name, w, uid, options)

    def wait_for_axon(self, neuron: NeuronProcess, timeout: float | None = None) -> None:
        """Wait until the chain shows the miner's axon serving."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            n = self._sub.neuron(self.netuid, neuron.uid)
            if n is not None and n.get("axon") is not None:
                return
            self._sub.wait_for_block()
        raise RuntimeError(f"{neuron.name}'s axon is not on the chain after {timeout or self.timeout} s")

    def wait_for_answers(self, validator: NeuronProcess, steps: int = 3, timeout: float | None = None) -> int:
        """Wait until ``validator`` has journaled ``steps`` steps in which a miner answered; returns their count.

        A validator's first steps may all be refused (403: the miners do not know it yet) and, on a busy machine,
        come late: weights set from them tell no miner from another. Compare miners after this, then ``advance``.
        """
        limit = timeout or self.timeout * 2
        deadline = time.monotonic() + limit
        while True:
            answered = answered_steps(validator.state_dir / "journal")
            if answered >= steps:
                return answered
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{validator.name} journaled {answered} answered steps in {limit} s, not {steps}"
                                   f"{_latest_errors(validator)} (log: {validator.log})")
            self._sub.wait_for_block()

    # --- time and the chain ----------------------------------------------------------------------------------------
    def head(self) -> int:
        """The node's head block."""
        return self._sub.get_current_block()

    def advance(self, *, tempos: int = 1, blocks: int = 0) -> int:
        """Wait for ``tempos`` epochs of the subnet (and ``blocks`` more); returns the head."""
        target = self.head() + tempos * (self.tempo + 1) + blocks
        per_block = max(self.block_time * 20, 5.0)
        return self._sub.wait_for_block(target, timeout=per_block * (target - self.head() + 1))

    def metagraph(self) -> Any:
        """The subnet's metagraph at the head (``mg.I``, ``mg.E``, ``mg.hotkeys``...)."""
        return self._sub.metagraph(self.netuid)
