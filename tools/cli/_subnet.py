"""`taonet subnet ...` (and `taonet metagraph`): reading subnets as btcli shows them, and the owner's and a neuron's
writes on them (create, set, register, pow-register)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from .._words import counted
from ._common import (
    MAX_TIMEOUT,
    U64_MAX,
    AsJson,
    Endpoint,
    Hotkey,
    Netuid,
    NetuidArg,
    NoPrompt,
    Out,
    PasswordStdin,
    Rao,
    ReadTimeout,
    WalletName,
    WalletPath,
    Wide,
    WriteTimeout,
    confirm,
    netuid_of,
    run,
    unlock_coldkey,
    wallet_of,
)
from ._neurontable import DROP_ORDER, columns, neuron_json, neuron_row
from ._numbers import bounded

subnet_app = typer.Typer(
    help="Subnets: list, show, hyperparameters, create and set (owners), register (neurons), metagraph.\n\n"
         "Example: taonet subnet metagraph --netuid 1",
    no_args_is_help=True)

IDENTITY_TEXT_MAX = 256
"""The longest description or URL a subnet identity holds (the chain's limit)."""

Block = Annotated[int | None, typer.Option("--block", min=0, max=U64_MAX, metavar="BLOCK",
                                           help="A past block (the head by default).")]


@subnet_app.command("list")
def subnet_list(endpoint: Endpoint = None, as_json: AsJson = False, as_rao: Rao = False, wide: Wide = False,
                timeout: ReadTimeout = 10.0) -> None:
    """Every subnet: NETUID NEURONS MAX_N DIFFICULTY TEMPO EMISSION BURN (emission: τ per block)."""
    out = Out(as_json, as_rao)

    async def read(sub: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return await sub.call("subnets"), await sub.info()

    subnets, info = run(read, endpoint, timeout, "subnet list")
    per_block = int(info.get("block_emission") or 0) // max(1, len(subnets))
    for s in subnets:
        s["emission"] = per_block  # every subnet gets an equal share of each block's emission
    if out.json:
        out.emit(subnets)  # a list, as it always was
        return
    out.table(f"subnets at block {info['head']}", ("NETUID", "NEURONS", "MAX_N", "DIFFICULTY", "TEMPO", "EMISSION",
                                                   "BURN"),
              [(str(s["netuid"]), str(s["n"]), str(s["max_n"]), f"{s['difficulty']:,}", str(s["tempo"]),
                out.figure(s["emission"]), out.figure(s["burn"])) for s in subnets], wide=wide,
              amounts=("EMISSION", "BURN"))


def show_rows(out: Out, info: dict[str, Any]) -> list[tuple[str, str]]:
    """The NAME/VALUE rows of `subnet show` (more rows, such as a subnet's identity, go at the end)."""
    from taonet.ledger import ss58_encode

    return [("netuid", str(info["netuid"])), ("owner", ss58_encode(info["owner"])),
            ("owner hotkey", ss58_encode(info["owner_hotkey"])), ("created at block", str(info["created_at"])),
            ("lock", out.amount(info["lock"])), ("neurons", f"{info['n']} of {info['max_n']}"),
            ("tempo", str(info["tempo"])), ("last epoch", str(info["last_epoch"])),
            ("pending emission", out.amount(info["pending_emission"])), ("burn", out.amount(info["burn"])),
            ("difficulty", f"{info['difficulty']:,}")]


@subnet_app.command("show")
def subnet_show(netuid_arg: NetuidArg = None, netuid: Netuid = None, endpoint: Endpoint = None,
                block: Block = None, as_json: AsJson = False, as_rao: Rao = False, wide: Wide = False,
                timeout: ReadTimeout = 10.0) -> None:
    """One subnet: owner, size, tempo, lock, burn, difficulty, pending emission, and the plugin it runs."""
    out, n = Out(as_json, as_rao), netuid_of(netuid_arg, netuid)
    async def read(sub: Any) -> dict[str, Any]:
        info = await sub.get_subnet_info(n, block)
        info["identity"] = await sub.get_subnet_identity(n, block)
        return info

    info = run(read, endpoint, timeout, "subnet show")
    if out.json:
        out.emit(info)
        return
    rows = show_rows(out, info)
    ident = info["identity"]
    if ident is None:
        rows.append(("plugin", "(none recorded)"))
    else:
        rows += [("plugin", ident["plugin"] or "(none recorded)"), ("description", ident["description"]),
                 ("url", ident["url"])]
    out.table(f"subnet {n}", ("NAME", "VALUE"), rows, left=("NAME", "VALUE"), wide=wide)


@subnet_app.command("hyperparameters")
def subnet_hyperparameters(netuid_arg: NetuidArg = None, netuid: Netuid = None, endpoint: Endpoint = None,
                           as_json: AsJson = False, wide: Wide = False, timeout: ReadTimeout = 10.0) -> None:
    """A subnet's hyperparameters by name, with the bounds its owner may set them within."""
    from taonet.ledger import HYPERPARAMETER_BOUNDS

    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    hp = run(lambda sub: sub.get_subnet_hyperparameters(n), endpoint, timeout, "subnet hyperparameters")
    if out.json:
        out.emit(hp)
        return
    out.table(f"subnet {n} hyperparameters", ("NAME", "VALUE", "BOUNDS"),
              [(name, str(int(v) if isinstance(v, bool) else v), "[{:,}, {:,}]".format(*HYPERPARAMETER_BOUNDS[name]))
               for name, v in hp.items()], left=("NAME",), wide=wide)


subnet_app.command("hparams", hidden=True, help="Alias of hyperparameters.")(subnet_hyperparameters)


@subnet_app.command("set")
def subnet_set(param: Annotated[str, typer.Option("--param", metavar="NAME", help="The hyperparameter's name.")],
               value: Annotated[str, typer.Option("--value", metavar="VALUE", help="An integer (true/false too).")],
               netuid_arg: NetuidArg = None, netuid: Netuid = None, wallet_name: WalletName = None,
               wallet_path: WalletPath = None, endpoint: Endpoint = None, no_prompt: NoPrompt = False,
               password_stdin: PasswordStdin = False, as_json: AsJson = False, timeout: WriteTimeout = 60.0) -> None:
    """Set a hyperparameter of a subnet your coldkey owns (refused with its bounds if out of them)."""
    import anyio

    from taonet.ledger import HYPERPARAMETER_BOUNDS
    from taonet.ledger.errors import InvalidHyperparameter, TaonetError

    out, n = Out(as_json), netuid_of(netuid_arg, netuid)
    if param not in HYPERPARAMETER_BOUNDS:
        raise typer.BadParameter(f"no hyperparameter {param!r}; the names are {', '.join(HYPERPARAMETER_BOUNDS)}",
                                 param_hint="--param")
    number = {"true": 1, "false": 0}.get(value.lower())
    if number is None:
        try:
            number = int(value.replace("_", "").replace(",", ""))
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not an integer", param_hint="--value") from None
    lo, hi = HYPERPARAMETER_BOUNDS[param]
    if not lo <= number <= hi:
        raise InvalidHyperparameter(name=param, reason=f"{number:,} is outside its bounds [{lo:,}, {hi:,}]: give a "
                                                       f"value within them (taonet subnet hparams {n} lists them all)")
    w = wallet_of(wallet_name, None, wallet_path)
    confirm(f"Set {param} = {number} on subnet {n}?", no_prompt, out)
    unlock_coldkey(w, password_stdin)

    async def write(sub: Any) -> tuple[Any, str | None]:
        with out.status("waiting for inclusion"):
            result = await sub.set_hyperparameter(w, n, param, number)
        if not result.success or param not in _REVEAL_PARAMS:
            return result, None
        with anyio.move_on_after(2):  # a note only: the write's own line is not held up for it, nor made an error
            try:
                return result, reveal_rate_note(await sub.get_subnet_hyperparameters(n))
            except TaonetError:
                pass
        return result, None

    result, note = run(write, endpoint, timeout, "subnet set", write=True,
                       check=f"taonet subnet hyperparameters {n}")
    out.wrote(result, f"subnet {n}: {param} = {number}", **({"note": note} if note else {}))
    if note and not out.json:
        out.err.print(f"note: {note}", highlight=False, soft_wrap=True)


_REVEAL_PARAMS = frozenset({"weights_rate_limit", "tempo", "commit_reveal_weights_enabled"})


def reveal_rate_note(hp: dict[str, Any]) -> str | None:
    """What to tell an owner whose commit-reveal subnet rate-limits weights for longer than an epoch interval: a
    reveal sets weights, so it is refused until ``weights_rate_limit`` blocks have passed since the last ones, and a
    commit made in the interval after a reveal may see its window close first (None: no such trap)."""
    limit, span = int(hp["weights_rate_limit"]), int(hp["tempo"]) + 1
    if not hp.get("commit_reveal_weights_enabled") or limit <= span:
        return None
    return (f"weights_rate_limit ({limit:,} blocks) is longer than an epoch interval (tempo + 1 = {span:,} blocks) "
            f"on this commit-reveal subnet: a reveal sets weights, so it is refused until {limit:,} blocks have "
            f"passed since the hotkey's last weights, and a commit made in the interval after a reveal can have its "
            f"window close unrevealed; validators should commit at most once every {-(-limit // span)} intervals, "
            f"or set weights_rate_limit to at most {span:,}")


def created_netuid(result: Any) -> int | None:
    """The netuid a create_subnet result's SubnetCreated event names."""
    return next((e.netuid for e in result.events if getattr(e, "TAG", "") == "ev.subnet_created"), None)


@subnet_app.command("create")
def subnet_create(wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                  plugin: Annotated[str | None, typer.Option(
                      "--plugin", metavar="NAME", help="The subnet plugin it runs (see `taonet subnet plugins`), "
                                                       "recorded on the chain as its identity.")] = None,
                  description: Annotated[str | None, typer.Option(
                      help="With --plugin: a description (default: the plugin's own).")] = None,
                  url: Annotated[str, typer.Option(help="With --plugin: a URL for the subnet.")] = "",
                  endpoint: Endpoint = None, no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False,
                  as_json: AsJson = False, as_rao: Rao = False, timeout: WriteTimeout = 60.0) -> None:
    """Create a subnet: your coldkey pays the lock and owns it; your hotkey takes UID 0; --plugin records which
    subnet plugin it runs (its neurons refuse to start with another).

    Example: taonet subnet create -w owner -H default --plugin template"""
    out = Out(as_json, as_rao)
    if plugin is None and (description is not None or url):
        raise typer.BadParameter("a description or URL is part of a plugin's identity: give --plugin NAME too",
                                 param_hint="--description" if description is not None else "--url")
    for option, text in (("--description", description or ""), ("--url", url)):
        if len(text) > IDENTITY_TEXT_MAX:  # the chain refuses it, after the lock was paid
            raise typer.BadParameter(f"is {len(text):,} characters; the chain takes at most {IDENTITY_TEXT_MAX}",
                                     param_hint=option)
    if plugin is not None:  # an unknown or broken plugin is refused before any money moves
        from taonet.plugins import load_plugin

        loaded = load_plugin(plugin)
        description = loaded.protocol.description if description is None else description
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    cost = run(lambda sub: sub.get_subnet_burn_cost(), endpoint, timeout, "subnet create", out=out)
    confirm(f"Create a subnet for a lock of {out.amount(cost.rao)}?", no_prompt, out)
    unlock_coldkey(w, password_stdin)  # kept unlocked in the Wallet for the write

    async def write(sub: Any) -> tuple[Any, Any]:
        with out.status("waiting for inclusion"):
            created = await sub.create_subnet(w, max_lock=cost.rao)
            netuid = created_netuid(created)
            if plugin is None or netuid is None:
                return created, None
            return created, await sub.set_subnet_identity(w, netuid, plugin, description=description or "", url=url)

    result, identity = run(write, endpoint, timeout, "subnet create", out=out, write=True,
                           check="taonet subnet list")
    netuid = created_netuid(result)
    if identity is not None and not identity.success:  # the subnet exists; only its identity is missing
        from ..errors import describe
        from ._errors import IdentityNotRecorded

        reason = describe(identity.error) if identity.error is not None else identity.status
        raise IdentityNotRecorded(netuid=netuid or -1, plugin=str(plugin), reason=reason)
    runs = f" running plugin {plugin}" if identity is not None else ""
    out.wrote(result, f"created subnet {netuid}{runs} (hotkey {hot.ss58_address} at UID 0)",
              f"locked {out.amount(cost.rao)}", netuid=netuid, **({"plugin": plugin} if identity is not None else {}))


@subnet_app.command("burn-cost")
def subnet_burn_cost(endpoint: Endpoint = None, as_json: AsJson = False, as_rao: Rao = False,
                     timeout: ReadTimeout = 10.0) -> None:
    """What creating a subnet locks now (it doubles after each creation and decays over time)."""
    out = Out(as_json, as_rao)
    cost = run(lambda sub: sub.get_subnet_burn_cost(), endpoint, timeout, "subnet burn-cost")
    if out.json:
        out.emit({"burn_cost": cost.rao})
    else:
        out.line(f"creating a subnet locks {out.amount(cost.rao)}")


def _check_open(kind: str, netuid: int, hyper: dict[str, Any]) -> None:
    """Refuse, before any τ is burned or any proof of work solved, a registration the subnet's owner has closed (the
    chain would refuse it after; a proof of work may take minutes)."""
    from taonet.ledger.errors import RegistrationClosed

    if not hyper.get("registration_allowed", 1):
        raise RegistrationClosed(netuid=netuid, reason="the owner has disabled registration; register on another "
                                                       "subnet (taonet subnet list), or ask its owner to open it")
    if kind == "pow-register" and not hyper.get("pow_registration_allowed", 1):
        raise RegistrationClosed(netuid=netuid, reason="proof-of-work registration is disabled; register by burning "
                                                       f"instead (taonet subnet register {netuid})")


def _register(kind: str, netuid: int, wallet_name: str | None, hotkey: str | None, wallet_path: str | None,
              endpoint: str | None, no_prompt: bool, password_stdin: bool, out: Out, timeout: float,
              processes: int = 1) -> None:
    w = wallet_of(wallet_name, hotkey, wallet_path)
    hot = w.get_hotkey()
    info = run(lambda sub: sub.get_subnet_info(netuid), endpoint, timeout, f"subnet {kind}", out=out)
    _check_open(kind, netuid, info.get("hyperparameters") or {})
    price = (f"burning {out.amount(info['burn'])}" if kind == "register"
             else f"by proof of work (difficulty {info['difficulty']:,})")
    confirm(f"Register hotkey {hot.ss58_address} on subnet {netuid} {price}?", no_prompt, out)
    unlock_coldkey(w, password_stdin)  # kept unlocked in the Wallet for the write

    async def write(sub: Any) -> Any:
        if kind == "register":
            with out.status("waiting for inclusion and the registrar's UID"):
                return await sub.burned_register(w, netuid, max_burn=info["burn"] * 2)
        from ._pow import progress_bar

        with progress_bar(out, info["difficulty"]) as tick:
            return await sub.register(w, netuid, progress=tick, processes=processes)

    result = run(write, endpoint, timeout, f"subnet {kind}", out=out, write=True,
                 check=f"taonet wallet overview -w {w.name} --netuid {netuid}")
    if result.success and result.uid is None:  # included, but the registrar's answer was not seen in the next block
        out.wrote(result, f"registration of {hot.ss58_address} on subnet {netuid} requested",
                  "the registrar gives its UID in a coming block (taonet wallet overview shows it)", netuid=netuid)
        return
    replaced = replaced_hotkey(result)
    said = f"registered {hot.ss58_address} on subnet {netuid} as UID {result.uid}"
    if replaced is None:
        out.wrote(result, said, netuid=netuid)
    else:  # the subnet was full: the registrar pruned a neuron for this one
        out.wrote(result, f"{said}, replacing {replaced} (pruned)", netuid=netuid, replaced=replaced)


def replaced_hotkey(result: Any) -> str | None:
    """The hotkey a registration's NeuronReplaced event says was pruned to free its UID (None: a free UID)."""
    from taonet.ledger import ss58_encode

    old = next((e.old_hotkey for e in result.events if getattr(e, "TAG", "") == "ev.neuron_replaced"), None)
    return None if old is None else ss58_encode(old)


@subnet_app.command("register")
def subnet_register(netuid_arg: NetuidArg = None, netuid: Netuid = None, wallet_name: WalletName = None,
                    hotkey: Hotkey = None, wallet_path: WalletPath = None, endpoint: Endpoint = None,
                    no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False, as_json: AsJson = False,
                    as_rao: Rao = False, timeout: WriteTimeout = 60.0) -> None:
    """Register your hotkey on a subnet by burning the current price; says its UID."""
    _register("register", netuid_of(netuid_arg, netuid), wallet_name, hotkey, wallet_path, endpoint, no_prompt,
              password_stdin, Out(as_json, as_rao), timeout)


@subnet_app.command("pow-register")
def subnet_pow_register(netuid_arg: NetuidArg = None, netuid: Netuid = None, wallet_name: WalletName = None,
                        hotkey: Hotkey = None, wallet_path: WalletPath = None, endpoint: Endpoint = None,
                        processes: Annotated[int, typer.Option("--processes", min=1, max=256, help="Processes "
                                                               "solving the proof of work.")] = 1,
                        no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False, as_json: AsJson = False,
                        timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=MAX_TIMEOUT,
                                                               envvar="TAONET_TIMEOUT",
                                                               parser=bounded(0.1, MAX_TIMEOUT),
                                                               help="Seconds the whole command may take, solving "
                                                                    "included.")] = 600.0) -> None:
    """Register your hotkey on a subnet by proof of work, with a progress bar (on stderr)."""
    _register("pow-register", netuid_of(netuid_arg, netuid), wallet_name, hotkey, wallet_path, endpoint, no_prompt,
              password_stdin, Out(as_json), timeout, processes)


@subnet_app.command("metagraph")
def metagraph_cmd(netuid_arg: NetuidArg = None, netuid: Netuid = None, endpoint: Endpoint = None,
                  block: Block = None, wide: Wide = False, as_json: AsJson = False, as_rao: Rao = False,
                  timeout: ReadTimeout = 10.0) -> None:
    """Every neuron of a subnet: stake, rank, trust, consensus, incentive, dividends, emission, axon."""
    out, n = Out(as_json, as_rao), netuid_of(netuid_arg, netuid)

    async def read(sub: Any) -> tuple[Any, dict[str, Any]]:
        with out.status(f"reading subnet {n}"):
            neurons = await sub.neurons_lite(n, block)
            return neurons, await sub.get_subnet_info(n, neurons[0].block if neurons else block)

    neurons, info = run(read, endpoint, timeout, "metagraph")
    at = neurons[0].block if neurons else block
    if out.json:
        out.emit(metagraph_json(n, at, neurons, info))
        return
    print_metagraph(out, n, at, neurons, wide=wide, info=info)


def immunity(neurons: Sequence[Any], block: int | None, info: dict[str, Any]) -> list[dict[str, Any]]:
    """Per neuron, whether the pruning rule still counts it immune at ``block`` (the subnet's owner: always, and
    never pruned): ``owner``, ``immune``, ``immune_until`` (the first block the rule counts it past its immunity
    period, registered_at + immunity_period; None for the owner)."""
    from taonet.ledger import ss58_encode

    period, owner = info["hyperparameters"]["immunity_period"], ss58_encode(info["owner_hotkey"])
    out = []
    for x in neurons:
        until = None if x.hotkey == owner else x.block_at_registration + period
        out.append({"owner": until is None, "immune": until is None or (block or 0) < until, "immune_until": until})
    return out


def prune_next(neurons: Sequence[Any], block: int | None, info: dict[str, Any]) -> int | None:
    """The UID a registration answered in the block after ``block`` would replace (the registrar's pruning rule,
    ``taonet.ledger.next_to_prune``); None while the subnet has a free UID (a registration takes that)."""
    from taonet.ledger import next_to_prune, ss58_encode

    if int(info["n"]) < int(info["max_n"]):
        return None
    owner = ss58_encode(info["owner_hotkey"])
    return next_to_prune(((x.uid, x.emission.rao, x.block_at_registration, x.hotkey == owner) for x in neurons),
                         (block or 0) + 1, int(info["hyperparameters"]["immunity_period"]))


def metagraph_json(netuid: int, block: int | None, neurons: Sequence[Any],
                   info: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `subnet metagraph --json` prints for ``neurons`` (NeuronInfo, as ``neurons_lite`` gives them);
    `replay show` prints the same. With the subnet's ``info`` (``get_subnet_info``): its ``immunity_period``, the UID
    a registration would replace (``prune_next``, :func:`prune_next`) and each neuron's standing (:func:`immunity`)."""
    doc: dict[str, Any] = {"netuid": netuid, "block": block, "neurons": [neuron_json(x) for x in neurons]}
    if info is not None:
        doc["immunity_period"] = info["hyperparameters"]["immunity_period"]
        doc["prune_next"] = prune_next(neurons, block, info)
        for x, more in zip(doc["neurons"], immunity(neurons, block, info), strict=True):
            x.update(more)
    return doc


def print_metagraph(out: Out, netuid: int, block: int | None, neurons: Sequence[Any], *, wide: bool = False,
                    info: dict[str, Any] | None = None) -> None:
    """The table of `subnet metagraph` (and of `replay show`): btcli's columns, chosen to fit the terminal; with the
    subnet's ``info``, each neuron's registration block and the blocks it stays immune (:func:`immunity`), and a line
    under it naming the UID a registration would replace in a full subnet."""
    standing = None if info is None else immunity(neurons, block, info)
    rows = [neuron_row(out, x, x.coldkey, "") for x in neurons]
    cols = [c for c in columns(out) if c != "HOTKEY"]
    rows = [r[:1] + r[2:] for r in rows]
    drop: tuple[str, ...] = DROP_ORDER
    if standing is not None:
        cols = [*cols[:2], "REGISTERED", "IMMUNE", *cols[2:]]
        rows = [[*r[:2], str(x.block_at_registration), _immune_cell(s, block), *r[2:]]
                for r, x, s in zip(rows, neurons, standing, strict=True)]
        # both go before COLDKEY, which an 80-column terminal never has room for: the table there is as it was
        i, j = DROP_ORDER.index("UPDATED"), DROP_ORDER.index("COLDKEY")
        drop = (*DROP_ORDER[:i], "REGISTERED", *DROP_ORDER[i:j], "IMMUNE", *DROP_ORDER[j:])
    total = sum(x.stake.rao for x in neurons)
    out.table(f"metagraph of subnet {netuid} at block {block}: {counted(len(neurons), 'neuron')}, stake "
              f"{out.amount(total)}",
              cols, rows, left=("COLDKEY", "AXON", "HOTKEY_SS58"), drop=drop,
              shorten=("HOTKEY_SS58", "COLDKEY"), wide=wide)
    uid = None if info is None else prune_next(neurons, block, info)
    if uid is not None:
        x = next(x for x in neurons if x.uid == uid)
        why = ("every neuron is immune: the lowest emission of the immune ones" if standing is not None
               and all(s["immune"] for s in standing) else "the lowest emission of those past their immunity period")
        out.line(f"full ({info['n']} of {info['max_n']} UIDs): a registration now replaces UID {uid} ({x.hotkey}, "
                 f"{why})")


def _immune_cell(s: dict[str, Any], block: int | None) -> str:
    """``owner`` (never pruned), the blocks a neuron stays immune, or nothing once the pruning rule may take it."""
    if s["owner"]:
        return "owner"
    return f"{s['immune_until'] - (block or 0)}" if s["immune"] else ""
