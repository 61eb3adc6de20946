"""The launcher's typed errors; each says what happened and what to do in one line (exit statuses: docs/cli.md)."""

from __future__ import annotations

import attrs

from taonet.kernel.errors import Unreachable
from taonet.ledger.errors import ExtrinsicRejected, TaonetError, error_text
from taonet.plugins.errors import InvalidOption, PluginError, UnknownPlugin

__all__ = ["AddressInUse", "InvalidNetworkFile", "InvalidOptionInFile", "LaunchFailed", "NetworkDirBusy", "NoLog",
           "NoNetwork", "NodeDidNotStart", "PluginFailedInFile", "SetupTimedOut", "UnknownPluginInFile"]


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidNetworkFile(PluginError, ValueError):
    """Raised for a network file with a missing, unknown or ill-typed key (exit 7, refused data)."""

    CODE = "launch_invalid_file"
    where: str
    reason: str
    __str__ = error_text("{where}: {reason} (see docs/launcher.md)")


@attrs.define(auto_exc=True, str=False, slots=False)
class UnknownPluginInFile(UnknownPlugin):
    """Raised for a network file's row naming a plugin no installed package provides (exit 6, not found, as any
    unknown plugin); ``where`` is the file, table and row."""

    CODE = "launch_unknown_plugin"
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: plugin: {UnknownPlugin.__str__(self)}"


@attrs.define(auto_exc=True, str=False, slots=False)
class PluginFailedInFile(PluginError):
    """Raised for a network file's row naming an installed plugin that cannot be loaded (it fails to import, exits or
    hangs while loading, misses a hook, two packages claim it: exit 7, as that plugin's own error); ``where`` is the
    file, table and row, ``error`` the plugin's own error line."""

    CODE = "launch_plugin_failed"
    where: str
    name: str
    error: str
    __str__ = error_text("{where}: plugin: {error}")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidOptionInFile(InvalidOption):
    """Raised for a ``[[neurons]]`` row's option its plugin does not take, or a value of the wrong type (exit 2, as
    any bad option); ``where`` is the file, table and row."""

    CODE = "launch_invalid_option"
    where: str = ""
    __str__ = error_text("{where}: options: option {name!r}: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class LaunchFailed(ExtrinsicRejected):
    """Raised when the chain refused a step of the network's setup (exit 3)."""

    CODE = "launch_failed"
    step: str
    reason: str
    __str__ = error_text("setting up the network failed at {step}: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class SetupTimedOut(Unreachable):
    """Raised when a step of the network's setup got no outcome in time (exit 4): the node stopped answering or
    restarted meanwhile (a restarted node forgets what waited in its mempool). Nothing is half done: the setup skips
    what the chain already has, so ``again`` (the command that resumes the network) finishes it."""

    CODE = "launch_setup_timed_out"
    method: str = "setup"
    step: str = ""
    again: str = ""
    __str__ = error_text("setting up the network timed out at {step}: {reason} (the node at {address} stopped "
                         "answering or restarted meanwhile); start it again with: {again}")


@attrs.define(auto_exc=True, str=False, slots=False)
class NodeDidNotStart(Unreachable):
    """Raised when the network's node exited or printed no address before its deadline (exit 4)."""

    CODE = "launch_node_did_not_start"
    __str__ = error_text("the node did not start: {reason}; see {address}")


@attrs.define(auto_exc=True, str=False, slots=False)
class AddressInUse(Unreachable):
    """Raised before a node starts when another process listens on an address it is to listen on (exit 4): ``option``
    names where the address was given (``--rpc``, ``[node] rpc``), ``reason`` what to do."""

    CODE = "address_in_use"
    option: str
    __str__ = error_text("{option} {address} is already in use: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class NoNetwork(TaonetError, LookupError):
    """Raised when `taonet launch status|logs|stop` finds no network in the directory (exit 6)."""

    CODE = "launch_no_network"
    dir: str
    __str__ = error_text("no network was launched in {dir}; start one with `taonet localnet --detach` or "
                         "`taonet launch FILE --detach`, or pass its --dir")


@attrs.define(auto_exc=True, str=False, slots=False)
class NoLog(TaonetError, LookupError):
    """Raised when `taonet launch logs NAME` names no process of the network (exit 6)."""

    CODE = "launch_no_log"
    dir: str
    name: str
    have: str
    __str__ = error_text("the network in {dir} has no log named {name!r}; the logs are: {have} (taonet launch logs "
                         "--dir {dir} lists them)")


@attrs.define(auto_exc=True, str=False, slots=False)
class NetworkDirBusy(TaonetError, OSError):
    """Raised when a network is already running in the directory asked for (exit 7); ``option`` is the command's
    option that names another directory (``--dir`` for `taonet launch`, ``--keep`` for `taonet localnet`)."""

    CODE = "launch_dir_busy"
    dir: str
    pid: int
    option: str = "--dir"
    __str__ = error_text("a network is already running in {dir} (launcher pid {pid}); stop it with "
                         "`taonet launch stop --dir {dir}`, or choose another directory ({option} DIR)")
