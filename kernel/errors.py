"""The typed errors of taonet's wire (Axon, Dendrite, Synapse) and wallets.

They extend the project's one error tree (:class:`~taonet.ledger.errors.TaonetError`). Every wire error carries the
``STATUS`` code an axon answers with, so the axon maps a rejection to its reply by type, never by message text:

======  =====================================================================================
status  errors
======  =====================================================================================
400     :class:`BadRequest` (malformed envelope, headers or body)
401     :class:`Unauthorized`: :class:`InvalidSignature`, :class:`StaleRequest`, :class:`ReplayedRequest`,
        :class:`WrongAxon`, :class:`BodyHashMismatch`, :class:`NotVerified`
403     :class:`Blacklisted`
404     :class:`UnknownSynapse`
408     :class:`RequestTimeout`
413     :class:`~taonet.ledger.errors.MessageTooLarge` (reused from the codec)
500     :class:`ServerError`
503     :class:`Overloaded`
======  =====================================================================================

Wallet errors (:class:`WalletError`) are raised to the caller of a wallet method, with a message that says what to do.
Every wire ``CODE`` starts with ``wire_`` so it cannot collide with the codes of other layers (error codes are one
registry, used to rebuild errors that cross a socket).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from taonet.ledger.errors import MessageTooLarge, StorageFailed, TaonetError, error_text

__all__ = [
    "AlreadyQueued",
    "BadAddress",
    "BadRequest",
    "Blacklisted",
    "BlockNotFound",
    "BlockWaitTimeout",
    "BodyHashMismatch",
    "Busy",
    "ClientClosed",
    "ConnectionsRefused",
    "DataDirLocked",
    "DataDirNotADirectory",
    "DataDirUnusable",
    "ExtrinsicDropped",
    "InvalidAmount",
    "InvalidKeyFile",
    "InvalidMetagraphFile",
    "InvalidSignature",
    "InvalidWalletName",
    "KernelError",
    "KeyFileExists",
    "KeyFileNotFound",
    "KeyFilesDisagree",
    "LeaderAway",
    "HotkeyNotFound",
    "MempoolFull",
    "MessageTooLarge",
    "NoNode",
    "NodeSilent",
    "NodeHalted",
    "NotAWallet",
    "NotAnActor",
    "NotVerified",
    "Overloaded",
    "PasswordRequired",
    "REFUSED_ADVICE",
    "ProtocolError",
    "ReplayedRequest",
    "RefusedReply",
    "RequestTimeout",
    "RpcBadRequest",
    "RpcServerError",
    "RpcTimeout",
    "ServerError",
    "SignerLimit",
    "StaleRequest",
    "SynapseFrozen",
    "Unauthorized",
    "UnknownMethod",
    "UnknownSigner",
    "UnknownSynapse",
    "Unreachable",
    "WalletError",
    "WalletNotFound",
    "WatchOnlyWallet",
    "WrongAxon",
    "WrongPassword",
    "status_of",
]


_msg = error_text


# --- the wire -----------------------------------------------------------------------------------------------


class ProtocolError(TaonetError):
    """Base for everything the wire refuses: a request or reply that breaks the protocol, or a refused service."""

    CODE = "wire_protocol_error"
    STATUS: ClassVar[int] = 500


class BadRequest(ProtocolError, ValueError):
    """Raised when a request's envelope, headers or body is malformed (status 400)."""

    CODE = "wire_bad_request"
    STATUS = 400


class Unauthorized(ProtocolError):
    """Base for requests that fail authentication: signature, nonce, addressee or body hash (status 401)."""

    CODE = "wire_unauthorized"
    STATUS = 401


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidSignature(Unauthorized):
    """Raised when a signature does not verify under the hotkey that claims to have made it."""

    CODE = "wire_invalid_signature"
    what: str = "request"
    __str__ = _msg("the {what} signature does not verify under the sender's hotkey")


@attrs.define(auto_exc=True, str=False, slots=False)
class StaleRequest(Unauthorized):
    """Raised when a request's nonce (ns since the epoch) is older than its window or too far in the future."""

    CODE = "wire_stale_request"
    age_s: float
    window_s: float
    __str__ = _msg(
        "nonce is {age_s:.3f} s old, outside the window of -2 s..{window_s:.3f} s; check the caller's clock"
    )


@attrs.define(auto_exc=True, str=False, slots=False)
class ReplayedRequest(Unauthorized):
    """Raised when a nonce was already accepted from the same (hotkey, dendrite uuid)."""

    CODE = "wire_replayed_request"
    detail: str = "this nonce was already used by this caller (hotkey, dendrite uuid)"
    __str__ = _msg("{detail}")


@attrs.define(auto_exc=True, str=False, slots=False)
class WrongAxon(Unauthorized):
    """Raised when a request was signed for another axon's hotkey."""

    CODE = "wire_wrong_axon"
    expected: str
    got: str
    __str__ = _msg("the request is addressed to {got}, but this axon is {expected}")


@attrs.define(auto_exc=True, str=False, slots=False)
class BodyHashMismatch(Unauthorized):
    """Raised when the body does not hash to the signed body hash (it was altered after signing)."""

    CODE = "wire_body_hash_mismatch"
    __str__ = _msg("the body does not match the signed body hash")


class NotVerified(Unauthorized):
    """Raised when an axon's own ``verify`` hook refuses a request."""

    CODE = "wire_not_verified"


class Blacklisted(ProtocolError):
    """Raised when the axon's blacklist refuses the caller (status 403); ``retry_after`` (seconds; None: not said)
    travels to the caller as a typed field of the reply (docs/wire.md, "Frames")."""

    CODE = "wire_blacklisted"
    STATUS = 403

    def __init__(self, message: str = "blacklisted", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@attrs.define(auto_exc=True, str=False, slots=False)
class UnknownSynapse(ProtocolError, LookupError):
    """Raised when no forward is attached for a synapse name (status 404)."""

    CODE = "wire_unknown_synapse"
    STATUS = 404
    name: str
    __str__ = _msg("this axon serves no synapse named {name!r}")


@attrs.define(auto_exc=True, str=False, slots=False)
class RequestTimeout(ProtocolError, TimeoutError):
    """Raised when the forward (or the wait for it) outlasts the caller's timeout (status 408)."""

    CODE = "wire_timeout"
    STATUS = 408
    timeout_s: float
    __str__ = _msg("no answer within the caller's timeout of {timeout_s:.3f} s")


class ServerError(ProtocolError):
    """Raised when the forward raised or returned something that is not its synapse (status 500)."""

    CODE = "wire_server_error"
    STATUS = 500


class Overloaded(ProtocolError):
    """Raised when the axon's queue (or its bounded nonce memory) is full; retry later (status 503)."""

    CODE = "wire_overloaded"
    STATUS = 503


def status_of(err: BaseException) -> int:
    """The status code an axon answers for ``err``: its ``STATUS`` for wire errors, 413, 400 or 500 otherwise."""
    if isinstance(err, ProtocolError):
        return err.STATUS
    if isinstance(err, MessageTooLarge):
        return 413
    if isinstance(err, ValueError):  # codec errors and bad field values from a peer
        return 400
    return 500


class SynapseFrozen(TaonetError, attrs.exceptions.FrozenInstanceError):
    """Raised when code sets a field of a synapse (they are frozen: a forward returns ``synapse.replace(...)``)."""

    CODE = "wire_synapse_frozen"

    def __init__(self, synapse: str, field: str) -> None:
        self.msg = (f"{synapse} is frozen: return synapse.replace({field}=...) instead of setting synapse.{field} "
                    "(Bittensor's pydantic synapses allowed it; taonet's do not)")
        AttributeError.__init__(self, self.msg)  # attrs' FrozenError takes no message of its own
        self.synapse, self.field = synapse, field


# --- the node, its RPC and mempool ----------------------------------------------------------------------------


class KernelError(TaonetError):
    """Base for errors of the living chain: the node's RPC, its mempool, block production and actors."""

    CODE = "kernel_error"


@attrs.define(auto_exc=True, str=False, slots=False)
class UnknownMethod(KernelError, LookupError):
    """Raised when an RPC names a method the server does not offer."""

    CODE = "unknown_method"
    method: str
    __str__ = _msg("unknown RPC method {method!r}")


@attrs.define(auto_exc=True, str=False, slots=False)
class RpcTimeout(KernelError, TimeoutError):
    """Raised when an RPC gets no reply within its timeout (the server may be down or overloaded)."""

    CODE = "rpc_timeout"
    method: str
    address: str
    timeout: float
    __str__ = _msg("{method} to {address} got no reply within {timeout:.3g} s; is the node running (taonet node "
                   "status)?")


@attrs.define(auto_exc=True, str=False, slots=False)
class BlockWaitTimeout(KernelError, TimeoutError):
    """Raised when the block a client waits for does not come within the wait's timeout."""

    CODE = "block_wait_timeout"
    block: int
    timeout: float
    head: int
    what: str = "the block"
    __str__ = _msg("{what} did not come within {timeout:.3g} s (the last head seen was {head}): wait longer, or "
                   "check that the node produces blocks (taonet node status)")


@attrs.define(auto_exc=True, str=False, slots=False)
class Unreachable(KernelError, ConnectionError):
    """Raised when the connection to the server broke while a call was under way."""

    CODE = "unreachable"
    method: str
    address: str
    reason: str
    __str__ = _msg("{method} to {address} failed: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class NoNode(Unreachable):
    """Raised when nothing answers at the address within the client's connect timeout (no node is running there)."""

    CODE = "no_node"
    __str__ = _msg("no node at {address} ({reason}): start one with taonet node run --dev, or check the endpoint")


@attrs.define(auto_exc=True, str=False, slots=False)
class LeaderAway(NoNode):
    """Raised by a replica for a write it would forward while its leader does not answer (nothing was forwarded), or
    at its start with no chain to serve; by a client's wait on a replica whose leader is away (``method``
    ``wait_for_block``). ``address`` is the leader's."""

    CODE = "leader_away"

    def __str__(self) -> str:
        again = {"wait_for_block": "wait again", "info": "start the replica again", "next_nonce": "ask again",
                 "receipt": "ask again"}.get(self.method, "send it again")
        return (f"no node at {self.address} ({self.reason}): check that the leader at {self.address} runs and that "
                f"the replica reaches it (taonet node status -e {self.address}), and {again} once it answers")


@attrs.define(auto_exc=True, str=False, slots=False)
class NodeSilent(NoNode):
    """Raised when something accepts connections at the address but never answers within the connect timeout: a node
    stopped (SIGSTOP, a debugger), starved of CPU, or another program listening there; not "no node"."""

    CODE = "node_silent"
    __str__ = _msg("the node at {address} accepts connections but did not answer ({reason}): it may be stopped or too "
                   "busy (or another program listens there); try again, or give a longer --timeout")


REFUSED_ADVICE = ("it may already hold as many connections from this address as it allows (or from its network, or "
                  "in all); close some of this address's clients, or ask its operator to raise "
                  "--max-connections-per-address (taonet node status, run from another address, shows its bounds)")
"""What a client turned away by a node's connection bounds is told to do (:class:`ConnectionsRefused`, and the
:class:`Unreachable` of a client whose connection was lost and whose new ones are turned away)."""


@attrs.define(auto_exc=True, str=False, slots=False)
class ConnectionsRefused(NoNode):
    """Raised when a node listens at the address but closes each connection from this client as soon as it is made,
    and the client never kept one (nothing it sent was read): a node's connection bounds turn it away
    (``--max-connections-per-address``, ``--max-connections-per-network``, ``--max-connections``)."""

    CODE = "connections_refused"
    __str__ = _msg("the node at {address} closes every connection from this client at once ({reason}): if this is "
                   "a first try, {address} is likelier not a node's RPC port (a node's feed port, its actors' port, "
                   "an axon or another program closes such connections too): give the node's RPC address (`taonet "
                   "node status -e tcp://HOST:RPC_PORT` answers there and names its feed); else " + REFUSED_ADVICE)


@attrs.define(auto_exc=True, str=False, slots=False)
class ClientClosed(KernelError, RuntimeError):
    """Raised when a client (a blocking ``subtensor()``, a Metagraph from it) is used after it was closed."""

    CODE = "client_closed"
    what: str
    __str__ = _msg("{what} is closed: make a new one (with subtensor() as sub: ...), and close a client only when "
                   "every call on it is done")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidAmount(KernelError, ValueError, TypeError):
    """Raised when an amount is not one the client can send: not a number, negative, not finite, or too large."""

    CODE = "invalid_amount"
    amount: str
    reason: str
    __str__ = _msg("{amount} is not an amount of TAO: {reason}; give a Balance, an int of RAO or a float of TAO "
                   "(Balance.from_tao(1.5), Balance.from_rao(1_500_000_000))")


@attrs.define(auto_exc=True, str=False, slots=False)
class BadAddress(KernelError, ValueError):
    """Raised when an endpoint is not an address the client can dial (no port, unknown scheme, bad host)."""

    CODE = "bad_address"
    address: str
    reason: str
    __str__ = _msg("{address} is not an address a node can be reached at ({reason}); use local, host:port, "
                   "tcp://host:port or ipc:///path")


@attrs.define(auto_exc=True, str=False, slots=False)
class RpcServerError(KernelError):
    """Raised when the server failed on a request for a reason it did not expect (see its log)."""

    CODE = "server_error"
    method: str
    reason: str
    __str__ = _msg("{method} failed on the server: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class RefusedReply(RpcServerError):
    """Raised when the client refuses a server's reply without using it (malformed, not a map, or denser than the
    client allows): the server answered, it did not fail; an :class:`RpcServerError` so callers catching that still
    catch it."""

    CODE = "refused_reply"
    address: str
    __str__ = _msg("the reply of the node at {address} to {method} was refused: {reason}; is {address} a taonet node "
                   "you trust?")


@attrs.define(auto_exc=True, str=False, slots=False)
class RpcBadRequest(KernelError, ValueError):
    """Raised when an RPC's parameters are missing or of the wrong type."""

    CODE = "bad_request"
    method: str
    reason: str
    __str__ = _msg("{method}: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class BlockNotFound(KernelError, LookupError):
    """Raised when a read names a block the chain does not have yet (beyond the head)."""

    CODE = "block_not_found"
    number: int
    head: int
    __str__ = _msg("block {number} does not exist: the chain's head is block {head}; ask for a block in 0..{head}")


@attrs.define(auto_exc=True, str=False, slots=False)
class Busy(KernelError):
    """Raised when a client is over its share of the node (or the node over its budget); retry after a pause."""

    CODE = "busy"
    method: str
    reason: str
    retry_after: float
    __str__ = _msg("{method}: the node is busy ({reason}); retry in {retry_after} s")


@attrs.define(auto_exc=True, str=False, slots=False)
class DataDirLocked(KernelError):
    """Raised when another process writes the data directory (one writer per directory)."""

    CODE = "data_dir_locked"
    path: str
    pid: int
    """The holder's pid, -1 when it could not be read (its LOCK file not written yet, or deleted)."""

    def __str__(self) -> str:
        who = f"process {self.pid}" if self.pid > 0 else "another process"
        return f"{self.path} is in use by {who}: stop that process, or use another --data-dir"


@attrs.define(auto_exc=True, str=False, slots=False)
class DataDirNotADirectory(DataDirLocked):
    """Raised when the path given as a data directory is a file (exit 7, as a locked directory)."""

    CODE = "data_dir_not_a_directory"
    pid: int = -1
    __str__ = _msg("{path} is a file, not a directory: give --data-dir a directory (a new one, or a node's)")


@attrs.define(auto_exc=True, str=False, slots=False)
class DataDirUnusable(StorageFailed):
    """Raised when the data directory cannot be created or opened (a path under a file, no permission): a
    :class:`StorageFailed` that names the directory and what to give instead (exit 7)."""

    CODE = "data_dir_unusable"
    __str__ = _msg("{path} cannot be used as a data directory ({reason}): give a --data-dir this user can create "
                   "and write")


@attrs.define(auto_exc=True, str=False, slots=False)
class MempoolFull(KernelError):
    """Raised when the mempool holds its limit of extrinsics, or of their bytes (``unit``); retry after the next
    block."""

    CODE = "mempool_full"
    limit: int
    unit: str = "extrinsics"
    __str__ = _msg("the mempool is full ({limit} {unit}); retry after the next block")


@attrs.define(auto_exc=True, str=False, slots=False)
class AlreadyQueued(KernelError):
    """Raised when an extrinsic with the same signer and nonce is already waiting."""

    CODE = "already_queued"
    nonce: int
    __str__ = _msg("an extrinsic with nonce {nonce} from this signer is already waiting")


@attrs.define(auto_exc=True, str=False, slots=False)
class SignerLimit(KernelError):
    """Raised when one signer already has its limit of extrinsics waiting in the mempool."""

    CODE = "signer_limit"
    limit: int
    __str__ = _msg("this signer already has {limit} extrinsics waiting; wait for some to be sealed, then retry")


@attrs.define(auto_exc=True, str=False, slots=False)
class UnknownSigner(KernelError):
    """Raised when a fee-free extrinsic comes from a key the chain does not know (the mempool's admission rule)."""

    CODE = "unknown_signer"
    signer: str
    call: str
    rule: str
    advice: str = "fund the key or register the hotkey first"
    """What would make the node admit it (a hotkey call: register the hotkey; any other: fund the key)."""
    __str__ = _msg("{call} pays no fee, so it is only admitted from {rule}; {signer} is not: {advice}")


@attrs.define(auto_exc=True, str=False, slots=False)
class ExtrinsicDropped(KernelError):
    """Raised (in a receipt) when the mempool dropped an admitted extrinsic before any block took it."""

    CODE = "extrinsic_dropped"
    nonce: int
    reason: str
    __str__ = _msg("the extrinsic with nonce {nonce} was dropped: {reason}; sign it again at the next nonce")


@attrs.define(auto_exc=True, str=False, slots=False)
class NodeHalted(KernelError):
    """Raised when a system call breaks the runtime's rules: block production stops rather than go wrong."""

    CODE = "node_halted"
    number: int
    reason: str
    __str__ = _msg("block production halted at block {number}: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class NotAnActor(KernelError):
    """Raised when an actor answer is not signed by a key the node trusts for that actor."""

    CODE = "not_an_actor"
    actor: str
    __str__ = _msg("the answer for actor {actor!r} is not signed by a key named in the genesis: run the actor with "
                   "that key (taonet actor run --key URI, or $TAONET_ACTOR_URI)")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidMetagraphFile(KernelError, ValueError):
    """Raised when a saved metagraph file cannot be read (truncated, not a metagraph, or from another layout)."""

    CODE = "invalid_metagraph_file"
    path: str
    reason: str
    __str__ = _msg("{path} is not a readable saved metagraph: {reason}")


# --- wallets ------------------------------------------------------------------------------------------------


class WalletError(TaonetError):
    """Base for errors of wallets and key files."""

    CODE = "wallet_error"


@attrs.define(auto_exc=True, str=False, slots=False)
class WrongPassword(WalletError):
    """Raised when a password does not decrypt a key file."""

    CODE = "wrong_password"
    path: str
    __str__ = _msg("wrong password for {path} (or the file is damaged: the two look the same): try again; if it is "
                   "forgotten (or the file damaged), make the key again from its mnemonic with a new password "
                   "(taonet wallet regen-coldkey --mnemonic WORDS --overwrite)")


@attrs.define(auto_exc=True, str=False, slots=False)
class NotAWallet(WalletError, TypeError):
    """Raised when a write is given something that holds no key to sign with where a wallet belongs."""

    CODE = "not_a_wallet"
    what: str
    which: str
    __str__ = _msg("{what} is not a wallet: it has no {which} Keypair to sign with; pass a Wallet (or anything with "
                   "coldkey and hotkey Keypairs) or a Keypair")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidWalletName(WalletError, ValueError):
    """Raised when a wallet or hotkey name could leave the wallet folder or is not text."""

    CODE = "invalid_wallet_name"
    what: str
    name: str
    __str__ = _msg("{what} name {name} must be 1-64 of A-Z a-z 0-9 _ . - (not starting with . or -); "
                   "Bittensor's Wallet('cold/hot') is Wallet('cold', 'hot') here")


@attrs.define(auto_exc=True, str=False, slots=False)
class KeyFileExists(WalletError, FileExistsError):
    """Raised when writing a key would replace an existing file and ``overwrite=True`` was not given."""

    CODE = "key_file_exists"
    path: str
    __str__ = _msg("{path} already exists; to replace it (its key is lost unless you hold its mnemonic) pass "
                   "--overwrite (in Python, overwrite=True), or choose another wallet or hotkey name")


@attrs.define(auto_exc=True, str=False, slots=False)
class KeyFileNotFound(WalletError, FileNotFoundError):
    """Raised when a wallet's key file does not exist."""

    CODE = "key_file_not_found"
    path: str
    __str__ = _msg("{path} does not exist; create the key first (taonet wallet create) or check the wallet path")


@attrs.define(auto_exc=True, str=False, slots=False)
class WatchOnlyWallet(KeyFileNotFound):
    """Raised when a wallet holding only its coldkey's public key (coldkeypub.txt) is asked to sign."""

    CODE = "watch_only_wallet"
    wallet: str
    __str__ = _msg("{path} does not exist: wallet {wallet!r} is watch-only (it holds only coldkeypub.txt); to sign "
                   "with it, restore its coldkey from the mnemonic: taonet wallet regen-coldkey -w {wallet} "
                   "--mnemonic '...' --overwrite")


FEW_NAMES = 6
"""The most wallet or hotkey names an error lists (a typo is then obvious); of more, it says how many."""


@attrs.define(auto_exc=True, str=False, slots=False)
class WalletNotFound(KeyFileNotFound):
    """Raised when a key of a wallet is asked for and the wallet's folder does not exist (a mistyped name, or
    another wallet path); ``wallets`` are the wallets there are."""

    CODE = "wallet_not_found"
    wallet: str
    root: str
    wallets: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __str__(self) -> str:
        create = f"create it (taonet wallet create --wallet-name {self.wallet})"
        if not self.wallets:
            return (f"wallet {self.wallet!r} does not exist: there are no wallets under {self.root}; check the wallet "
                    f"path (--wallet-path, $TAONET_WALLET_PATH), or {create}")
        held = (f"its wallets: {', '.join(self.wallets)}" if len(self.wallets) <= FEW_NAMES
                else f"it holds {len(self.wallets)} wallets")
        return (f"wallet {self.wallet!r} does not exist under {self.root} ({held}): check the wallet name (taonet "
                f"wallet list shows the wallets), or {create}")


@attrs.define(auto_exc=True, str=False, slots=False)
class HotkeyNotFound(KeyFileNotFound):
    """Raised when a wallet that exists has no hotkey of the name asked for; ``hotkeys`` are the ones it has."""

    CODE = "hotkey_not_found"
    wallet: str
    hotkey: str
    hotkeys: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __str__(self) -> str:
        if not self.hotkeys:
            has = "it has no hotkeys yet"
        elif len(self.hotkeys) <= FEW_NAMES:
            has = f"its hotkeys: {', '.join(self.hotkeys)}"
        else:
            has = f"it has {len(self.hotkeys)}: taonet wallet inspect --wallet-name {self.wallet} lists them"
        return (f"wallet {self.wallet!r} has no hotkey {self.hotkey!r} ({has}): check the hotkey name, or make it "
                f"with taonet wallet new-hotkey --wallet-name {self.wallet} --hotkey {self.hotkey}")


@attrs.define(auto_exc=True, str=False, slots=False)
class KeyFilesDisagree(WalletError, ValueError):
    """Raised when a wallet's private key file and its public key file name different keys (one copied over)."""

    CODE = "key_files_disagree"
    path: str
    key: str
    pub_path: str
    pub: str
    __str__ = _msg("{path} holds the key of {key} but {pub_path} names {pub}: the wallet's two files disagree (one "
                   "copied over the other?), so nothing was signed; restore the wallet from its mnemonic (taonet "
                   "wallet regen-coldkey or regen-hotkey ... --overwrite)")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidKeyFile(WalletError, ValueError):
    """Raised when a key file is not a valid taonet key file (bad JSON, envelope or key)."""

    CODE = "invalid_key_file"
    path: str
    reason: str
    __str__ = _msg("{path} is not a valid key file: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class PasswordRequired(WalletError):
    """Raised when a key needs a password and no source gave one (no argument, environment, or terminal); it says
    how to give one in Python (``password=``), or with the `taonet` command's flags when ``command_line``."""

    CODE = "password_required"
    path: str
    creating: bool = False  # a new key file, to be encrypted: leaving it unencrypted is then a way out too
    command_line: bool = False  # raised in the `taonet` command: its flags are the advice, not Python's arguments

    def __str__(self) -> str:
        if self.creating and self.command_line:
            return (f"{self.path} is to be encrypted and no password was given; pass one (--password-stdin), set "
                    "TAONET_PASSWORD or TAONET_PASSWORD_FILE, or leave a throwaway dev wallet unencrypted "
                    "(--no-password)")
        if self.creating:
            return (f"{self.path} is to be encrypted and no password was given; pass one as password= (a str, or a "
                    "function returning one), set TAONET_PASSWORD or TAONET_PASSWORD_FILE, or leave a throwaway dev "
                    "wallet unencrypted (encrypt=False, or the SDK's use_password=False)")
        if self.command_line:
            return (f"{self.path} is encrypted and no password was given; pass one, or set TAONET_PASSWORD or "
                    "TAONET_PASSWORD_FILE")
        return (f"{self.path} is encrypted and no password was given; pass one as password= "
                "(wallet.get_coldkey(password=...), wallet.get_hotkey(password=...)), or set TAONET_PASSWORD or "
                "TAONET_PASSWORD_FILE")
