"""Finding subnet plugins (the ``taonet.subnets`` entry-point group) and loading one by name, checked.

Listing reads only the installed packages' metadata (nothing is imported); loading imports the one plugin asked
for into a plugin manager of its own, checks every implementation against the hookspecs (``check_pending``) and
that the required hooks are there, and reads its protocol. Every failure is a typed error naming the plugin.

The errors module is imported where an error is raised: it pulls in the ledger (the error tree's root), which
``import taonet.plugins`` does not need.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
import threading
import types
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

import attrs
import pluggy

from . import hookspecs
from ._types import NEURON_OPTIONS, Option, SubnetProtocol

__all__ = ["GROUP", "LIST_LOAD_TIMEOUT", "LOAD_TIMEOUT", "LOAD_TIMEOUT_ENV", "Plugin", "PluginInfo",
           "installed_plugins", "load_plugin", "load_timeout", "option_type_name"]

GROUP = "taonet.subnets"
"""The entry-point group a plugin package registers in (``[project.entry-points."taonet.subnets"]``)."""


@attrs.frozen(kw_only=True)
class PluginInfo:
    """An installed plugin as its package's metadata describes it (before importing it)."""

    name: str
    package: str
    version: str
    value: str
    """The entry point's target, ``module`` or ``module:object``."""
    entry_point: Any = attrs.field(default=None, eq=False, repr=False)


def _infos(eps: Iterable[Any]) -> list[PluginInfo]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for ep in eps:
        dist = getattr(ep, "dist", None)
        package = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        key = (ep.name, ep.value, package)
        if key in seen:  # one package seen twice on the path (an editable install beside its build)
            continue
        seen.add(key)
        out.append(PluginInfo(name=ep.name, package=package, version=version, value=ep.value, entry_point=ep))
    return sorted(out, key=lambda i: (i.name, i.package))


def installed_plugins() -> list[PluginInfo]:
    """Every plugin the installed packages declare, by name (without importing any)."""
    return _infos(metadata.entry_points(group=GROUP))


class Plugin:
    """A loaded plugin: its hooks (``plugin.hook.reward(...)``), protocol and options. Use :func:`load_plugin`."""

    def __init__(self, name: str, pm: pluggy.PluginManager, protocol: SubnetProtocol, info: PluginInfo | None
                 ) -> None:
        self.name = name
        self.pm = pm
        self.hook = pm.hook
        self.protocol = protocol
        self.info = info
        self._roots: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"Plugin({self.name!r})"

    def code_roots(self) -> tuple[str, ...]:
        """Where the plugin's own code lives: the directory of each top-level package its hooks are defined in (of a
        subnet built into taonet, its own package under ``taonet.subnets``), or the file of a lone module."""
        if self._roots is None:
            modules = {getattr(impl.function, "__module__", None) or ""
                       for hook in hookspecs.HOOKS for impl in getattr(self.hook, hook).get_hookimpls()}
            roots: set[str] = set()
            for module in modules:
                parts = module.split(".")
                name = ".".join(parts[:3]) if parts[0] == "taonet" else parts[0]  # taonet.subnets.NAME, not taonet
                file = getattr(sys.modules.get(name), "__file__", None)
                if file:
                    path = os.path.abspath(file)
                    roots.add(os.path.dirname(path) if hasattr(sys.modules[name], "__path__") else path)
            self._roots = tuple(sorted(roots))
        return self._roots

    @classmethod
    def from_object(cls, name: str, obj: Any, info: PluginInfo | None = None) -> Plugin:
        """Load a plugin from a module or object holding hookimpls (what an entry point names), checked."""
        from .errors import InvalidPlugin, MissingHook

        _check_hookimpls(name, obj)
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        try:
            pm.register(obj, name=name)
            pm.check_pending()
        except pluggy.PluginValidationError as e:
            raise InvalidPlugin(name=name, reason=" ".join(str(e).split())) from None
        missing = tuple(h for h in hookspecs.REQUIRED if not getattr(pm.hook, h).get_hookimpls())
        if missing:
            raise MissingHook(name=name, hooks=missing)
        protocol = _call_protocol(name, pm)
        return cls(name, pm, protocol, info)

    def implements(self, hook: str) -> bool:
        """True if the plugin implements ``hook``."""
        return bool(getattr(self.hook, hook).get_hookimpls())

    def is_async(self, hook: str) -> bool:
        """True if the plugin's implementation of ``hook`` is an ``async def``."""
        impls = getattr(self.hook, hook).get_hookimpls()
        return bool(impls) and inspect.iscoroutinefunction(impls[-1].function)

    def options(self, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The options: defaults, then ``overrides`` (strings from ``--set``, converted to each default's type)."""
        from .errors import InvalidOption

        out = self.protocol.defaults()
        bounds = self.protocol.bounds()
        typed = self.protocol.types()
        for key, raw in (overrides or {}).items():
            if key not in out:
                import difflib

                near = difflib.get_close_matches(key, out, n=1)
                hint = f"did you mean {near[0]}? " if near else ""
                raise InvalidOption(name=key, reason=f"{self.name} takes no such option ({hint}it takes: "
                                                     f"{', '.join(sorted(out))})")
            kind = NEURON_OPTIONS[key].default if key in NEURON_OPTIONS else out[key]  # a float stays a float
            if out[key] is None and key in typed:  # Option(default=None, type=int): converted as an int's would be
                kind = _SAMPLES[_type_parts(typed[key])[0]]
            out[key] = _convert(key, raw, kind if isinstance(out[key], int | float) or out[key] is None else out[key],
                                option_type_name(typed[key]) if key in typed else None,
                                _json_example(typed.get(key), out[key]))
            if key in typed:
                out[key] = _check_type(key, raw, out[key], typed[key])
            _check_bounds(key, raw, out[key], *bounds.get(key, (None, None)))
            _check_choices(key, raw, out[key], self.protocol.choices().get(key))
        _connection_options(out, overrides or {})
        _check_together(self.name, self.protocol, out)
        return out


def _check_hookimpls(name: str, obj: Any) -> None:
    """The usual hookimpl mistakes, named with their fix before pluggy's own check: a marked function whose name is
    no hook (a typo: the nearest hook is suggested), a parameter no hook argument is called."""
    from .errors import InvalidPlugin

    marker = f"{hookspecs.PROJECT}_impl"
    for attr in dir(obj):
        fn = getattr(obj, attr, None)
        if fn is None or not hasattr(fn, marker):
            continue
        hook = (getattr(fn, marker, None) or {}).get("specname") or attr  # @hookimpl(specname="reward")
        if hook not in hookspecs.HOOKS:
            import difflib

            near = difflib.get_close_matches(hook, hookspecs.HOOKS, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            raise InvalidPlugin(name=name, reason=f"{hook} is marked @hookimpl but is no hook ({hint}the hooks: "
                                                  "docs/subnets.md, 'The hooks')")
        takes = tuple(inspect.signature(getattr(hookspecs, hook)).parameters)
        try:
            params = inspect.signature(fn).parameters.values()
        except (TypeError, ValueError):
            continue
        unknown = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                   and p.default is p.empty and p.name not in takes]
        if unknown:
            raise InvalidPlugin(name=name, reason=f"its {attr} takes {', '.join(unknown)}, which the hook does not "
                                                  f"pass; {hook} is called with {', '.join(takes) or 'nothing'} "
                                                  "(by these names; take any of them)")


CONNECTION_OPTIONS = ("max_connections", "max_connections_per_address", "max_connections_per_network")
"""The neuron's axon's connection bounds (``taonet.kernel.wire.connection_bounds``), checked together."""


def _connection_options(out: dict[str, Any], given: Mapping[str, Any]) -> None:
    """Check the connection bounds against each other (a share above the total, a network's below its address's:
    :class:`InvalidOption`) and fill in those neither given nor changed by the plugin from those that were (a total
    of 100 takes the shares down to 100)."""
    from taonet.kernel.wire import connection_bounds

    from .errors import InvalidOption

    asked: list[int | None] = []
    for key in CONNECTION_OPTIONS:
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise InvalidOption(name=key, reason=f"{value!r} is not a whole number of connections")
        asked.append(int(value) if key in given or value != NEURON_OPTIONS[key].default else None)
    try:
        out.update(zip(CONNECTION_OPTIONS, connection_bounds(*asked), strict=True))
    except ValueError as e:
        name = next((k for k in reversed(CONNECTION_OPTIONS) if str(e).startswith(k)), CONNECTION_OPTIONS[0])
        raise InvalidOption(name=name, reason=str(e)) from None


def _check_bounds(key: str, raw: Any, value: Any, lo: float | None, hi: float | None) -> None:
    """A number within the option's bounds, else :class:`InvalidOption` (exit 2); :func:`_convert` has refused a
    float that is not finite already."""
    from .errors import InvalidOption

    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        def text(x: float | None) -> str:
            return "" if x is None else f"{int(x):,}" if float(x).is_integer() else f"{x:g}"

        raise InvalidOption(name=key, reason=f"{raw!r} is outside {text(lo)}..{text(hi)}")


_SAMPLES: dict[type, Any] = {bool: False, int: 0, float: 0.0, str: "", list: [], dict: {}}
"""A value of each option type, to convert a ``--set`` as an option with such a default is converted."""


def _type_parts(typed: Any) -> tuple[Any, Any]:
    """An option's declared type as (outer, item): ``int`` is (int, None), ``list[str]`` (list, str); None, None for
    a type an option cannot declare."""
    import typing

    from ._types import ITEM_TYPES, OPTION_TYPES

    origin, args = typing.get_origin(typed), typing.get_args(typed)
    if origin is None:
        return (typed, None) if typed in OPTION_TYPES else (None, None)
    if origin is list and len(args) == 1 and args[0] in ITEM_TYPES:
        return list, args[0]
    return None, None


def option_type_name(typed: Any) -> str:
    """An option's declared type as its errors name it: ``int``, ``list of str``."""
    outer, item = _type_parts(typed)
    return f"list of {item.__name__}" if item is not None else getattr(outer, "__name__", str(typed))


def _is_a(value: Any, kind: type) -> bool:
    """Whether ``value`` is a value of the option type ``kind`` (an int is a float; a bool is no int)."""
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, list | tuple) if kind is list else isinstance(value, kind)


def _a(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _check_type(key: str, raw: Any, value: Any, typed: Any) -> Any:
    """``value`` (converted from ``raw``) as a value of the option's type ``typed``, a list's items each checked (a
    float item made a float), else :class:`InvalidOption` naming the option, the value and the type (exit 2). None
    (the option not given) passes."""
    from .errors import InvalidOption

    if value is None:
        return None
    outer, item = _type_parts(typed)
    if outer is None:  # refused at load (_check_options)
        return value
    name = option_type_name(typed)
    example = _json_example(typed, value)
    if not _is_a(value, outer):
        raise InvalidOption(name=key, reason=f"{raw!r} is not a valid {name}{example}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOption(name=key, reason=f"{raw!r} is not a finite number")
    if item is None:
        return value
    items = []
    for i, x in enumerate(value):
        if not _is_a(x, item):
            raise InvalidOption(name=key, reason=f"{raw!r} is not a valid {name}: item {i} ({x!r}) is "
                                                 f"{_a(type(x).__name__)}, not {_a(item.__name__)}")
        if item is float and not math.isfinite(x):
            raise InvalidOption(name=key, reason=f"{raw!r} is not a valid {name}: item {i} ({x!r}) is not a finite "
                                                 "number")
        items.append(float(x) if item is float else x)
    return type(value)(items)


def _check_choices(key: str, raw: Any, value: Any, choices: tuple[Any, ...] | None) -> None:
    """A value among the option's choices (when it has some), else :class:`InvalidOption` (exit 2) naming them."""
    from .errors import InvalidOption

    if choices is not None and value not in choices:
        raise InvalidOption(name=key, reason=f"{raw!r} is not one of {', '.join(str(c) for c in choices)}")


def _check_together(name: str, protocol: SubnetProtocol, options: dict[str, Any]) -> None:
    """The protocol's own ``check`` of its options together (``min_size`` at most ``max_size``): its
    :class:`InvalidOption` goes up as it is (exit 2); anything else it raises is the plugin's mistake."""
    from .errors import InvalidOption, InvalidPlugin

    if protocol.check is None:
        return
    try:
        protocol.check(types.MappingProxyType(options))
    except InvalidOption:
        raise
    except Exception as e:
        raise InvalidPlugin(name=name, reason=f"its protocol's options check raised {type(e).__name__}: {e}; raise "
                                              "taonet.plugins.errors.InvalidOption(name=..., reason=...) for a "
                                              "bad combination") from None


_ITEM_EXAMPLES = {bool: "[true, false]", int: "[1, 2]", float: "[0.5, 2.0]", str: '["a", "b"]'}
"""A JSON list of each item type, as the hint of a list option's error shows it."""


def _json_example(typed: Any, default: Any) -> str:
    """How a list or table option's value is written, for its error: `` (as JSON: ["a", "b"])`` for a ``list[str]``
    (the declared type's items, else the default's first item's type); "" for any other option."""
    outer, item = _type_parts(typed) if typed is not None else (type(default), None)
    if outer is dict:
        return ' (as JSON: {"a": 1})'
    if outer not in (list, tuple):
        return ""
    if item is None and typed is None and isinstance(default, list | tuple) and default:
        item = next((t for t in (bool, int, float, str) if type(default[0]) is t), None)
    return f" (as JSON: {_ITEM_EXAMPLES.get(item, '[1, 2]')})"


def _convert(key: str, raw: Any, default: Any, kind_name: str | None = None, example: str | None = None) -> Any:
    """``raw`` (a ``--set`` text, or a launch file's value) as a value of ``default``'s type, else InvalidOption
    naming the type (``kind_name``: the option's declared one, ``list of int``, over the default's) with how it is
    written (``example``; None: from the default's type)."""
    from .errors import InvalidOption

    if not isinstance(raw, str):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise InvalidOption(name=key, reason=f"{raw} is not a finite number")
        return raw
    try:
        if isinstance(default, bool):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            value = float(raw)
            if not math.isfinite(value):
                raise InvalidOption(name=key, reason=f"{raw!r} is not a finite number")
            return value
        if isinstance(default, list | tuple | dict):  # a list or a table, written as JSON: [1, 2] or {"a": 1}
            import json

            value = json.loads(raw)
            if not isinstance(value, dict if isinstance(default, dict) else list):
                raise ValueError(raw)
            return type(default)(value) if isinstance(default, tuple) else value
    except InvalidOption:
        raise
    except ValueError:
        kind = type(default).__name__
        hint = _json_example(None, default) if example is None else example
        raise InvalidOption(name=key, reason=f"{raw!r} is not a valid {kind_name or kind}{hint}") from None
    return raw


def _call_protocol(name: str, pm: pluggy.PluginManager) -> SubnetProtocol:
    from .errors import InvalidPlugin

    try:
        protocol = pm.hook.subnet_protocol()
    except Exception as e:  # the plugin's own code failed: its error, in one line, names it
        raise InvalidPlugin(name=name, reason=f"subnet_protocol() raised {type(e).__name__}: {e}") from None
    if not isinstance(protocol, SubnetProtocol):
        raise InvalidPlugin(name=name, reason=f"subnet_protocol() returned {type(protocol).__name__}, "
                                              "not a taonet.plugins.SubnetProtocol")
    if protocol.name != name:
        raise InvalidPlugin(name=name, reason=f"its protocol is named {protocol.name!r}; the entry-point name and "
                                              "the protocol's name must be the same")
    if not protocol.synapses:
        raise InvalidPlugin(name=name, reason="its protocol declares no Synapse type")
    _check_synapses(name, protocol)
    _check_options(name, protocol)
    return protocol


def _check_synapses(name: str, protocol: SubnetProtocol) -> None:
    """Each of the protocol's synapses a Synapse class (not an instance, not another class), each NAME once."""
    from taonet.kernel import Synapse

    from .errors import InvalidPlugin

    seen: dict[str, str] = {}
    for t in protocol.synapses:
        if not (isinstance(t, type) and issubclass(t, Synapse)):
            what = f"an instance of {type(t).__name__}" if not isinstance(t, type) else f"the class {t.__name__}"
            raise InvalidPlugin(name=name, reason=f"its protocol's synapses hold {what}; list Synapse subclasses "
                                                  "(class MySynapse(taonet.kernel.Synapse)), not instances")
        if t.NAME in seen:
            raise InvalidPlugin(name=name, reason=f"two of its synapses, {seen[t.NAME]} and {t.__name__}, have the "
                                                  f"NAME {t.NAME!r}; an axon routes by NAME: give each its own")
        seen[t.NAME] = t.__name__


def _check_options(name: str, protocol: SubnetProtocol) -> None:
    """Each option's default within its own bounds and choices, the defaults passing the protocol's ``check``
    (``--set`` values are checked against them later)."""
    from .errors import InvalidOption, InvalidPlugin

    typed = protocol.types()
    for key, kind in typed.items():
        if _type_parts(kind)[0] is None:
            raise InvalidPlugin(name=name, reason=f"its option {key!r} declares the type {kind!r}; give one of bool, "
                                                  "int, float, str, list, dict, or list[T] of bool, int, float or str")
        default = protocol.defaults()[key]
        try:
            _check_type(key, default, default, kind)
        except InvalidOption as e:
            raise InvalidPlugin(name=name, reason=f"its option {key!r} has a default of another type than it "
                                                  f"declares: {e.reason}") from None
    for key, value in protocol.defaults().items():
        if isinstance(value, float) and not math.isfinite(value):  # --set refuses one: no default may be one
            raise InvalidPlugin(name=name, reason=f"its option {key!r} defaults to {value!r}; a number option's "
                                                  "default must be finite")
    for key, (lo, hi) in protocol.bounds().items():
        value = protocol.defaults()[key]
        if value is None and _type_parts(typed.get(key))[0] in (int, float):  # not given unless set: nothing to check
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            given = protocol.options.get(key)
            own = isinstance(given, Option) and (given.lo, given.hi) != (None, None)
            whose = "has bounds" if own else f"re-defaults the neuron's number option (within {lo:g}..{hi:g})"
            raise InvalidPlugin(name=name, reason=f"its option {key!r} {whose} but a {type(value).__name__} "
                                                  "default; give a number")
        if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise InvalidPlugin(name=name, reason=f"its option {key!r} defaults to {value!r}, outside its own "
                                                  f"bounds {lo}..{hi}")
    for key, choices in protocol.choices().items():
        if protocol.defaults()[key] not in choices and not (protocol.defaults()[key] is None and key in typed):
            raise InvalidPlugin(name=name, reason=f"its option {key!r} defaults to {protocol.defaults()[key]!r}, "
                                                  f"not one of its own choices ({', '.join(map(str, choices))})")
    try:
        _check_together(name, protocol, protocol.defaults())
    except InvalidOption as e:
        raise InvalidPlugin(name=name, reason=f"its options' defaults fail its own check ({e})") from None


LOAD_TIMEOUT = 60.0
"""Seconds a plugin's load (its import, its class's making, its ``subnet_protocol()``) may take where a command runs
the plugin (a neuron, a host, the launcher's checks, replay's reward): past it, :class:`PluginLoadTimedOut`."""
LIST_LOAD_TIMEOUT = 10.0
"""The bound of each plugin's load in ``taonet subnet plugins`` (it only reads descriptions and options)."""
LOAD_TIMEOUT_ENV = "TAONET_PLUGIN_LOAD_TIMEOUT"
"""Seconds (a positive number) that replace every load bound: for a plugin whose import is slow but finishes."""
_HELD_MAX = 1 << 20
"""The most characters a plugin's load writes that are held until it ends (past them: written on at once)."""


def load_timeout(default: float = LOAD_TIMEOUT) -> float:
    """The bound of a plugin's load: ``$TAONET_PLUGIN_LOAD_TIMEOUT`` when it is a positive number, else ``default``."""
    try:
        value = float(os.environ.get(LOAD_TIMEOUT_ENV, ""))
    except ValueError:
        return default
    return value if 0 < value < math.inf else default


class _Held:
    """A stream a plugin's load writes to: what it writes is held until the load ends, then written on (or, when the
    plugin exited, quoted in its error instead: argparse's usage of *taonet*'s command line misleads); after the
    load it is the real stream, so a handler the plugin made at import (``logging.basicConfig()``) keeps writing.
    Only the loading thread's writes are held: the process's other threads (a host's running neurons) write on."""

    def __init__(self, real: Any, loader: threading.Thread) -> None:
        self._real = real
        self._loader = loader
        self._held: list[str] | None = []
        self._size = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        """Hold ``text`` while the load runs (written by the loading thread); write it on after."""
        if threading.current_thread() is not self._loader:
            return len(text) if self._real is None else self._real.write(text)
        with self._lock:
            if self._held is not None and self._size + len(text) <= _HELD_MAX:
                self._held.append(text)
                self._size += len(text)
                return len(text)
        self.release(keep=True)  # after the load, or past the bound of what is held: in order, then at once
        return len(text) if self._real is None else self._real.write(text)

    def flush(self) -> None:
        """Flush the real stream once nothing is held."""
        if self._held is None and self._real is not None:
            self._real.flush()

    def release(self, *, keep: bool) -> str:
        """Stop holding: write what was held on (``keep``) or drop it; return it either way."""
        with self._lock:
            held, self._held = self._held, None
        text = "".join(held or ())
        if keep and text and self._real is not None:
            self._real.write(text)
            self._real.flush()
        return text

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _undeclared_module(name: str) -> str | None:
    """Where the module ``name`` would be imported from (found, not imported), when it is no standard-library module:
    a plugin package installed without its entry point; None when there is none."""
    import importlib.util

    if not name.isidentifier() or name in sys.stdlib_module_names:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    return spec.origin if spec.origin not in (None, "namespace") else "a namespace package"


def load_plugin(name: str, *, installed: list[PluginInfo] | None = None, timeout: float | None = None) -> Plugin:
    """Import and check the installed plugin ``name`` within ``timeout`` seconds (:func:`load_timeout`); UnknownPlugin,
    PluginImportFailed, PluginLoadTimedOut, MissingHook, DuplicatePlugin or InvalidPlugin when it cannot be used.

    The load runs in a daemon thread: one that blocks (a sleep, a lock, a download at import) is left to finish there
    while the command goes on. What the plugin prints while loading is written once the load ends; a plugin that
    exits (``sys.exit()``, argparse at import) is its PluginImportFailed, quoting the last line it printed."""
    from .errors import DuplicatePlugin, PluginImportFailed, PluginLoadTimedOut, UnknownPlugin

    infos = installed_plugins() if installed is None else installed
    found = [i for i in infos if i.name == name]
    if not found:
        have = tuple(sorted({i.name for i in infos}))
        raise UnknownPlugin(name=name, installed=have, importable=_undeclared_module(name) or "")
    if len(found) > 1:
        raise DuplicatePlugin(name=name, packages=tuple(f"{i.package} {i.version}" for i in found))
    info = found[0]
    import taonet.kernel  # noqa: F401 - taonet's own import (the synapse check needs it): before the bound, not in it

    bound = load_timeout(LOAD_TIMEOUT if timeout is None else timeout)
    outcome: list[Any] = []
    stage = ["importing"]

    def load() -> None:
        try:
            outcome.append(_load(name, info, stage))
        except BaseException as e:  # handed to the caller's thread (sys.exit() in a thread is silent)
            outcome.append(e)

    worker = threading.Thread(target=load, name=f"taonet-plugin-load-{name}", daemon=True)
    out, err = _Held(sys.stdout, worker), _Held(sys.stderr, worker)
    sys.stdout, sys.stderr = out, err
    exited, got = False, []
    try:
        worker.start()
        worker.join(bound)  # Ctrl-C here goes through: the main thread is the one waiting
        got = list(outcome)  # what the load came to by the bound (a late outcome is not looked at)
        exited = bool(got) and isinstance(got[0], SystemExit)
    finally:
        if sys.stdout is out:
            sys.stdout = out._real
        if sys.stderr is err:
            sys.stderr = err._real
        printed = out.release(keep=not exited) + "\n" + err.release(keep=not exited)
    if not got:
        raise PluginLoadTimedOut(name=name, package=info.package, seconds=bound)
    result = got[0]
    if isinstance(result, Plugin):
        return result
    if isinstance(result, SystemExit):  # sys.exit() (or argparse, as Bittensor templates parse at import)
        last = next((line.strip() for line in reversed(printed.splitlines()) if line.strip()), "")
        said = f", after printing {last[:120]!r}" if last else ""
        raise PluginImportFailed(name=name, package=info.package, error=(
            f"it called sys.exit({result.code!r}) while {stage[0]}{said}; a plugin must not exit the process (nor "
            "parse the command line: options come with --set)")[:400]) from None
    raise result


def _load(name: str, info: PluginInfo, stage: list[str]) -> Plugin:
    """Import, make and check the plugin (in the loading thread); SystemExit goes up as it is."""
    from .errors import MissingHook, PluginImportFailed

    made = False  # whether the failure was in making the entry point's class or factory, not in importing it
    try:
        obj = info.entry_point.load()
        if isinstance(obj, type) or (not isinstance(obj, types.ModuleType) and callable(obj)
                                     and not _has_hookimpls(obj)):
            made = True
            stage[0] = "making it"
            obj = obj()  # a class (its methods take self) or a factory: the instance carries the hooks
    except Exception as e:  # any import-time failure of third-party code, reported in one line
        error = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        if made:  # it imported; what it names is no plugin taonet can make (a Synapse class, a function...)
            error = (f"its entry point {info.entry_point.value!r} names a class or function, which taonet calls with "
                     f"no arguments to make the plugin, and that failed ({error}); an entry point names the module "
                     "(or object) holding the hooks")
        raise PluginImportFailed(name=name, package=info.package, error=error) from None
    stage[0] = "loading (in subnet_protocol())"
    try:
        return Plugin.from_object(name, obj, info)
    except MissingHook as e:
        if len(e.hooks) == len(hookspecs.REQUIRED):  # none at all: most likely the entry point names the wrong object
            raise attrs.evolve(e, entry_point=info.entry_point.value) from None
        raise


def _has_hookimpls(obj: Any) -> bool:
    return any(hasattr(getattr(obj, n, None), f"{hookspecs.PROJECT}_impl") for n in hookspecs.HOOKS)
