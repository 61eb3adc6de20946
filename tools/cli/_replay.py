"""`taonet replay DIR show|events|diff|verify`: a chain's log read back from its data directory (read-only)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import attrs
import typer
from rich.console import Console

from .._words import counted
from ._common import U16_MAX, Rao, Wide, escaped, printable

replay_app = typer.Typer(
    help="Read a chain's log back from a data directory (read-only, no lock: safe beside a running node): the "
         "state at any block, its events, what changed, and a verification that re-runs consensus and registration.",
    no_args_is_help=True)
# no rich markup: the chain's text (subnet descriptions, URLs, names) is shown as it is, brackets and all
console = Console(markup=False)
err_console = Console(stderr=True, markup=False)

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
NetuidOpt = Annotated[int | None, typer.Option("--netuid", min=0, max=U16_MAX,
                                               help="One subnet (every subnet by default).")]
Subnet = Annotated[int, typer.Option("--netuid", min=0, max=U16_MAX, help="The subnet.")]
From = Annotated[int, typer.Option("--from", min=0, help="The first block.")]
To = Annotated[int | None, typer.Option("--to", min=0, help="The last block (the head by default).")]


def _dir(ctx: typer.Context) -> Path:
    return Path(ctx.obj["dir"])


@contextlib.contextmanager
def _log(ctx: typer.Context) -> Iterator[Any]:
    """The log of the command's data directory, opened read-only; the errors raised while it is read name that
    directory in what they tell the user to run (quoted for a shell)."""
    from taonet.ledger.errors import SubnetNotFound

    from ..replay import NeuronNotFound, open_log
    from ..replay._show import SubnetNotInLog

    shown = shlex.quote(str(_dir(ctx)))
    try:
        with open_log(_dir(ctx)) as store:
            yield store
            for path, reason in store.refused_snapshots.items():  # costs time, not correctness: said, not hidden
                err_console.print(f"note: {path} not used: {reason} (states are folded from an earlier snapshot "
                                  "or from genesis, which takes longer)", highlight=False, soft_wrap=True)
    except NeuronNotFound as e:
        e.data_dir = shown
        raise
    except SubnetNotFound as e:
        if isinstance(e, SubnetNotInLog):
            raise
        raise SubnetNotInLog(netuid=e.netuid, block=e.block, last=e.last, data_dir=shown) from None


def _last(store: Any, start: int, stop: int | None) -> int:
    """The last block of ``--from``..``--to``: a block beyond the head is not found (exit 6), ``--from`` after
    ``--to`` a usage error (exit 2)."""
    from taonet.kernel.errors import BlockNotFound

    for number in (start, stop):
        if number is not None and number > store.height:
            raise BlockNotFound(number=number, head=store.height)
    last = store.height if stop is None else stop
    if start > last:
        raise typer.BadParameter(f"--from {start} is after --to {last}", param_hint="--from")
    return last


def _conflict(first: str, second: str, why: str) -> typer.BadParameter:
    """The usage error (exit 2) of two options that cannot be given together."""
    return typer.BadParameter(f"{first} and {second} cannot be given together: {why}", param_hint=first)


def _print_json(value: Any) -> None:
    print(json.dumps(value))


@replay_app.callback()
def _replay(ctx: typer.Context, data_dir: Annotated[Path, typer.Argument(
        metavar="DIR", help="A node's, replica's or localnet's data directory (or its chain/ directory).")]) -> None:
    """Read a chain's log back: show a block, list events, diff two blocks, verify everything."""
    ctx.obj = {"dir": str(data_dir)}


@replay_app.command("show")
def show(ctx: typer.Context,
         block: Annotated[int | None, typer.Option("--block", "-b", min=0, help="The block (the head by default).")
                          ] = None,
         netuid: NetuidOpt = None,
         address: Annotated[str | None, typer.Option("--address", help="An account (SS58): its balance and stake "
                                                                          "at the block instead.")] = None,
         wallet_name: Annotated[str | None, typer.Option("--wallet-name", help="A wallet whose coldkey's balance and "
                                                                                 "stake to show.")] = None,
         wallet_path: Annotated[str | None, typer.Option("--wallet-path", help="Where wallets live "
                                                                                 "($TAONET_WALLET_PATH).")] = None,
         wide: Wide = False, as_rao: Rao = False,
         as_json: AsJson = False) -> None:
    """The metagraph at a block (the same table and JSON as `taonet metagraph`), or an account's balance and stake."""
    from taonet.kernel import Wallet
    from taonet.ledger import ss58_decode

    from ..replay import account_at, neurons_at, state_at
    from ._common import Out
    from ._subnet import metagraph_json, print_metagraph

    if address is not None and (wallet_name is not None or wallet_path is not None):
        raise _conflict("--address", "--wallet-name" if wallet_name is not None else "--wallet-path",
                        "both name an account; give an address, or a wallet")
    if netuid is not None and (address is not None or wallet_name is not None):
        raise _conflict("--netuid", "--address" if address is not None else "--wallet-name",
                        "an account's balance and stake are shown over every subnet; leave out --netuid for the "
                        "account, or the account for the metagraph")
    coldkey = None
    if address is not None:
        coldkey = ss58_decode(address)
    elif wallet_name is not None:
        coldkey = Wallet(name=wallet_name, path=wallet_path).get_coldkeypub().public_key
    with _log(ctx) as store:
        state = state_at(store, block)
        netuids = [netuid] if netuid is not None else [sn.netuid for sn in state.subnets()]
        graphs = [(n, neurons_at(state, n)) for n in netuids] if coldkey is None else []
        # what `taonet metagraph` reads from the subnet's info beside its neurons: the immunity, the owner, the sizes
        infos = {n: {"hyperparameters": {"immunity_period": sn.hyper.immunity_period}, "owner_hotkey": sn.owner_hotkey,
                     "n": sn.n, "max_n": sn.hyper.max_allowed_uids}
                 for n in netuids if (sn := state.subnet(n)) is not None}
    out = Out(as_json, as_rao)
    if coldkey is not None:
        acct = account_at(state, coldkey)
        if as_json:
            _print_json(acct)
            return
        out.line(f"{acct['address']} at block {acct['block']}")
        if acct["stake"]:  # amounts as every command shows them (τ1,000.0000, or RAO with --rao)
            out.table("stake per hotkey", ("HOTKEY", "STAKE"),
                      [(s["hotkey"], out.figure(s["stake"])) for s in acct["stake"]], left=("HOTKEY",),
                      shorten=("HOTKEY",), wide=wide, amounts=("STAKE",))
        out.line(f"free {out.amount(acct['free'])}, staked {out.amount(acct['total_stake'])}, nonce {acct['nonce']}")
        return
    if netuid is not None and as_json:
        out.emit(metagraph_json(netuid, state.height, graphs[0][1], infos.get(netuid)))
    elif as_json:
        out.emit({"block": state.height, "subnets": [metagraph_json(n, state.height, ns, infos.get(n))
                                                     for n, ns in graphs]})
    elif not graphs:
        console.print(f"block {state.height}: no subnet exists yet")
    else:
        for n, ns in graphs:
            print_metagraph(out, n, state.height, ns, wide=wide, info=infos.get(n))


@replay_app.command("events")
def events(ctx: typer.Context,
           start: Annotated[int, typer.Option("--from", min=0, help="The first block.")] = 0,
           stop: To = None,
           types: Annotated[list[str], typer.Option("--type", help="An event type: its name (Transferred, "
                                                    "neuron_replaced) or tag (ev.transferred); repeatable.")
                            ] = [],  # noqa: B006
           netuid: NetuidOpt = None,
           hotkey: Annotated[str | None, typer.Option("--hotkey", help="Events naming this hotkey (SS58).")] = None,
           coldkey: Annotated[str | None, typer.Option("--coldkey", help="Events naming this coldkey or account "
                                                                          "(SS58).")] = None,
           uid: Annotated[int | None, typer.Option("--uid", min=0, max=U16_MAX,
                                                   help="Events about this UID (with --netuid).")] = None,
           wide: Annotated[bool, typer.Option("--wide", help="Whole addresses, one line per event, whatever the "
                                                             "terminal's width.")] = False,
           as_json: AsJson = False) -> None:
    """The events of a range of blocks, filtered by type, subnet, hotkey, coldkey or UID (printed as they are read:
    a long range starts at once)."""
    from taonet.ledger import ss58_decode

    from ..replay import EventFilter, event_types, list_events, state_at

    if uid is not None and netuid is None:  # a UID names a neuron only within its subnet
        raise typer.BadParameter("--uid needs --netuid: a UID names a neuron within one subnet (give both)",
                                 param_hint="--uid")
    known = event_types()
    unknown = [t for t in types if t.lower() not in known]
    if unknown:
        raise typer.BadParameter(f"no event type {unknown[0]!r}; the types are "
                                 f"{', '.join(sorted(set(known.values())))}", param_hint="--type")
    keep = EventFilter.of(types, netuid=netuid, uid=uid, hotkey=None if hotkey is None else ss58_decode(hotkey),
                          coldkey=None if coldkey is None else ss58_decode(coldkey))
    with _log(ctx) as store:
        last = _last(store, start, stop)
        rows = list_events(store, start, last, keep)
        first = next(rows, None)
        if first is None and netuid is not None and state_at(store, last).subnet(netuid) is None:
            from taonet.ledger.errors import SubnetNotFound  # subnets are never removed: none at the end, none before

            raise SubnetNotFound(netuid=netuid, block=start, last=last)
        found = () if first is None else (first,)
        if as_json:
            _print_json_events(start, last, (r for rs in (found, rows) for r in rs))
            return
        _print_events(start, last, (r for rs in (found, rows) for r in rs), wide=wide)


def _print_json_events(start: int, last: int, rows: Iterator[Any]) -> None:
    """The events as the one JSON object ``{"from", "to", "events"}``, the bytes ``json.dumps`` of it would write,
    built in a spooled file (memory bounded on a long range) and written only once whole: a record found damaged
    midway leaves stdout empty, never half an object."""
    import shutil
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8") as buf:
        buf.write(f'{{"from": {json.dumps(start)}, "to": {json.dumps(last)}, "events": [')
        for i, r in enumerate(rows):
            buf.write(", " if i else "")
            buf.write(json.dumps(r.as_dict()))
        buf.write("]}\n")
        buf.seek(0)
        shutil.copyfileobj(buf, sys.stdout)
    sys.stdout.flush()


def _print_events(start: int, last: int, rows: Iterator[Any], *, wide: bool, chunk: int = 256) -> None:
    """The events as aligned lines, written as they are read, ``chunk`` rows at a time (memory bounded; a closed
    pipe stops the reading). Each chunk's columns are as wide as the widest name seen so far (they only grow); the
    fields wrap under their column to fit the terminal unless ``wide`` (then each event is one line, whole
    addresses)."""
    import itertools

    widths = [max(5, len(str(last))), 5, 4, 5]
    write = sys.stdout.write
    count = 0
    while batch := list(itertools.islice(rows, chunk)):
        cells = [(str(r.block), str(r.phase), r.call or "", type(r.event).__name__) for r in batch]
        widths = [max(w, *(len(c[i]) for c in cells)) for i, w in enumerate(widths)]
        indent = sum(widths) + 2 * len(widths)
        room = max(24, console.width - indent)
        if not count:
            head = ("BLOCK".rjust(widths[0]), "PHASE".rjust(widths[1]), "CALL".ljust(widths[2]),
                    "EVENT".ljust(widths[3]))
            write(f"events of blocks {start}..{last}\n{'  '.join(head)}  FIELDS\n{'─' * (indent + 6)}\n")
        for r, c in zip(batch, cells, strict=True):
            lines: list[str] = []
            for k, v, label in _event_fields(r):  # packed into lines that fit, never cut inside a field
                text = printable(str(v) if wide else _short(v)).replace("\n", "\\x0a")  # chain text: never raw
                item = f"{k}={text}{label}"
                if lines and not wide and len(lines[-1]) + 2 + len(item) > room:
                    lines[-1] += ","
                    lines.append(item)
                elif lines:
                    lines[-1] += ", " + item
                else:
                    lines.append(item)
            write(f"{c[0].rjust(widths[0])}  {c[1].rjust(widths[1])}  {c[2].ljust(widths[2])}  "
                  f"{c[3].ljust(widths[3])}  {lines[0] if lines else ''}".rstrip() + "\n")
            for more in lines[1:]:
                write(" " * indent + more + "\n")
        count += len(batch)
        sys.stdout.flush()  # seen at once, on a terminal or through a pipe; a reader gone is found here
    write(f"{count:,} event{'' if count == 1 else 's'} in blocks {start}..{last}\n" if count else
          f"no events in blocks {start}..{last}\n")
    sys.stdout.flush()


def _event_fields(r: Any) -> list[tuple[str, Any, str]]:
    """An event row's fields for people, as (name, value, label): a replacement's ``coldkey`` is labelled as the
    newcomer's, and the pruned hotkey's owner follows ``old_hotkey`` as ``old_coldkey`` when it was looked up."""
    from ..replay import plain

    fields = plain(r.event)
    if "old_hotkey" not in fields:
        return [(k, v, "") for k, v in fields.items()]
    out: list[tuple[str, Any, str]] = []
    for k, v in fields.items():
        out.append((k, v, " (the newcomer's)" if k == "coldkey" else ""))
        if k == "old_hotkey" and r.old_coldkey is not None:
            out.append(("old_coldkey", plain(r.old_coldkey, "coldkey"), ""))
    return out


def _short(v: Any) -> str:
    """A field's value for a table that fits the terminal: an address as ``5Abcde…uvwxyz``, anything else as is."""
    from ._common import short_address

    return short_address(v) if isinstance(v, str) and len(v) == 48 and v.isalnum() else str(v)


@replay_app.command("diff")
def diff(ctx: typer.Context,
         start: Annotated[int, typer.Option("--from", min=0, help="The first block (its state after it).")],
         stop: Annotated[int, typer.Option("--to", min=0, help="The second block.")],
         netuid: NetuidOpt = None, wide: Wide = False, as_rao: Rao = False, as_json: AsJson = False) -> None:
    """What changed between two blocks: balances, stake, registrations, weights, hyperparameters, epoch outputs."""
    from ..replay import diff_blocks
    from ._common import Out

    if start > stop:
        raise typer.BadParameter(f"--from {start} is after --to {stop}", param_hint="--from")
    with _log(ctx) as store:
        d = diff_blocks(store, start, stop, netuid=netuid)
    if as_json:
        _print_json(d)
        return
    _print_diff(Out(as_json, as_rao), d, wide=wide)


def _print_diff(out: Any, d: dict[str, Any], *, wide: bool) -> None:
    def amount(rao: int) -> str:  # to the RAO: a diff's changes are often a fee
        return out.amount(rao, 9)

    def figure(rao: int) -> str:  # the same, in a table's cell
        return out.figure(rao, 9)

    def change(rao: int) -> str:
        return ("+" if rao > 0 else "-" if rao < 0 else "") + figure(abs(rao))

    out.line(f"[bold]from block {d['from']} to block {d['to']}[/bold]", markup=True)
    if d["balances"]:
        out.table("balances", ("ADDRESS", "BEFORE", "AFTER", "CHANGE"),
                  [(b["address"], figure(b["before"]), figure(b["after"]), change(b["change"]))
                   for b in d["balances"]], left=("ADDRESS",), shorten=("ADDRESS",), drop=("BEFORE",), wide=wide,
                  amounts=("BEFORE", "AFTER", "CHANGE"))
    if d["stake"]:
        out.table("stake", ("COLDKEY", "HOTKEY", "BEFORE", "AFTER", "CHANGE"),
                  [(s["coldkey"], s["hotkey"], figure(s["before"]), figure(s["after"]), change(s["change"]))
                   for s in d["stake"]], left=("COLDKEY", "HOTKEY"), shorten=("COLDKEY", "HOTKEY"),
                  drop=("BEFORE",), wide=wide, amounts=("BEFORE", "AFTER", "CHANGE"))
    for sub in d["subnets"]:
        out.line(f"[bold]subnet {sub['netuid']}[/bold]", markup=True)
        for h in sub["hyperparameters"]:
            out.line(f"  {h['name']}: {h['before']} -> {h['after']}")
        regs = sub["registrations"]
        for r in regs["new"]:
            out.line(f"  UID {r['uid']} registered: {r['hotkey']} (block {r['registered_at']})")
        for r in regs["replaced"]:
            out.line(f"  UID {r['uid']} replaced: {r['old_hotkey']} -> {r['hotkey']} (block {r['registered_at']})")
        for r in regs["removed"]:
            out.line(f"  UID {r['uid']} removed: {r['hotkey']}")
        for w in sub["weights"]:
            out.line(f"  UID {w['uid']} set weights on {len(w['after'])} UIDs (before: {len(w['before'])})")
        for e in sub["epochs"]:
            out.line(f"  epoch at block {e['block']}: pot {amount(e['pot'])}, owner cut {amount(e['owner_cut'])}")
        if sub["outputs"]:
            def moved(o: dict[str, Any], key: str) -> str:
                return f"{o['before'][key] / 65535:.4f} -> {o['after'][key] / 65535:.4f}"

            out.table(f"subnet {sub['netuid']}: epoch outputs that changed",
                      ("UID", "INCENTIVE", "DIVIDENDS", "EMISSION"),
                      [(str(o["uid"]), moved(o, "incentive"), moved(o, "dividends"),
                        f"{figure(o['before']['emission'])} -> {figure(o['after']['emission'])}")
                       for o in sub["outputs"]], drop=("DIVIDENDS", "INCENTIVE"), wide=wide, amounts=("EMISSION",))


@replay_app.command("verify")
def verify(ctx: typer.Context,
           consensus: Annotated[bool, typer.Option("--consensus/--no-consensus",
                                                   help="Recompute every epoch result with the ledger's Yuma epoch "
                                                        "(on by default).")] = True,
           workers: Annotated[int | None, typer.Option("--workers", min=1, help="Processes verifying segments of "
                                                       "the log between snapshots at once (default: one per core for "
                                                       "logs of 3,000 blocks or more, else 1).")] = None,
           as_json: AsJson = False) -> None:
    """Check every hash, link, signature and state digest, re-derive every registration and recompute every epoch;
    the first divergence is reported with its block, call and values (exit 7)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from taonet.ledger.errors import InvalidBlock

    from ..replay import verify_dir

    with Progress(TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, transient=True, auto_refresh=False,
                  disable=as_json or not err_console.is_terminal) as bar:
        task = bar.add_task("verify", total=None)
        report = verify_dir(_dir(ctx), consensus=consensus, workers=workers, progress=_redrawn(bar, task))
    d = report.divergence
    if d is not None:
        error = InvalidBlock(number=d.block, reason=(f"{d.call}: " if d.call else "") + d.reason)
        if as_json:  # one document: the report, with the error in it as every --json error is written
            from ..errors import error_json

            doc = error_json(error)
            _print_json({**report.as_dict(), "error": doc})
            err_console.print(f"error: {doc['message']}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(doc["exit_status"])
        if d.details:
            console.print_json(json.dumps(d.details))
        raise error
    if as_json:
        _print_json(report.as_dict())
    if not as_json:
        epochs = (f"{report.epochs} epoch results recomputed" if report.consensus else
                  "epoch results not recomputed (--no-consensus)")
        console.print(f"blocks 0..{report.head} hold: {report.blocks} blocks, {report.extrinsics} extrinsics (hashes, "
                      f"links, signatures, state digests); {report.registrar_answers} registrar answers re-derived; "
                      f"{epochs}; {report.seconds:.1f} s")
        if report.epoch_records or report.epoch_records_refused:
            refused = (f"; {report.epoch_records_refused} refused (damaged, or written for another chain's block: "
                       "no reader uses them)" if report.epoch_records_refused else "")
            console.print(f"epoch index: {report.epoch_records} records equal to the inputs of their epoch{refused}")


# --- what-if, why, plot (issue 18) ----------------------------------------------------------------------------------

SetOpt = Annotated[list[str], typer.Option("--set", metavar="NAME=VALUE", help="An epoch hyperparameter as `subnet "
                                           "hyperparameters` names it, in its units (kappa=40000, yuma3_enabled=true); "
                                           "repeatable.")]


@replay_app.command("what-if")
def what_if_cmd(ctx: typer.Context,
                netuid: Subnet,
                changes: SetOpt = [],  # noqa: B006
                start: Annotated[int, typer.Option("--from", min=0, help="The first block whose epoch is re-run; "
                                                   "bonds are carried forward from there.")] = 0,
                stop: To = None,
                reward: Annotated[str | None, typer.Option("--reward", metavar="PLUGIN", help="Re-score the "
                                  "validators' journals with this installed plugin's reward model (--set then also "
                                  "takes its options) and use the weights that gives.")] = None,
                journals: Annotated[list[Path], typer.Option("--journal", metavar="PATH", help="A validator's state "
                                    "directory or journal/ (repeatable; default: every journal/ under DIR).")
                                    ] = [],  # noqa: B006
                as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per epoch and UID instead.")
                                  ] = False,
                workers: Annotated[int | None, typer.Option("--workers", min=1, help="Processes reading the log "
                                   "between snapshots at once (default: one per core for ranges of 3,000 blocks or "
                                   "more, else 1; always 1 with --reward).")] = None,
                no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor keep the range's "
                                    "recorded epochs in the cache ($XDG_CACHE_HOME/taonet/what-if, else "
                                    "~/.cache/taonet/what-if; at most 512 MiB).")] = False,
                no_index: Annotated[bool, typer.Option("--no-index", help="Do not read the epochs' inputs from "
                                    "the epoch index the node keeps beside its log (chain/epochs/); read the log."
                                    )] = False,
                wide: Wide = False, as_rao: Rao = False, as_json: AsJson = False) -> None:
    """Re-run the subnet's epochs over the recorded weights and stakes with other hyperparameters (or the weights
    another reward model gives over the validators' journals): incentive, dividends and emission per UID as recorded
    and as they would have been (nothing changed: the recorded ones, to the RAO)."""
    from ..replay import EPOCH_HYPERPARAMETERS, EpochCache, default_cache_dir, what_if
    from ._common import Out

    if as_csv and as_json:
        raise _conflict("--csv", "--json", "they are two formats of the same output; give one")
    epoch_sets = [c for c in changes if not reward or c.partition("=")[0].strip() in EPOCH_HYPERPARAMETERS]
    plugin_sets = [c for c in changes if c not in epoch_sets]
    overrides = _overrides(epoch_sets, reward)
    weights = None
    if reward is not None:
        weights = _journal_weights(ctx, reward, plugin_sets, journals, netuid)
    with _log(ctx) as store:
        last = _last(store, start, stop)
        if workers is None:
            from ..replay import PARALLEL_FROM

            workers = (os.cpu_count() or 1) if last - start >= PARALLEL_FROM else 1
        with _bar("re-running epochs", as_json or as_csv) as progress:
            result = what_if(store, netuid, overrides, start=start, stop=last, weights=weights, progress=progress,
                             workers=workers, cache=None if no_cache else EpochCache(default_cache_dir()),
                             index=not no_index)
    if weights is not None:
        result = _with_reward(result, reward, plugin_sets, weights)
        _note_unaligned(weights.summary(), plugin_sets)
    _print_what_if(Out(as_json, as_rao), result, as_csv=as_csv, wide=wide)


def _overrides(epoch_sets: list[str], reward: str | None) -> dict[str, Any]:
    """The epoch hyperparameters ``--set`` gives, or the usage error naming the bad one (and, without ``--reward``,
    that a plugin's option needs it)."""
    from ..replay import EPOCH_HYPERPARAMETERS, BadOverride, parse_overrides

    try:
        return parse_overrides(epoch_sets)
    except BadOverride as e:
        name = next((c.partition("=")[0].strip() for c in epoch_sets
                     if c.partition("=")[0].strip() not in EPOCH_HYPERPARAMETERS), None)
        hint = (f" (a reward model's option? give --reward PLUGIN, then --set {name}=... is its option)"
                if reward is None and name is not None and "is not a hyperparameter" in str(e) else "")
        raise typer.BadParameter(f"{e}{hint}", param_hint="--set") from None


def _note_unaligned(summary: dict[str, Any], sets: list[str]) -> None:
    """Say on stderr when recorded weights could not be reproduced from the journals' own scores: the baseline is
    then not the validators' (most often a validator ran with other options, as alpha, than those given here)."""
    missed, total = summary["weights_unaligned"], summary["weights_aligned"] + summary["weights_unaligned"]
    if not missed:
        return
    given = ", ".join(sets) or "its defaults"
    err_console.print(f"note: {missed} of {total} recorded weight settings could not be reproduced from the "
                      f"journals' own scores with the plugin's options ({given}): did the validators run with other "
                      "options (alpha, ...)? give them with --set (a launched network's hosts/*.toml lists them); "
                      "each of those used the last re-scored step before it", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _bar(what: str, quiet: bool) -> Iterator[Any]:
    """A progress bar on stderr (on a terminal, not with --json/--csv); yields its ``progress(done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
                  transient=True, auto_refresh=False, disable=quiet or not err_console.is_terminal) as bar:
        task = bar.add_task(what, total=None)
        yield _redrawn(bar, task)


def _redrawn(bar: Any, task: Any) -> Callable[[int, int], None]:
    """``progress(done, total)`` for a bar without rich's refresh thread (so that replay's workers can be forked,
    taonet.tools._pool): it redraws the bar itself, at most ten times a second however often it is called."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        redraw = now - last[0] >= 0.1 or done >= total
        if redraw:
            last[0] = now
        bar.update(task, completed=done, total=total, refresh=redraw)

    return progress


def _with_reward(w: Any, reward: str | None, sets: list[str], weights: Any) -> Any:
    """The what-if result naming the reward model and its options among its changes, with the re-scoring summary."""
    return attrs.evolve(w, changes={**w.changes, "reward": reward, **dict(c.split("=", 1) for c in sets)},
                        notes={"reward": weights.summary()})


def _journal_weights(ctx: typer.Context, reward: str, sets: list[str], journals: list[Path], netuid: int) -> Any:
    from taonet.plugins import load_plugin

    from ..replay import JournalWeights, NoJournal, find_journals

    bad = [s for s in sets if "=" not in s]
    if bad:
        raise typer.BadParameter(f"{bad[0]!r} is not NAME=VALUE", param_hint="--set")
    # what the plugin prints (a print() in its reward while its author debugs it) goes to stderr: stdout is the
    # command's own output (its --json object, its CSV), as in `taonet subnet plugins`
    with contextlib.redirect_stdout(sys.stderr):
        plugin = load_plugin(reward)
        options = plugin.options(dict(s.split("=", 1) for s in sets))
        found = find_journals(_dir(ctx), netuid, journals)
        if not found:
            raise NoJournal(path=", ".join(map(str, journals)) or str(_dir(ctx)), netuid=netuid)
        return JournalWeights(plugin, options, found, netuid)


def _print_what_if(out: Any, w: Any, *, as_csv: bool, wide: bool) -> None:
    from ._common import short_address

    if out.json:
        out.emit(w.as_dict())
        return
    if as_csv:
        import csv
        import sys

        rows = [r for e in w.epochs for r in e.rows()]
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["block", "uid"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    changed = ", ".join(f"{k}={v}" for k, v in w.changes.items()) or "nothing changed"
    t = w.totals()
    out.line(f"subnet {w.netuid}: {counted(t['epochs'], 'epoch')} of blocks {w.start}..{w.stop} re-run")
    out.line(f"with {changed}")
    if "reward" in w.notes:
        r = w.notes["reward"]
        replaced = r['weights_aligned'] + r['weights_unaligned']
        out.line(f"{counted(r['steps'], 'journal step')} of {counted(r['journals'], 'validator')} re-scored; "
                 f"{counted(replaced, 'weight setting')} replaced ({r['weights_unchanged']} by the same weights)")
    if not w.epochs:
        return

    def pair(a: float, b: float) -> str:
        return f"{a:.4f}" if a == b else f"{a:.4f}→{b:.4f}"

    out.table("per UID and hotkey (incentive, dividends: mean; emission: sum)",
              ("UID", "HOTKEY", "INCENTIVE", "DIVIDENDS", "RECORDED", "WHAT-IF", "CHANGE"),
              [(str(n["uid"]), n["hotkey"], pair(n["incentive"], n["incentive_whatif"]),
                pair(n["dividends"], n["dividends_whatif"]), out.figure(n["emission"]),
                out.figure(n["emission_whatif"]), _signed(out, n["change"], cell=True)) for n in w.neurons()],
              left=("HOTKEY",), shorten=("HOTKEY",), drop=("HOTKEY", "DIVIDENDS", "INCENTIVE"), wide=wide,
              amounts=("RECORDED", "WHAT-IF", "CHANGE"))
    out.line(f"paid to neurons: recorded {out.amount(t['emission'])}, what-if {out.amount(t['emission_whatif'])}")
    out.line(f"owner cut {out.amount(t['owner_cut'])}; moved between neurons {out.amount(t['moved'])}")
    movers = w.movers()
    if not movers:
        out.line("identical to the recorded epochs, to the RAO" if w.identical() else
                 "every neuron is paid the same (other outputs differ)")
        return
    out.line("largest movers:")
    for m in movers:
        out.line(f"  UID {m['uid']} ({short_address(m['hotkey'])}): {out.amount(m['emission'])} -> "
                 f"{out.amount(m['emission_whatif'])} ({_signed(out, m['change'])})")


def _signed(out: Any, rao: int, *, cell: bool = False) -> str:
    sign = "+" if rao > 0 else "-" if rao < 0 else ""
    if 0 < abs(rao) < 100_000 and not out.rao:  # too small for 4 places of τ
        return f"{sign}{abs(rao):,} RAO"
    return sign + (out.figure(abs(rao)) if cell else out.amount(abs(rao)))


@replay_app.command("journal")
def journal_cmd(ctx: typer.Context,
                netuid: Subnet,
                start: Annotated[int, typer.Option("--from", min=0, help="The first block of the steps listed.")] = 0,
                stop: Annotated[int | None, typer.Option("--to", min=0, help="The last block of the steps listed "
                                                         "(default: the journals' end).")] = None,
                uid: Annotated[int | None, typer.Option("--uid", min=0, max=U16_MAX, help="List this UID's answers "
                                                        "step by step, beside each task's truth.")] = None,
                journals: Annotated[list[Path], typer.Option("--journal", metavar="PATH", help="As what-if "
                                    "--journal (default: every journal/ under DIR).")] = [],  # noqa: B006
                wide: Wide = False, as_json: AsJson = False) -> None:
    """What the subnet's validators journaled: per miner, how often it was asked and answered, its mean score and
    latency; with --uid, each of its answers beside the task's truth (the chain shows what a miner was paid, the
    journal why)."""
    from ..replay import NoJournal, find_journals, view_journals
    from ._common import Out, short_address

    if stop is not None and stop < start:
        raise typer.BadParameter(f"--to {stop} is before --from {start}", param_hint="--to")
    found = find_journals(_dir(ctx), netuid, journals)
    if not found:
        raise NoJournal(path=", ".join(map(str, journals)) or str(_dir(ctx)), netuid=netuid)
    views = view_journals(found, start=start, stop=stop, uid=uid)
    out = Out(as_json)
    if out.json:
        out.emit({"netuid": netuid, "from": start, "to": stop, "uid": uid, "validators": [v.as_dict() for v in views]})
        return
    for v in views:  # the blocks its steps were in (with none: the range asked for; "block 0 on" with no --to)
        span = (f"blocks {v.blocks[0]}..{v.blocks[1]}" if v.blocks is not None else
                f"blocks {start}..{stop}" if stop is not None else f"block {start} on")
        out.line(f"validator {v.hotkey}: {counted(v.steps, 'step')} journaled in {span} ({v.folder})")
        if uid is None:
            out.table(f"what validator {short_address(v.hotkey)} saw of each miner (score: mean of its step scores; "
                      "latency: of answered calls, - if none)",
                      ("UID", "HOTKEY", "ASKED", "ANSWERED", "SCORE", "LATENCY", "STATUSES"),
                      [(str(m.uid), m.hotkey, str(m.asked), str(m.answered), f"{m.mean_score:.4f}",
                        f"{m.mean_latency:.3f} s" if m.answered else "-",
                        " ".join(f"{k}x{n}" for k, n in sorted(m.statuses.items())))
                       for m in v.miners], left=("HOTKEY", "STATUSES"), shorten=("HOTKEY",), drop=("HOTKEY",),
                      wide=wide)
            continue
        dropped = f" (the {v.uid_steps_dropped:,} older ones not listed)" if v.uid_steps_dropped else ""
        head = ("STEP", "BLOCK", "STATUS", "LATENCY", "SCORE")
        fixed = [(str(t.step), str(t.block), str(t.status), f"{t.latency:.3f} s",
                  "-" if t.score is None else f"{t.score:.4f}") for t in v.uid_steps]
        # the numbers keep their width; the truth and the answer share what is left of the line (whole with --wide)
        used = sum(max(len(h), *(len(r[i]) for r in fixed)) + 2 for i, h in enumerate(head)) + 4 if fixed else 0
        room = None if wide else max(10, (out.console.width - used) // 2)
        out.table(f"UID {uid}'s answers to validator {short_address(v.hotkey)}{dropped}", (*head, "TRUTH", "ANSWER"),
                  [(*r, _cell(t.truth, room), _cell(t.data, room)) for r, t in zip(fixed, v.uid_steps, strict=True)],
                  left=("TRUTH", "ANSWER"), wide=wide)


def _cell(value: Any, room: int | None) -> str:
    """A journaled value in a table cell: JSON-like, cut to ``room`` characters (None: whole; ``--json`` has it
    whole)."""
    from ..replay import plain_value

    text = json.dumps(plain_value(value), default=repr) if value is not None else "-"
    return printable(text if room is None or len(text) <= room else text[:room - 1] + "…")


@replay_app.command("why")
def why_cmd(ctx: typer.Context,
            netuid: Subnet,
            uid: Annotated[int | None, typer.Option("--uid", min=0, max=U16_MAX,
                                                    help="The UID (the story of each hotkey that held it).")] = None,
            hotkey: Annotated[str | None, typer.Option("--hotkey", help="The hotkey (SS58) instead of a UID.")] = None,
            start: Annotated[int, typer.Option("--from", min=0, help="The first block read.")] = 0,
            stop: To = None,
            workers: Annotated[int | None, typer.Option("--workers", min=1, help="Processes folding the states "
                               "before its prunings when it lost a UID more than once (default: one per core).")
                               ] = None,
            wide: Wide = False, as_rao: Rao = False, as_json: AsJson = False) -> None:
    """One neuron's story: how and when it registered and for what price, immune through which block, the weights
    it received per epoch and from whom, what it earned, and — if it lost its UID — who replaced it, why it was the
    one, and what it would have taken to keep it."""
    from taonet.ledger import ss58_decode

    from ..replay import neuron_story
    from ._common import Out

    if (uid is None) == (hotkey is None):
        raise typer.BadParameter("give one of --uid U or --hotkey SS58", param_hint="--uid")
    key = None if hotkey is None else ss58_decode(hotkey)
    with _log(ctx) as store:
        last = _last(store, start, stop)
        tenures = neuron_story(store, netuid, uid=uid, hotkey=key, start=start, stop=last,
                               workers=workers or os.cpu_count() or 1)
    out = Out(as_json, as_rao)
    if out.json:
        out.emit({"netuid": netuid, "from": start, "to": last, "tenures": [t.as_dict() for t in tenures]})
        return
    for t in tenures:
        _print_tenure(out, t, wide=wide)


def _print_tenure(out: Any, t: Any, *, wide: bool) -> None:
    import textwrap

    from ._common import short_address

    d = t.as_dict()
    out.line(f"[bold]{escaped(d['hotkey'])}[/bold] at UID {t.uid} of subnet {t.netuid}", markup=True)
    out.line(f"  coldkey {d['coldkey']}")
    how = {"burn": "by burn", "pow": "by proof of work", "owner": "as the subnet's owner (never pruned)"}.get(
        t.method or "", "")
    paid = (f", paid {out.amount(t.paid)}" if t.paid is not None and t.method == "burn" else
            f", locking {out.amount(t.paid)}" if t.paid is not None and t.method == "owner" else "")
    asked = f" (asked in block {t.requested_at})" if t.requested_at is not None else ""
    out.line(f"  registered in block {t.registered_at} {how}{paid}{asked}".rstrip())
    width = max(40, out.console.width)
    if t.method != "owner":
        out.line(textwrap.fill(_immunity_line(t), width=width, initial_indent="  ", subsequent_indent="    "))
    if t.epochs:
        def from_whom(e: dict[str, Any]) -> str:
            ws = [f"{w['uid']}:{w['share']:.2f}" + ("" if w["counted"] else "*") for w in e["weights"]]
            return " ".join(ws) or "-"

        out.table(f"  {counted(len(t.epochs), 'epoch')} (weights from UID:share; * not counted)",
                  ("BLOCK", "INCENTIVE", "DIVIDENDS", "EMISSION", "WEIGHTS FROM"),
                  [(str(e["block"]), f"{e['incentive'] / 65535:.4f}", f"{e['dividends'] / 65535:.4f}",
                    out.figure(e["emission"]), from_whom(e)) for e in t.epochs],
                  left=("WEIGHTS FROM",), drop=("DIVIDENDS",), wide=wide, amounts=("EMISSION",))
        out.line(f"  earned {out.amount(sum(e['emission'] for e in t.epochs))} in these epochs")
    if t.replaced_at is None:
        out.line("  still holds its UID at the end of the range")
        out.line("")
        return
    p = t.pruning
    out.line(f"  lost UID {t.uid} in block {t.replaced_at} to {d['replaced_by']}")
    out.line(textwrap.fill(f"why: {p['reason']}", width=width, initial_indent="  ", subsequent_indent="    "))
    if not p["registrar_agrees"]:
        out.line("  [red]the registrar's rule, re-run on the state before, gives this UID to nobody[/red]", markup=True)
    places = _telling_places([c["emission"] for c in p["candidates"]])
    out.table(f"  the pruning rule at block {p['block']} (immunity period {p['immunity_period']})",
              ("", "UID", "HOTKEY", "EMISSION", "REGISTERED", "IMMUNE THROUGH"),
              [("→" if c["uid"] == t.uid else "", str(c["uid"]), short_address(c["hotkey"]),
                out.figure(c["emission"], places), str(c["registered_at"]),
                (str(c["immune_through"]) if p["immunity_period"] else "-") + (" (immune)" if c["immune"] else ""))
               for c in p["candidates"]], left=("", "HOTKEY"), wide=wide, amounts=("EMISSION",))
    out.line("")


def _immunity_line(t: Any) -> str:
    """The tenure's immunity for people: the last block it was immune in, the period, and the period's changes
    while it held the UID."""
    if t.immunity_period == 0:
        text = "never immune (immunity period 0"
    else:
        text = f"immune through block {t.immune_until - 1} (immunity period {t.immunity_period}"
    if not t.immunity_changes:
        return text + ")"
    when = "at its pruning" if t.pruning is not None else "at the end of the range"
    changes = ", ".join(f"{c['from']} → {c['to']} in block {c['block']}" for c in t.immunity_changes)
    return f"{text} {when}; the period changed while it held the UID: {changes})"


def _telling_places(values: list[int], places: int = 4) -> int:
    """The fewest decimal places, from ``places`` up to 9 (the RAO), at which no two neighbouring values that differ
    print the same in τ: a near-tie that decided a pruning shows as one."""
    import itertools

    from ._common import tao

    for p in range(places, 10):
        if all(a == b or tao(a, False, p) != tao(b, False, p) for a, b in itertools.pairwise(values)):
            return p
    return 9


@replay_app.command("plot")
def plot_cmd(ctx: typer.Context,
             netuid: Subnet,
             start: From = 0,
             stop: To = None,
             out_dir: Annotated[Path, typer.Option("--out", metavar="DIR", help="Where the PNG files go.")
                                ] = Path("plots"),
             block: Annotated[int | None, typer.Option("--block", "-b", min=0, help="The block of the weight and "
                                                       "bond heat "
                                                       "maps (the range's last epoch by default).")] = None,
             changes: SetOpt = [],  # noqa: B006
             reward: Annotated[str | None, typer.Option("--reward", metavar="PLUGIN", help="As what-if --reward: "
                               "draw that what-if beside the recorded run.")] = None,
             journals: Annotated[list[Path], typer.Option("--journal", metavar="PATH", help="As what-if --journal.")
                                 ] = [],  # noqa: B006
             workers: Annotated[int | None, typer.Option("--workers", min=1, help="As what-if --workers.")] = None,
             no_cache: Annotated[bool, typer.Option("--no-cache", help="As what-if --no-cache.")] = False,
             as_json: AsJson = False) -> None:
    """PNG charts (needs `pip install 'taonet\\[plot]'`): incentive, dividends, emission and stake per UID over the
    epochs, the weight and bond matrices at a block, and with --set (or --reward) a what-if beside the recorded run."""
    from ..replay import (
        EPOCH_HYPERPARAMETERS,
        PARALLEL_FROM,
        EpochCache,
        check_plotting,
        default_cache_dir,
        what_if,
        write_plots,
    )
    from ._common import Out

    check_plotting()  # a clear line before any work when matplotlib is missing
    if out_dir.exists() and not out_dir.is_dir():
        raise typer.BadParameter(f"{out_dir} is a file: give a directory for the PNG files", param_hint="--out")
    epoch_sets = [c for c in changes if not reward or c.partition("=")[0].strip() in EPOCH_HYPERPARAMETERS]
    plugin_sets = [c for c in changes if c not in epoch_sets]
    overrides = _overrides(epoch_sets, reward)
    weights = _journal_weights(ctx, reward, plugin_sets, journals, netuid) if reward is not None else None
    with _log(ctx) as store:
        last = _last(store, start, stop)
        if workers is None:
            workers = (os.cpu_count() or 1) if last - start >= PARALLEL_FROM else 1
        cache = None if no_cache else EpochCache(default_cache_dir())
        w = None
        if overrides or weights is not None:
            w = what_if(store, netuid, overrides, start=start, stop=last, weights=weights, workers=workers,
                        cache=cache)
            if reward is not None:
                w = _with_reward(w, reward, plugin_sets, weights)
                _note_unaligned(weights.summary(), plugin_sets)
        notes: list[str] = []
        files = write_plots(out_dir, store, netuid, start, last, block=block, whatif=w, workers=workers, cache=cache,
                            notes=notes)
    out = Out(as_json)
    if out.json:
        out.emit({"netuid": netuid, "from": start, "to": last, "files": [str(f) for f in files], "notes": notes})
        return
    for f in files:
        out.line(str(f))
    for note in notes:  # a chart not drawn: said, not silently left out
        err_console.print(f"note: {note}", highlight=False, soft_wrap=True)
