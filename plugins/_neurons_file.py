"""The ``[[neurons]]`` table: which neurons a neuron host (or the launcher) runs, read from TOML.

One row describes ``count`` neurons of one role, plugin and subnet (docs/subnets.md, "Many neurons in one
process"). ``{i}`` in ``name``, ``wallet``, ``hotkey``, ``state_dir`` and ``gateway`` is replaced by the neuron's
index (0 .. count-1), and a non-zero ``port`` grows by the index. Reading checks every key and value, so a typo is
one line naming the row and the key, before anything starts.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

__all__ = ["FILE_KEYS", "MAX_NEURONS", "NEURON_KEYS", "NeuronSpec", "gateway_problem", "load_neurons", "parse_neurons"]

ROLES = ("miner", "validator")
MAX_NEURONS = 4096
"""The most neurons one file describes (a row's count, and all rows together)."""

NEURON_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "role": str, "plugin": str, "netuid": int, "wallet": str, "hotkey": str, "count": int, "options": dict,
    "name": str, "endpoint": str, "wallet_path": str, "port": int, "external_ip": str, "state_dir": str,
    "gateway": str, "timeout": (int, float),
}
"""The keys of one ``[[neurons]]`` row and their TOML types."""

FILE_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "neurons": list, "endpoint": str, "wallet_path": str, "timeout": (int, float),
}
"""The top-level keys of a neurons file (``endpoint``, ``wallet_path``, ``timeout``: defaults for every row)."""


def _invalid(where: str, reason: str) -> Exception:
    from .errors import InvalidNeuronFile

    return InvalidNeuronFile(where=where, reason=reason)


@attrs.frozen(kw_only=True)
class NeuronSpec:
    """One neuron of a ``[[neurons]]`` row, expanded (``{i}`` replaced): what a host needs to run it."""

    name: str
    role: str
    plugin: str
    netuid: int
    wallet: str = "default"
    hotkey: str = "default"
    options: Mapping[str, Any] = attrs.field(factory=dict)
    endpoint: str | None = None
    wallet_path: str | None = None
    port: int = 0
    external_ip: str | None = None
    state_dir: Path | None = None
    gateway: str | None = None
    timeout: float = 30.0

    def config(self, *, shared: Any = None) -> Any:
        """The :class:`~taonet.plugins.NeuronConfig` of this neuron (its wallet opened, not yet unlocked)."""
        from taonet.kernel import Wallet

        from ._neuron import NeuronConfig

        return NeuronConfig(plugin=self.plugin, netuid=self.netuid,
                            wallet=Wallet(self.wallet, self.hotkey, self.wallet_path), endpoint=self.endpoint,
                            timeout=self.timeout, port=self.port, external_ip=self.external_ip,
                            state_dir=self.state_dir, options=dict(self.options), gateway=self.gateway,
                            shared=shared)


def _check_types(where: str, row: Mapping[str, Any], known: Mapping[str, Any], extra: Collection[str]) -> None:
    for key, value in row.items():
        if key in extra:
            continue
        if key not in known:
            raise _invalid(where, f"unknown key {key!r} (known: {', '.join(sorted(known))})")
        want = known[key]
        if isinstance(value, bool) or not isinstance(value, want):
            names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
            raise _invalid(where, f"{key} must be a {names}, not {type(value).__name__}")


def gateway_problem(address: str) -> str | None:
    """Why ``address`` cannot be a validator's gateway (not ``HOST:PORT`` or an nng URL with one), or None."""
    url = address if "://" in address else f"tcp://{address}"
    if url.startswith("tcp://"):
        host, colon, port = url[6:].rpartition(":")
        if not colon or not host or not port.isdigit() or int(port) > 65535:
            return (f"{address!r} is not HOST:PORT (or an nng address such as tcp://HOST:PORT, ipc:///PATH); "
                    "port 0: any free port")
    return None


def _expand(where: str, row: Mapping[str, Any], defaults: Mapping[str, Any], base: Path | None) -> list[NeuronSpec]:
    from taonet.kernel import Wallet

    for key in ("role", "plugin", "netuid"):
        if key not in row:
            raise _invalid(where, f"missing key {key!r}")
    role = row["role"]
    if role not in ROLES:
        raise _invalid(where, f"role must be miner or validator, not {role!r}")
    count = row.get("count", 1)
    if not 1 <= count <= MAX_NEURONS:
        raise _invalid(where, f"count must be 1..{MAX_NEURONS}, not {count}")
    wallet, hotkey = row.get("wallet", "default"), row.get("hotkey", "default")
    if count > 1 and "{i}" not in wallet + hotkey:
        raise _invalid(where, "with count > 1, wallet or hotkey must contain {i} (one hotkey per neuron)")
    if "gateway" in row and role != "validator":
        raise _invalid(where, "only a validator opens a gateway")
    if "gateway" in row and (problem := gateway_problem(row["gateway"].replace("{i}", "0"))) is not None:
        raise _invalid(where, f"gateway {problem}")
    port = row.get("port", 0)
    if not 0 <= port <= 65535 or (port and port + count - 1 > 65535):
        raise _invalid(where, f"port {port} (+ count) is outside 0..65535")
    netuid = row["netuid"]
    if not 0 <= netuid <= 65535:
        raise _invalid(where, f"netuid must be 0..65535, not {netuid}")
    timeout = row.get("timeout", defaults.get("timeout", 30.0))
    if not 0 < timeout < float("inf"):
        raise _invalid(where, f"timeout must be a number of seconds > 0, not {timeout}")
    external_ip = row.get("external_ip")
    if external_ip is not None:
        import ipaddress

        try:
            ipaddress.ip_address(external_ip)
        except ValueError:
            raise _invalid(where, f"external_ip {external_ip!r} is not an IPv4 or IPv6 address (a host name is not "
                                  "taken)") from None
    options = row.get("options", {})
    for k, v in options.items():
        if isinstance(v, dict | list):
            raise _invalid(where, f"option {k!r} must be a string, number or boolean")

    def path(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() or base is None else base / p

    out = []
    for i in range(count):
        def sub(text: str | None, i: int = i) -> str | None:
            return None if text is None else text.replace("{i}", str(i))

        w, h = sub(wallet), sub(hotkey)
        try:
            Wallet(w or "default", h or "default", "/")  # checks the names (nothing is read)
        except ValueError as e:
            raise _invalid(where, str(e)) from None
        default_name = f"{role}-{row['plugin']}-{netuid}-{w}" + ("" if h == "default" else f"-{h}")
        wallet_path = row.get("wallet_path", defaults.get("wallet_path"))
        out.append(NeuronSpec(
            name=sub(row.get("name")) or default_name, role=role, plugin=row["plugin"], netuid=netuid,
            wallet=w or "default", hotkey=h or "default",
            options={k: str(v).lower() if isinstance(v, bool) else v for k, v in options.items()},
            endpoint=row.get("endpoint", defaults.get("endpoint")),
            wallet_path=str(path(wallet_path)) if wallet_path else None, port=port + i if port else 0,
            external_ip=external_ip, state_dir=path(sub(row.get("state_dir"))),
            gateway=sub(row.get("gateway")), timeout=float(timeout)))
    return out


def parse_neurons(rows: Sequence[Mapping[str, Any]], *, defaults: Mapping[str, Any] | None = None,
                  base: Path | None = None, extra_keys: Collection[str] = (), source: str = "neurons"
                  ) -> list[NeuronSpec]:
    """Check and expand ``[[neurons]]`` rows (InvalidNeuronFile naming the row and key otherwise).

    ``defaults`` fill ``endpoint``, ``wallet_path`` and ``timeout`` where a row has none; relative paths are read
    from ``base``; ``extra_keys`` are keys a caller adds to the table for itself (the launcher's), passed over.
    """
    specs: list[NeuronSpec] = []
    for n, row in enumerate(rows, 1):
        where = f"{source}: [[neurons]] row {n}"
        if not isinstance(row, Mapping):
            raise _invalid(where, "is not a table")
        _check_types(where, row, NEURON_KEYS, extra_keys)
        count = row.get("count", 1)
        if 1 <= count <= MAX_NEURONS < len(specs) + count:  # checked before expanding: bounded work
            raise _invalid(where, f"{len(specs) + count} neurons so far, more than the {MAX_NEURONS} a file may "
                                  "describe")
        specs.extend(_expand(where, row, defaults or {}, base))
    seen: dict[str, str] = {}
    for s in specs:
        for key, what in ((s.name, "name"), (f"{s.wallet}/{s.hotkey} on subnet {s.netuid}", "hotkey")):
            if key in seen:
                raise _invalid(source, f"two neurons share the {what} {key!r}")
            seen[key] = what
    return specs


def load_neurons(path: str | Path, *, extra_keys: Collection[str] = (), overrides: Mapping[str, Any] | None = None
                 ) -> list[NeuronSpec]:
    """Read a neurons file: TOML with a ``[[neurons]]`` table and optional top-level defaults; ``overrides``
    (``endpoint``, ``wallet_path``: a command's options) replace the file's defaults, not a row's own values."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise _invalid(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise _invalid(str(path), f"cannot be read ({getattr(e, 'strerror', None) or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise _invalid(str(path), f"not valid TOML: {e}") from None
    _check_types(str(path), data, FILE_KEYS, extra_keys)
    rows = data.get("neurons")
    if not rows:
        raise _invalid(str(path), "no [[neurons]] table")
    defaults = {**data, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    return parse_neurons(rows, defaults=defaults, base=path.parent, extra_keys=extra_keys, source=str(path))
