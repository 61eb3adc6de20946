"""The errors only the command line raises, each under the kernel's or ledger's tree so tools/errors.py gives it
its exit status. Imported when one is raised (it loads the ledger), never at `taonet --help`."""

from __future__ import annotations

import shlex

import attrs

from taonet.kernel.errors import RpcBadRequest, RpcTimeout
from taonet.ledger.errors import ExtrinsicRejected, InsufficientBalance, NotDelegate, SubnetNotFound, TaonetError

__all__ = ["CommandTimeout", "FaucetOwnAccount", "FaucetRefused", "FaucetShort", "IdentityNotRecorded", "Interrupted",
           "NoRemoteActors", "NotADelegate", "NotIncluded", "NothingToMove", "RevealFailed", "StoppedBeforeReady",
           "UidNotFound", "gone_cause", "node_cause"]


@attrs.define(auto_exc=True, str=False, slots=False)
class FaucetRefused(ExtrinsicRejected):
    """Raised when the faucet is asked on a chain that is not a development chain (exit 3)."""

    CODE = "cli_faucet_refused"
    chain_id: str

    def __str__(self) -> str:
        return (f"no faucet on chain {self.chain_id!r}: only a development chain (taonet node run --dev) funds "
                "wallets; ask someone who holds τ on this chain for a transfer")


@attrs.define(auto_exc=True, str=False, slots=False)
class FaucetOwnAccount(ExtrinsicRejected):
    """Raised when the faucet is asked to fund one of its own development accounts (exit 3): it would pay itself."""

    CODE = "cli_faucet_own_account"
    address: str
    uri: str

    def __str__(self) -> str:
        return (f"{self.address} is {self.uri}, one of the faucet's own development accounts: the faucet pays from "
                "them, so it does not fund them; give a wallet of your own (taonet wallet create)")


@attrs.define(auto_exc=True, str=False, slots=False)
class FaucetShort(InsufficientBalance):
    """Raised when no development account holds what a faucet call asks for (exit 3)."""

    CODE = "cli_faucet_short"
    uri: str = ""
    """The development account that holds the most."""

    def __str__(self) -> str:
        from ._amounts import tao

        return (f"the faucet cannot send {tao(self.needed)}: the most any of its development accounts holds is "
                f"{tao(self.available)} ({self.uri}); ask for less (--amount)")


@attrs.define(auto_exc=True, str=False, slots=False)
class Interrupted(TaonetError):
    """Raised when a write is stopped at the user's word (exit 130): its confirmation declined, or Ctrl-C; or by
    SIGTERM (exit 143, ``terminated``); ``sent`` says whether it may have reached the node."""

    CODE = "cli_interrupted"
    method: str = ""
    """The write (e.g. "transfer"); "" for a confirmation declined."""
    declined: bool = False
    """True: the confirmation was declined (or the prompt closed); False: Ctrl-C."""
    sent: bool = False
    """Whether the client had submitted the write when it was stopped (it may still be included)."""
    check: str = ""
    """For a write that may have been sent: the command that shows whether it was."""
    terminated: bool = False
    """True: SIGTERM stopped it (`timeout`, a service manager), not Ctrl-C or the user's answer."""

    def __str__(self) -> str:
        if self.declined:
            if self.terminated:
                return "terminated (SIGTERM) at the prompt: nothing was done"
            return "not confirmed at the prompt: nothing was done"
        how = "terminated (SIGTERM)" if self.terminated else "interrupted (Ctrl-C)"
        if not self.sent:
            return f"{self.method}: {how} before it was sent; nothing changed"
        check = f"`{self.check}`" if self.check else "a read (balance, stake, metagraph)"
        return (f"{self.method}: {how} after it was sent: it may still be included; check with {check} before "
                "sending it again")


@attrs.define(auto_exc=True, str=False, slots=False)
class StoppedBeforeReady(Interrupted):
    """Raised when a signal stopped a network before it was ready: during its setup, or before every neuron ran;
    Ctrl-C or a hangup is exit 130 (interrupted), SIGTERM (``terminated``) 143. Every process is stopped by then;
    ``command`` starts it again (what was set up is kept in ``dir``)."""

    CODE = "launch_interrupted"
    dir: str = ""
    during: str = ""
    command: str = ""

    def __str__(self) -> str:
        how = "terminated (SIGTERM)" if self.terminated else "interrupted"
        again = f"; start it again with `{self.command}`" if self.command else ""
        return (f"{how}: the network was stopped {self.during}, before it was ready; every process is stopped "
                f"and what was set up is kept in {self.dir}{again}")


@attrs.define(auto_exc=True, str=False, slots=False)
class NotIncluded(RpcTimeout):
    """Raised when a write was admitted but no block included it before the command's deadline (exit 4)."""

    CODE = "cli_not_included"

    def __str__(self) -> str:
        return (f"{self.method}: submitted, but not in a block yet; it may still be included, so check with a read "
                "(balance, stake, metagraph) before sending it again")


@attrs.define(auto_exc=True, str=False, slots=False)
class NothingToMove(ExtrinsicRejected):
    """Raised when a stake or unstake would move 0 RAO, which the chain does not take (exit 3)."""

    CODE = "cli_nothing_to_move"
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what} of 0 RAO moves nothing and is refused: {self.reason}"


@attrs.define(auto_exc=True, str=False, slots=False)
class NotADelegate(NotDelegate):
    """Raised when `delegate add` names a hotkey that is not a delegate (exit 3), before anything is sent: the command
    stakes on delegates, as btcli's does. ``own``: the wallet's coldkey owns the hotkey (`stake add` stakes on it);
    another's takes no stake but its owner's until nominated."""

    CODE = "cli_not_a_delegate"
    own: bool = False
    wallet: str = ""

    def __str__(self) -> str:
        if self.own:
            return (f"hotkey {self.hotkey} is your own (wallet {self.wallet!r}), not a delegate: nothing was sent; "
                    f"stake on your own hotkey with taonet stake add -w {shlex.quote(self.wallet)} --hotkey-ss58 "
                    f"{self.hotkey} "
                    "(delegate add stakes on delegates: taonet delegate list)")
        return (f"hotkey {self.hotkey} is not a delegate: nothing was sent; a hotkey takes stake from coldkeys other "
                "than its owner's only once its owner nominates it (taonet delegate nominate); taonet delegate list "
                "shows the delegates there are")


@attrs.define(auto_exc=True, str=False, slots=False)
class CommandTimeout(RpcTimeout):
    """Raised when a command is still waiting at its ``--timeout``, or its wait ended because the node went away
    (exit 4); for a write, ``sent`` says whether it may have reached the node (the client had submitted it) or not
    (nothing changed)."""

    CODE = "cli_command_timeout"
    write: bool = False
    sent: bool = True
    """For a write: False when the client had not submitted anything yet (it can be run again as it is)."""
    check: str = ""
    """For a write that may have been sent: the command that shows whether it was."""
    then: str = ""
    """For a write that may have been sent: what to do once it was (e.g. reveal a weight commit, with its salt)."""
    cause: str = ""
    """What ended the wait when it was the node, not the time (the node went away or stopped answering); "" when
    ``--timeout`` simply ran out."""

    def __str__(self) -> str:
        if self.cause:
            head = f"{self.method}: {self.cause}"
            later = "once the node answers again, "
        else:
            head = f"{self.method} did not finish within {self.timeout:g} s (--timeout)"
            later = ""
        if self.write and not self.sent:
            return (f"{head} and was not sent: nothing changed; run it again"
                    + (" once the node answers" if self.cause else " (with a larger --timeout if it needs longer)"))
        if self.write:
            check = f"`{self.check}`" if self.check else "a read (balance, stake, metagraph)"
            tail = f"; {self.then}" if self.then else "" if self.cause else ", or raise --timeout"
            return (f"{head}: it may have been sent and may still be included; {later}check with {check} before "
                    f"sending it again{tail}")
        if self.cause:
            return f"{head}: start it again, or check --endpoint (taonet node status shows the node)"
        return (f"{head}: the node at {self.address} is slow or busy, or what the command waits for has not happened "
                "yet; raise --timeout (taonet node status shows the node)")


def node_cause(error: BaseException | None, address: str) -> str:
    """What a wait's error says of the node at ``address``, for :attr:`CommandTimeout.cause` ("" for no error): it
    went away (the connection broke) or stopped answering (a call got no reply)."""
    from taonet.kernel.errors import Unreachable

    if error is None:
        return ""
    if isinstance(error, Unreachable):
        return f"the node at {address} went away ({error.method}: {error.reason})"
    if isinstance(error, RpcTimeout):
        return (f"the node at {address} stopped answering ({error.method} got no reply within "
                f"{error.timeout:.3g} s)")
    return f"the wait for the node at {address} ended: {error}"


def gone_cause(address: str) -> str:
    """:attr:`CommandTimeout.cause` for a node whose connection closed while a command waited on it."""
    return f"the node at {address} went away (its connection closed while the command waited)"


@attrs.define(auto_exc=True, str=False, slots=False)
class NoRemoteActors(RpcBadRequest):
    """Raised when `taonet actor run` reaches a node that runs its actors itself (exit 2)."""

    CODE = "cli_no_remote_actors"
    node: str
    actor: str

    def __str__(self) -> str:
        return (f"the node at {self.node} runs its actors itself and takes no remote {self.actor}: start it with "
                f"taonet node run ... --remote-actor {self.actor}, or point --node at one that was")


@attrs.define(auto_exc=True, str=False, slots=False)
class IdentityNotRecorded(ExtrinsicRejected):
    """Raised when `subnet create --plugin` created the subnet but the chain refused its identity (exit 3)."""

    CODE = "cli_identity_not_recorded"
    netuid: int
    plugin: str
    reason: str

    def __str__(self) -> str:
        return (f"subnet {self.netuid} was created (its lock is paid), but recording that it runs plugin "
                f"{self.plugin!r} failed: {self.reason}; do not create it again: record the identity with "
                "Subtensor.set_subnet_identity (docs/subnets.md)")


@attrs.define(auto_exc=True, str=False, slots=False)
class RevealFailed(ExtrinsicRejected):
    """Raised when `weights set` committed on a commit-reveal subnet and the chain refused the reveal (exit 3)."""

    CODE = "cli_reveal_failed"
    reason: str
    then: str

    def __str__(self) -> str:
        return f"the weights were committed, but the chain refused their reveal: {self.reason}; {self.then}"


@attrs.define(auto_exc=True, str=False, slots=False)
class UidNotFound(SubnetNotFound):
    """Raised when a command names a UID the subnet does not have (exit 6, not found)."""

    CODE = "cli_uid_not_found"
    uid: int = attrs.field(kw_only=True)
    count: int = attrs.field(kw_only=True)

    def __str__(self) -> str:
        has = f"its UIDs are 0..{self.count - 1}" if self.count else "it has no neurons"
        return f"subnet {self.netuid} has no UID {self.uid} ({has}): taonet metagraph {self.netuid} lists them"
