"""The typed errors of the plugins layer: finding, loading and running a subnet plugin.

Each says what happened and what to do in one line; the `taonet` command maps them to exit statuses
(tools/errors.py): an unknown plugin, or a package a command needs that is not installed, is "not found" (6), a
plugin that differs from its subnet's or a bad option is "usage" (2), a plugin that cannot be loaded (import failure,
missing hook, duplicate name, a load past its bound) is "refused data" (7).
"""

from __future__ import annotations

import difflib

import attrs

from taonet.ledger.errors import TaonetError, error_text

__all__ = [
    "DuplicatePlugin", "InvalidOption", "InvalidPlugin", "MissingHook", "PluginError", "PluginImportFailed",
    "PluginLoadTimedOut",
    "HookFailed", "PluginMismatch", "StateDirBusy", "UnknownPlugin", "InvalidNeuronFile", "GatewayError",
    "NoGateway", "NoValidatorUid", "QueryRefused", "QueryFailed", "JournalDamaged", "StateDirUnusable", "NotInstalled",
]


class PluginError(TaonetError):
    """Base of every error about a subnet plugin."""

    CODE = "plugin_error"


@attrs.define(auto_exc=True, str=False, slots=False)
class NotInstalled(PluginError, LookupError):
    """Raised when what a command asked for needs an optional package that is not installed (an extra of taonet's or
    a plugin's); like an unknown plugin, it is "not found" (6), and the line says what to install."""

    CODE = "not_installed"
    needed_for: str
    package: str
    install: str
    __str__ = error_text("{needed_for} needs {package}, which is not installed: {install}")


@attrs.define(auto_exc=True, str=False, slots=False)
class UnknownPlugin(PluginError, LookupError):
    """Raised when no installed plugin has the name asked for (its line names the installed one nearest it)."""

    CODE = "unknown_plugin"
    name: str
    installed: tuple[str, ...] = ()
    importable: str = ""
    """Where a module of that name would be imported from, when one is (a package installed without its entry
    point): the line then says what to add."""

    def __str__(self) -> str:
        have = ", ".join(self.installed) if self.installed else "none"
        if self.importable:
            group = "taonet.subnets"
            return (f"no subnet plugin named {self.name!r} is installed (installed: {have}): a module {self.name} is "
                    f"importable ({self.importable}) but no package declares it under the `{group}` entry point "
                    f"group: add `[project.entry-points.\"{group}\"] {self.name} = \"{self.name}\"` to its "
                    "pyproject.toml and reinstall it")
        near = difflib.get_close_matches(self.name, self.installed, n=1)
        hint = f"did you mean {near[0]}? " if near else ""
        return (f"no subnet plugin named {self.name!r} is installed ({hint}installed: {have}); "
                "pip install the package that provides it, or see `taonet subnet plugins`")


@attrs.define(auto_exc=True, str=False, slots=False)
class PluginImportFailed(PluginError):
    """Raised when a plugin's entry point cannot be imported; ``error`` is its one-line cause."""

    CODE = "plugin_import_failed"
    name: str
    package: str
    error: str
    __str__ = error_text("subnet plugin {name!r} (package {package}) failed to import: {error}; "
                         "fix or reinstall that package")


@attrs.define(auto_exc=True, str=False, slots=False)
class PluginLoadTimedOut(PluginError):
    """Raised when a plugin's load (its import, its class's making, its ``subnet_protocol()``) outlasts its bound: the
    load is left to finish in its daemon thread, the command goes on without the plugin (exit 7 where it needs it)."""

    CODE = "plugin_load_timed_out"
    name: str
    package: str
    seconds: float
    __str__ = error_text("subnet plugin {name!r} (package {package}) did not load within {seconds:g} s: its import "
                         "(or its subnet_protocol()) still runs; a plugin must not block while loading (open models "
                         "in neuron_start), and a slow one is given longer with TAONET_PLUGIN_LOAD_TIMEOUT=SECONDS")


@attrs.define(auto_exc=True, str=False, slots=False)
class MissingHook(PluginError):
    """Raised when a plugin does not implement a hook every plugin must implement."""

    CODE = "plugin_missing_hook"
    name: str
    hooks: tuple[str, ...]
    entry_point: str = ""
    """Set when no required hook is there at all: what the entry point names (likely the wrong module)."""

    def __str__(self) -> str:
        wrong = (f"; its entry point names {self.entry_point!r}: is that the module (or object) holding the hooks?"
                 if self.entry_point else "")
        return (f"subnet plugin {self.name!r} does not implement the required hook(s) {', '.join(self.hooks)}"
                f"{wrong}; see docs/subnets.md, 'The hooks'")


@attrs.define(auto_exc=True, str=False, slots=False)
class DuplicatePlugin(PluginError):
    """Raised when two installed packages claim one plugin name."""

    CODE = "plugin_duplicate"
    name: str
    packages: tuple[str, ...]

    def __str__(self) -> str:
        return (f"two installed packages claim the subnet plugin name {self.name!r}: {', '.join(self.packages)}; "
                "uninstall one of them")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidPlugin(PluginError):
    """Raised when a plugin breaks the contract in another way (a hook that matches no spec, a bad protocol)."""

    CODE = "plugin_invalid"
    name: str
    reason: str
    __str__ = error_text("subnet plugin {name!r} is not valid: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class PluginMismatch(PluginError):
    """Raised when a neuron is started with a plugin other than the one its subnet records on the chain."""

    CODE = "plugin_mismatch"
    netuid: int
    plugin: str
    recorded: str
    __str__ = error_text("subnet {netuid} runs the plugin {recorded!r}, not {plugin!r}: start the neuron with "
                         "--plugin {recorded}")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidOption(PluginError, ValueError):
    """Raised for a ``--set key=value`` the plugin does not take, or a value of the wrong type."""

    CODE = "plugin_invalid_option"
    name: str
    reason: str
    __str__ = error_text("option {name!r}: {reason}")


class StateDirBusy(PluginError):
    """Raised when another neuron runs on the same state directory."""

    CODE = "state_dir_busy"


@attrs.define(auto_exc=True, str=False, slots=False)
class HookFailed(PluginError):
    """Raised when a plugin's hook raises or returns something the neuron cannot use; ``error`` is the cause."""

    CODE = "plugin_hook_failed"
    plugin: str
    hook: str
    error: str
    where: str = ""
    """Where in the plugin's own code it was raised (``path:line, in function``; "" when not known or not raised):
    for the neuron's own log and status only, never in what a caller is sent (``str()`` leaves it out)."""
    __str__ = error_text("the {hook} hook of subnet plugin {plugin!r} failed: {error}")

    @property
    def said(self) -> str:
        """``error`` with ``where`` (when known): the line the neuron's log and status.json show."""
        return f"{self.error} (at {self.where})" if self.where else self.error


@attrs.define(auto_exc=True, str=False, slots=False)
class StateDirUnusable(PluginError):
    """Raised when a neuron's state directory cannot be created or opened (a file in its place, no permission)."""

    CODE = "state_dir_unusable"
    path: str
    reason: str
    __str__ = error_text("{path} cannot be a neuron's state directory ({reason}): give state_dir (--state-dir) a "
                         "directory this user can write")


@attrs.define(auto_exc=True, str=False, slots=False)
class JournalDamaged(PluginError):
    """Raised when a validator journal's segment holds a damaged frame that is not a torn last append (exit 7)."""

    CODE = "plugin_journal_damaged"
    path: str
    offset: int
    reason: str
    __str__ = error_text("{path} at byte {offset}: {reason}; restore the journal from a copy, or leave this "
                         "validator's journal out (--journal with the others)")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidNeuronFile(PluginError, ValueError):
    """Raised for a neurons file (the ``[[neurons]]`` table) with a missing, unknown or ill-typed key."""

    CODE = "plugin_invalid_neuron_file"
    where: str
    reason: str
    __str__ = error_text("{where}: {reason} (see docs/subnets.md, 'Many neurons in one process')")


class GatewayError(PluginError):
    """Base of the errors an organic query through a validator's gateway can get."""

    CODE = "gateway_error"


@attrs.define(auto_exc=True, str=False, slots=False)
class NoGateway(GatewayError, LookupError):
    """Raised when no validator of the subnet publishes a gateway (or not the one asked for)."""

    CODE = "gateway_none"
    netuid: int
    validator: str = ""

    def __str__(self) -> str:
        if self.validator:
            return (f"validator {self.validator} publishes no gateway on subnet {self.netuid}; leave out "
                    "--validator to use any validator's gateway")
        return (f"no validator of subnet {self.netuid} publishes a gateway; a validator opens one with "
                "`taonet validator run ... --gateway HOST:PORT`")


@attrs.define(auto_exc=True, str=False, slots=False)
class NoValidatorUid(NoGateway):
    """Raised when the validator asked for is a UID the subnet does not have (``count``: its neurons then)."""

    CODE = "gateway_no_uid"
    uid: int = attrs.field(kw_only=True)
    count: int = attrs.field(kw_only=True)

    def __str__(self) -> str:
        has = f"its UIDs are 0..{self.count - 1}" if self.count else "it has no neurons"
        return f"subnet {self.netuid} has no UID {self.uid} ({has}): taonet metagraph {self.netuid} lists them"


@attrs.define(auto_exc=True, str=False, slots=False)
class QueryRefused(GatewayError):
    """Raised when a gateway refuses an organic query: over the caller's (or the gateway's) rate, or a payload the
    subnet's plugin does not take; ``retry_after`` is in seconds (0: do not retry as is)."""

    CODE = "gateway_refused"
    reason: str
    retry_after: float = 0.0

    def __str__(self) -> str:
        again = f"; try again in {self.retry_after:.2g} s" if self.retry_after > 0 else ""
        return f"the gateway refused the query: {self.reason}{again}"


@attrs.define(auto_exc=True, str=False, slots=False)
class QueryFailed(GatewayError):
    """Raised when a gateway could not answer: no miner answered, or it did not reply in time."""

    CODE = "gateway_failed"
    reason: str
    __str__ = error_text("the organic query got no answer: {reason}")
