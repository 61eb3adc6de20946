"""`taonet weights set|show|commit|reveal`: a validator's weights on a subnet, as btcli takes them (--uids 1,2
--weights 0.3,0.7), or by hotkey (--hotkeys SS58,SS58); on a commit-reveal subnet committed and revealed."""

from __future__ import annotations

import json
import math
import os
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import command_subnet
from ._common import (
    U16_MAX,
    U64_MAX,
    AsJson,
    Endpoint,
    Hotkey,
    Netuid,
    NetuidArg,
    NoPrompt,
    Out,
    ReadTimeout,
    WalletName,
    WalletPath,
    Wide,
    WriteTimeout,
    confirm,
    netuid_of,
    parse_list,
    run,
    wallet_of,
)

SALT_BYTES = 16
"""The salt a weight commit gets when none is given (the client's own default size)."""

weights_app = typer.Typer(
    help="Weights: what a validator says each miner is worth (signed by its hotkey).\n\n"
         "Example: taonet weights set --netuid 1 --uids 1,2 --weights 0.3,0.7",
    no_args_is_help=True)


@weights_app.command("set")
def weights_set(weights: Annotated[str, typer.Option("--weights", "-w8", metavar="W,W,...",
                                                     help="Weights, in the order of --uids or --hotkeys.")],
                uids: Annotated[str | None, typer.Option("--uids", metavar="UID,UID,...", help="The UIDs weighed.")
                                ] = None,
                hotkeys: Annotated[str | None, typer.Option("--hotkeys", metavar="SS58,SS58,...",
                                                            help="The hotkeys weighed (instead of --uids).")] = None,
                netuid_arg: NetuidArg = None, netuid: Netuid = None,
                version_key: Annotated[int, typer.Option("--version-key", min=0, max=U64_MAX, help="The subnet's "
                                                         "weights version your validator runs.")] = 0,
                save: Annotated[Path | None, typer.Option("--save", metavar="FILE", help="On a commit-reveal subnet: "
                                                          "write what the reveal needs to FILE (JSON) before "
                                                          "committing.")] = None,
                wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                endpoint: Endpoint = None, no_prompt: NoPrompt = False, as_json: AsJson = False,
                timeout: WriteTimeout = 60.0) -> None:
    """Set your hotkey's weights on a subnet (floats, max-upscaled to u16 as the chain stores them)."""
    import anyio
    import attrs

    from taonet.kernel.client import PendingReveal

    from ._errors import CommandTimeout

    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    values = parse_list(weights, float, "--weights")
    if (uids is None) == (hotkeys is None):
        raise typer.BadParameter("give --uids or --hotkeys (one of them)", param_hint="--uids")
    targets: list[Any] = parse_list(uids, int, "--uids") if uids is not None else parse_list(hotkeys, str, "--hotkeys")
    if not targets:
        raise typer.BadParameter("no targets given: give at least one UID (or hotkey) and its weight",
                                 param_hint="--uids" if uids is not None else "--hotkeys")
    if len(targets) != len(values):
        raise typer.BadParameter(f"{len(targets)} targets but {len(values)} weights: give one weight per target",
                                 param_hint="--weights")
    _check_values(targets if uids is not None else [], values)
    if save is not None:
        _check_writable(save)
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    confirm(f"Set {len(values)} weights on subnet {n} from {hot.ss58_address}?", no_prompt, out)
    # the salt is made here, not in the client: a commit cut off after it went out can still be revealed
    salt = os.urandom(SALT_BYTES)
    made: list[PendingReveal] = []  # what the commit holds, once the subnet is known to use commit-reveal

    async def write(sub: Any) -> tuple[Any, list[int]]:
        ids = list(targets)
        if hotkeys is not None:
            from taonet.ledger.errors import HotkeyNotRegistered

            ids = []
            for h in targets:
                uid = await sub.get_uid_for_hotkey_on_subnet(h, n)
                if uid is None:
                    raise HotkeyNotRegistered(hotkey=h, netuid=n)
                ids.append(uid)
        commit_reveal, size = await _subnet_read(sub, n)
        _check_uids(n, ids, size)
        if commit_reveal:
            made.append(PendingReveal.new(n, hot.ss58_address, ids, values, salt=salt, version_key=version_key))
            if save is not None:  # before the commit: a salt that cannot be kept must not be committed
                await _check_registered(sub, hot.ss58_address, n)  # a commit refused leaves no file behind
                await anyio.to_thread.run_sync(_save, save, made[0])
        with out.status("waiting for inclusion (on a commit-reveal subnet: for the reveal window)"):
            # the reveal wait stops short of the command's deadline, so a commit never leaves with its salt unsaid
            return await sub.set_weights(hot, n, ids, values, version_key=version_key, salt=salt,
                                         reveal_timeout=max(1.0, timeout * 0.8), commit_reveal=commit_reveal), ids

    try:
        result, ids = run(write, endpoint, timeout, "weights set", write=True, check=f"taonet weights show {n}")
    except CommandTimeout as e:
        if made and e.sent:  # the commit may be on its way: its salt must reach the user
            raise attrs.evolve(e, **_reveal_help(made[0], w, save)) from None
        raise
    # a commit that went out unrevealed: no outcome in time, or the reveal refused ("committed" and failed); a refused
    # commit (action "") committed nothing
    if made and not result.success and (result.status == "timeout" or result.action == "committed"):
        _commit_unrevealed("weights set", result, made[0], w, save, endpoint, timeout)
    if made and save is not None and result.success and result.reveal is not None:  # with its window
        _save(save, result.reveal)
    # what was sent: the u16 values the client max-upscaled the floats to (1e308,1 is 65535,0), as the chain keeps them
    sent = PendingReveal.new(n, hot.ss58_address, ids, values, salt=salt).values
    pairs = ", ".join(f"{u}: {v}" for u, v in zip(ids, sent, strict=True)) + " (u16 as sent: the largest is 65535)"
    if result.action == "committed":  # a commit-reveal subnet whose window did not open within --timeout
        _committed(out, result, n, w)
        return
    what = "weights revealed (committed, then revealed)" if result.action == "revealed" else "weights set"
    out.wrote(result, f"{what} on subnet {n} by {hot.ss58_address}", pairs,
              **({"action": result.action} if out.json else {}))


async def _subnet_read(sub: Any, n: int) -> tuple[bool, int | None]:
    """Whether subnet ``n`` takes weights by commit-reveal, and how many UIDs it has; (False, None) if it cannot be
    read (the write will say why: no such subnet, say)."""
    from taonet.ledger.errors import TaonetError

    try:
        info = await sub.get_subnet_info(n)
    except TaonetError:
        return False, None
    return bool(info["hyperparameters"].get("commit_reveal_weights_enabled")), int(info["n"])


def _check_uids(n: int, ids: list[int], size: int | None) -> None:
    """UidNotFound (exit 6, as everywhere a UID the subnet does not have is named) for the first of ``ids`` subnet
    ``n`` of ``size`` UIDs does not have, before anything is signed; the chain would refuse the weights (exit 3)."""
    unknown = [u for u in ids if size is not None and u >= size]
    if unknown:
        from ._errors import UidNotFound

        raise UidNotFound(netuid=n, uid=unknown[0], count=size or 0)


async def _check_registered(sub: Any, hotkey: str, n: int) -> None:
    """HotkeyNotRegistered (exit 6) unless ``hotkey`` holds a UID on subnet ``n``: checked before a salt file is
    written, as the node would refuse the commit (a file left behind would hold a commit that never was)."""
    if await sub.get_uid_for_hotkey_on_subnet(hotkey, n) is None:
        from taonet.ledger.errors import HotkeyNotRegistered

        raise HotkeyNotRegistered(hotkey=hotkey, netuid=n)


def _reveal_command(r: Any, w: Any, save: Path | None) -> str:
    """The `taonet weights reveal` command that reveals ``r`` (a PendingReveal) from wallet ``w``."""
    who = f"-w {shlex.quote(w.name)} -H {shlex.quote(w.hotkey_str)}"
    if save is not None:
        return f"taonet weights reveal --from {shlex.quote(str(save))} {who}"
    return (f"taonet weights reveal {r.netuid} --uids {','.join(map(str, r.uids))} --weights "
            f"{','.join(map(str, r.values))} --salt {r.salt.hex()}"
            + (f" --version-key {r.version_key}" if r.version_key else "") + f" {who}")


def _reveal_help(r: Any, w: Any, save: Path | None) -> dict[str, str]:
    """The ``check`` and ``then`` of a CommandTimeout cut after a weight commit may have gone out: the salt and how to
    reveal."""
    kept = f" (kept in {save})" if save is not None else ""
    return {"check": f"taonet weights pending {r.netuid} --hotkey-ss58 {r.hotkey}",
            "then": f"the commit's salt is {r.salt.hex()}{kept}: while that lists the commit, reveal it in its window "
                    f"with `{_reveal_command(r, w, save)}`"}


def _commit_unrevealed(what: str, result: Any, r: Any, w: Any, save: Path | None, endpoint: str | None,
                       timeout: float) -> None:
    """Raise the error of a commit that went out but was not revealed (no outcome in time, or the reveal refused),
    with the salt and the reveal command (exit 4 or 3)."""
    from taonet.kernel.client import resolve_endpoint

    from ._errors import CommandTimeout, RevealFailed, node_cause

    help_ = _reveal_help(r, w, save)
    if result.status == "timeout":  # no outcome: the time ran out, or the node went away or stopped answering
        address = resolve_endpoint(endpoint)
        raise CommandTimeout(method=what, address=address, timeout=timeout, write=True, sent=True,
                             cause=node_cause(result.error, address), **help_)
    raise RevealFailed(reason=str(result.error) if result.error is not None else result.status,
                       then=f"check with `{help_['check']}`; {help_['then']}")


def _save(path: Path, r: Any) -> None:
    """Write what the reveal of ``r`` needs to ``path`` (JSON, owner-only)."""
    path.write_text(json.dumps(r.to_json(), indent=2) + "\n")
    path.chmod(0o600)


def _committed(out: Out, result: Any, n: int, w: Any) -> None:
    """Report a weight commit: the salt and the window the reveal needs."""
    r = result.reveal
    out.wrote(result, f"weights committed on subnet {n} by {r.hotkey}",
              f"reveal in blocks {r.reveal_from}..{r.reveal_until}: {_reveal_command(r, w, None)}",
              **({"action": "committed", "reveal": r.to_json()} if out.json else {}))


def _targets(uids: str, weights: str) -> tuple[list[int], list[float]]:
    ids, values = parse_list(uids, int, "--uids"), parse_list(weights, float, "--weights")
    if len(ids) != len(values) or not values:
        raise typer.BadParameter(f"{len(ids)} uids but {len(values)} weights: give one weight per UID",
                                 param_hint="--weights")
    _check_values(ids, values)
    return ids, values


def _check_values(ids: list[int], values: list[float]) -> None:
    """UIDs a subnet can have and weights that are numbers, not negative (else a usage error, exit 2)."""
    bad = [u for u in ids if not 0 <= u <= U16_MAX]
    if bad:
        raise typer.BadParameter(f"UID {bad[0]} is not a UID: they are 0..{U16_MAX} (taonet subnet metagraph "
                                 "lists a subnet's)", param_hint="--uids")
    if not all(math.isfinite(v) for v in values):
        raise typer.BadParameter("weights are numbers (not nan or inf)", param_hint="--weights")
    if any(v < 0 for v in values):
        raise typer.BadParameter("weights are not negative", param_hint="--weights")


@weights_app.command("commit")
def weights_commit(uids: Annotated[str, typer.Option("--uids", metavar="UID,UID,...", help="The UIDs weighed.")],
                   weights: Annotated[str, typer.Option("--weights", "-w8", metavar="W,W,...",
                                                        help="Weights, in the order of --uids.")],
                   netuid_arg: NetuidArg = None, netuid: Netuid = None,
                   salt: Annotated[str | None, typer.Option("--salt", metavar="HEX", help="8-64 bytes in hex "
                                                            "(default: 16 random bytes, printed).")] = None,
                   save: Annotated[Path | None, typer.Option("--save", metavar="FILE", help="Also write what the "
                                                             "reveal needs to FILE (JSON).")] = None,
                   version_key: Annotated[int, typer.Option("--version-key", min=0, max=U64_MAX, help="The subnet's "
                                                            "weights version your validator runs.")] = 0,
                   wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                   endpoint: Endpoint = None, no_prompt: NoPrompt = False, as_json: AsJson = False,
                   timeout: WriteTimeout = 60.0) -> None:
    """Commit your hotkey's weights by their hash on a commit-reveal subnet; prints the salt and reveal window."""
    import attrs

    from taonet.kernel.client import PendingReveal

    from ._errors import CommandTimeout

    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    ids, values = _targets(uids, weights)
    raw_salt = _salt(salt)
    if save is not None:
        _check_writable(save)  # before the commit: a salt that cannot be kept must not be made
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    confirm(f"Commit {len(values)} weights on subnet {n} from {hot.ss58_address}?", no_prompt, out)
    # the salt is made here, not in the client: a commit cut off after it went out can still be revealed
    pending = PendingReveal.new(n, hot.ss58_address, ids, values, salt=raw_salt or os.urandom(SALT_BYTES),
                                version_key=version_key)

    async def check(sub: Any) -> None:
        # what the chain would refuse, found before FILE is written: a refused commit leaves no file behind
        info = await sub.get_subnet_info(n)  # SubnetNotFound: exit 6
        _check_uids(n, ids, int(info["n"]))  # UidNotFound: exit 6
        if save is not None:
            await _check_registered(sub, hot.ss58_address, n)
            if not info["hyperparameters"].get("commit_reveal_weights_enabled"):  # the chain's refusal, exit 3
                from taonet.ledger.errors import CommitRevealDisabled

                raise CommitRevealDisabled(netuid=n)

    run(check, endpoint, timeout, "weights commit")
    if save is not None:
        try:
            _save(save, pending)  # before the commit, so the salt is kept whatever happens next
        except OSError as e:
            raise _unwritable(save, e) from None

    async def write(sub: Any) -> Any:
        with out.status("waiting for inclusion"):
            return await sub.commit_weights(hot, n, ids, values, salt=pending.salt, version_key=version_key)

    try:
        result = run(write, endpoint, timeout, "weights commit", write=True)
    except CommandTimeout as e:
        if e.sent:  # the commit may be on its way: its salt must reach the user
            raise attrs.evolve(e, **_reveal_help(pending, w, save)) from None
        raise
    if result.status == "timeout":
        _commit_unrevealed("weights commit", result, pending, w, save, endpoint, timeout)
    if result.success and save is not None:
        try:
            _save(save, result.reveal)  # now with the commit's block and window
        except OSError as e:  # the commit is on the chain: its salt must still reach the user
            _committed(out, result, n, w)
            raise typer.BadParameter(f"the commit is on the chain, but {save} could not be written "
                                     f"({(e.strerror or str(e)).lower()}); keep the salt printed above",
                                     param_hint="--save") from None
    _committed(out, result, n, w)


def _check_writable(path: Path) -> None:
    """``path`` can be written (tried, and left as it was), else a usage error naming --save (exit 2)."""
    existed = path.exists()
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise _unwritable(path, e) from None
    if not existed:
        path.unlink()


def _unwritable(path: Path, e: OSError) -> typer.BadParameter:
    """The usage error (exit 2, naming --save) for a salt file that cannot be written before a commit."""
    return typer.BadParameter(f"{path} cannot be written ({(e.strerror or str(e)).lower()}): nothing was committed; "
                              "choose another file", param_hint="--save")


@weights_app.command("reveal")
def weights_reveal(netuid_arg: NetuidArg = None, netuid: Netuid = None,
                   uids: Annotated[str | None, typer.Option("--uids", metavar="UID,UID,...",
                                                            help="The UIDs, as committed.")] = None,
                   weights: Annotated[str | None, typer.Option("--weights", "-w8", metavar="W,W,...",
                                                               help="The weights, as committed.")] = None,
                   salt: Annotated[str | None, typer.Option("--salt", metavar="HEX", help="The commit's salt.")
                                   ] = None,
                   from_file: Annotated[Path | None, typer.Option("--from", metavar="FILE", help="What `weights "
                                                                  "commit --save FILE` wrote (instead of the "
                                                                  "options above).")] = None,
                   version_key: Annotated[int, typer.Option("--version-key", min=0, max=U64_MAX,
                                                            help="As committed.")] = 0,
                   wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                   endpoint: Endpoint = None, no_prompt: NoPrompt = False, as_json: AsJson = False,
                   timeout: WriteTimeout = 60.0) -> None:
    """Reveal weights committed earlier (same uids, weights, salt, version key), inside the commit's window."""
    from taonet.kernel.client import PendingReveal

    out = Out(as_json)
    pending: PendingReveal | None = None
    if from_file is not None:
        pending = _read_reveal(from_file)
        n = pending.netuid
        command_subnet(n)  # an error's next step names it
        if netuid_arg is not None or netuid is not None:
            given = netuid_of(netuid_arg, netuid)
            if given != n:
                raise typer.BadParameter(f"subnet {given} given, but {from_file} holds a commit on subnet {n}: give "
                                         f"{n}, or the FILE of the commit on subnet {given}", param_hint="--from")
        if uids is not None or weights is not None or salt is not None or version_key != 0:
            raise typer.BadParameter(f"{from_file} holds the uids, weights, salt and version key: give --from FILE "
                                     "or --uids, --weights and --salt, not both", param_hint="--from")
    else:
        n = netuid_of(netuid_arg, netuid)
        if uids is None or weights is None or salt is None:
            raise typer.BadParameter("give --uids, --weights and --salt as committed (or --from FILE)",
                                     param_hint="--salt")
        ids, values = _targets(uids, weights)
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    confirm(f"Reveal weights on subnet {n} from {hot.ss58_address}?", no_prompt, out)

    async def write(sub: Any) -> Any:
        _check_uids(n, list(pending.uids) if pending is not None else ids, (await _subnet_read(sub, n))[1])
        with out.status("waiting for inclusion"):
            if pending is not None:
                return await sub.reveal(hot, pending)
            return await sub.reveal_weights(hot, n, ids, values, _salt(salt), version_key=version_key)

    result = run(write, endpoint, timeout, "weights reveal", write=True,
                 check=f"taonet weights pending {n} --hotkey-ss58 {hot.ss58_address}")
    out.wrote(result, f"weights revealed on subnet {n} by {hot.ss58_address}")


def _read_reveal(path: Path) -> Any:
    """The PendingReveal `weights commit --save` wrote to ``path``, checked strictly (else a usage error naming the
    file and what is wrong in it, exit 2)."""
    from taonet.kernel.client import PendingReveal

    def damaged(why: str) -> typer.BadParameter:
        return typer.BadParameter(f"{path} is not what `weights commit --save FILE` writes: {why} (damaged, or "
                                  "another file?); give that FILE, or --uids, --weights and --salt",
                                  param_hint="--from")

    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise typer.BadParameter(f"{path} cannot be read ({(e.strerror or str(e)).lower()})",
                                 param_hint="--from") from None
    except ValueError:  # not UTF-8 text, or not JSON
        raise damaged("it is not JSON") from None
    try:
        return PendingReveal.from_json(doc)
    except ValueError as e:
        raise damaged(str(e)) from None


def _salt(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise typer.BadParameter("the salt is hex digits (e.g. 0f3a...)", param_hint="--salt") from None
    if not 8 <= len(raw) <= 64:
        raise typer.BadParameter(f"the salt is 8 to 64 bytes, got {len(raw)}", param_hint="--salt")
    return raw


@weights_app.command("show")
def weights_show(netuid_arg: NetuidArg = None, netuid: Netuid = None,
                 uid: Annotated[int | None, typer.Option("--uid", min=0, max=U16_MAX,
                                                         help="Only this validator's weights.")
                                ] = None,
                 endpoint: Endpoint = None, as_json: AsJson = False, wide: Wide = False,
                 timeout: ReadTimeout = 10.0) -> None:
    """The weights each validator of a subnet set (normalised to sum to 1 per validator), newest on the chain."""
    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    neurons = run(lambda sub: sub.neurons(n), endpoint, timeout, "weights show")
    if uid is not None and all(x.uid != uid for x in neurons):  # a UID there that set no weights: an empty table
        from ._errors import UidNotFound

        raise UidNotFound(netuid=n, uid=uid, count=len(neurons))
    rows = []
    for x in neurons:
        if (uid is not None and x.uid != uid) or not x.weights:
            continue
        total = sum(v for _, v in x.weights) or 1
        rows.append({"uid": x.uid, "hotkey": x.hotkey, "last_update": x.last_update,
                     "weights": [[t, v / total] for t, v in x.weights]})
    if out.json:
        out.emit({"netuid": n, "block": neurons[0].block if neurons else None, "validators": rows})
        return
    out.table(f"weights on subnet {n}", ("FROM_UID", "TO_UID", "WEIGHT", "SET_AT_BLOCK"),
              [(str(r["uid"]), str(t), f"{v:.4f}", str(r["last_update"])) for r in rows for t, v in r["weights"]],
              wide=wide)


@weights_app.command("pending")
def weights_pending(netuid_arg: NetuidArg = None, netuid: Netuid = None,
                    hotkey_ss58: Annotated[str | None, typer.Option("--hotkey-ss58", metavar="SS58",
                                                                    help="Only this hotkey's commits.")] = None,
                    endpoint: Endpoint = None, as_json: AsJson = False, wide: Wide = False,
                    timeout: ReadTimeout = 10.0) -> None:
    """The weight commits pending on a commit-reveal subnet: whose, when made, and their reveal window."""
    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    commits = run(lambda sub: sub.get_weight_commits(n, hotkey=hotkey_ss58), endpoint, timeout, "weights pending")
    rows = [{"hotkey": hk, "commit_hash": c.commit_hash.hex(), "block": c.block, "reveal_from": c.reveal_from,
             "reveal_until": c.reveal_until} for hk, cs in commits.items() for c in cs]
    if out.json:
        out.emit({"netuid": n, "commits": rows})
        return
    out.table(f"pending weight commits on subnet {n}", ("HOTKEY", "BLOCK", "REVEAL_FROM", "REVEAL_UNTIL", "HASH"),
              [(r["hotkey"], str(r["block"]), str(r["reveal_from"]), str(r["reveal_until"]), r["commit_hash"][:16])
               for r in rows], left=("HOTKEY", "HASH"), shorten=("HOTKEY",), drop=("HASH",), wide=wide)
