"""`taonet wallet ...`: keys on disk (create, regenerate, list, inspect) and the coldkey's money (balance, transfer,
faucet); `wallet overview` lives in _overview.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ._common import (
    AsJson,
    Endpoint,
    Hotkey,
    NoPrompt,
    Out,
    PasswordStdin,
    Rao,
    ReadTimeout,
    WalletName,
    WalletPath,
    Wide,
    WriteTimeout,
    check_address,
    confirm,
    escaped,
    parse_amount,
    password_source,
    run,
    unlock_coldkey,
    wallet_of,
)

wallet_app = typer.Typer(
    help="Wallets: a coldkey (encrypted, holds the money) and hotkeys (sign a neuron's work).\n\n"
         "Example: taonet wallet create --wallet-name alice --hotkey miner",
    no_args_is_help=True)

MNEMONIC_WORDS = (12, 15, 18, 21, 24)
"""The word counts a BIP39 mnemonic may have."""


def _words(value: int) -> int:
    """A usage error (exit 2) for a word count no mnemonic has, before any key is made (it was InvalidKey, exit 5)."""
    if value not in MNEMONIC_WORDS:
        raise typer.BadParameter(f"{value} words: a mnemonic has 12, 15, 18, 21 or 24")
    return value


Words = Annotated[int, typer.Option("--n-words", callback=_words,
                                    help="Words of a new mnemonic (12, 15, 18, 21 or 24).")]
Cost = Annotated[str, typer.Option("--unlock-cost", envvar="TAONET_UNLOCK_COST", metavar="PRESET",
                                   help="How hard unlocking is: moderate, interactive, sensitive, or fast "
                                        "(throwaway local wallets only).")]
NoPassword = Annotated[bool, typer.Option("--no-password", help="Store the coldkey unencrypted (throwaway dev "
                                                                 "wallets only).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace a key file that exists (its key is lost "
                                                             "unless you hold its mnemonic).")]
Mnemonic = Annotated[str | None, typer.Option("--mnemonic", metavar="WORDS", help="The key's mnemonic, quoted.")]
Seed = Annotated[str | None, typer.Option("--seed", metavar="HEX", help="The key's 32-byte seed, hex.")]
Uri = Annotated[str | None, typer.Option("--uri", metavar="URI", help="A secret URI, such as //Alice (dev keys).")]
Ss58 = Annotated[str | None, typer.Option("--ss58", "--address", metavar="SS58", help="An address instead of a "
                                                                                       "wallet.")]

FAUCET_TAO = 100
"""τ a faucet call sends by default."""


def _cost(name: str) -> Any:
    from taonet.kernel.wire import UnlockCost

    try:
        return UnlockCost.named(name)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--unlock-cost") from None


def _key_row(kind: str, name: str, kp: Any, mnemonic: bool) -> dict[str, Any]:
    row = {"key": kind, "name": name, "ss58": kp.ss58_address}
    if mnemonic and getattr(kp, "mnemonic", None):
        row["mnemonic"] = kp.mnemonic
    return row


def _show_keys(out: Out, rows: list[dict[str, Any]], wallet: Any) -> None:
    if out.json:
        out.emit({"wallet": wallet.name, "path": str(wallet.dir), "keys": rows})
        return
    for r in rows:
        out.line(f"{r['key']} [bold]{escaped(r['name'])}[/]: {r['ss58']}", markup=True)
        if r.get("watch_only"):
            out.line(f"  wallet {r['name']} is watch-only (only its coldkey's address, no coldkey to sign with); to "
                     f"sign with it, restore its coldkey from the mnemonic: taonet wallet regen-coldkey -w "
                     f"{r['name']} --mnemonic \"WORDS\" --overwrite")
        if r.get("completed"):
            out.line(f"  {r['completed']} was missing (the command that made this key stopped before writing it): "
                     "written again from the key file")
        if "mnemonic" in r:
            out.line(f"  mnemonic (the only backup; write it down, keep it secret): [bold]{escaped(r['mnemonic'])}[/]",
                     markup=True)


def _new(wallet: Any, which: str, *, n_words: int, password: str | None, encrypt: bool, overwrite: bool,
         cost: str) -> dict[str, Any]:
    if which == "coldkey":
        kp = wallet.create_new_coldkey(n_words, password=password, encrypt=encrypt, overwrite=overwrite,
                                       cost=_cost(cost))
        return _key_row("coldkey", wallet.name, kp, True)
    kp = wallet.create_new_hotkey(n_words, overwrite=overwrite)
    return _key_row("hotkey", wallet.hotkey_str, kp, True)


@wallet_app.command("create")
def create(wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
           n_words: Words = 12, unlock_cost: Cost = "moderate", no_password: NoPassword = False,
           password_stdin: PasswordStdin = False, as_json: AsJson = False, no_prompt: NoPrompt = False) -> None:
    """A coldkey and a hotkey, each made if missing (never replaced); prints their mnemonics once, before their files
    are written (a new wallet's all at once). Nothing is asked (no key is replaced): -y is taken, as on every write."""
    out, w = Out(as_json), wallet_of(wallet_name, hotkey, wallet_path)
    password = password_source(password_stdin)
    rows: dict[str, dict[str, Any]] = {}
    if w.coldkeypub_file.is_file() and not w.coldkey_file.exists() and not w.coldkey_file.is_symlink():
        # watch-only: only the address is here; a new coldkey would not be this wallet's, so none is made
        rows["coldkey"] = {"key": "coldkeypub", "name": w.name, "ss58": w.get_coldkeypub().ss58_address,
                           "existed": True, "watch_only": True}
    elif w.coldkeypub_file.exists():
        rows["coldkey"] = {"key": "coldkey", "name": w.name, "ss58": w.get_coldkeypub().ss58_address,
                           "existed": True}
    if "coldkey" in rows and not out.json:
        _show_keys(out, [rows["coldkey"]], w)

    def shown(kind: str, kp: Any, new: bool) -> None:
        name = w.name if kind == "coldkey" else w.hotkey_str
        rows[kind] = row = _key_row(kind, name, kp, True)
        if not new:
            row["completed"] = str(w.coldkeypub_file if kind == "coldkey" else w.hotkeypub_file)
        if not out.json:
            _show_keys(out, [row], w)
            sys.stdout.flush()  # on the screen (or in the file) before the key's files are in place

    try:
        w.create(coldkey_password=password, encrypt_coldkey=not no_password, n_words=n_words, cost=_cost(unlock_cost),
                 shown=shown)
    except Exception as e:
        if not any(_made_now(r) for r in rows.values()):
            raise
        _lost_keys(out, rows, w, e)
    if "hotkey" not in rows:
        rows["hotkey"] = {"key": "hotkey", "name": w.hotkey_str, "ss58": w.get_hotkeypub().ss58_address,
                          "existed": True}
        if not out.json:
            _show_keys(out, [rows["hotkey"]], w)
    if out.json:
        _show_keys(out, [rows["coldkey"], rows["hotkey"]], w)


def _made_now(row: dict[str, Any]) -> bool:
    """Whether a row of `wallet create` is a key it made (its mnemonic new), not one that was there or completed."""
    return "mnemonic" in row and not row.get("existed") and not row.get("completed")


def _lost_keys(out: Out, rows: dict[str, dict[str, Any]], wallet: Any, e: Exception) -> None:
    """Writing a key failed after a new key's mnemonic was shown (or, with --json, made): raise a wallet error (exit
    5) saying which keys were made and which were not; with --json the error itself carries a made key's mnemonic,
    its only backup."""
    from taonet.kernel.errors import WalletError

    from ..errors import describe

    def made(kind: str) -> bool:
        path = wallet.coldkeypub_file if kind == "coldkey" else wallet.hotkeypub_file
        try:
            return kind in rows and json.loads(path.read_bytes()).get("ss58Address") == rows[kind]["ss58"]
        except (OSError, ValueError, AttributeError):
            return False

    new = [k for k in ("coldkey", "hotkey") if k in rows and _made_now(rows[k])]
    done = [k for k in new if made(k)]
    lost = [k for k in ("coldkey", "hotkey") if k not in done and not rows.get(k, {}).get("existed")]
    if out.json:
        said = ", ".join(f"{k} {rows[k]['ss58']} was created (mnemonic: {rows[k]['mnemonic']}; write it down)"
                         for k in done)
    else:
        said = " and ".join(f"the {k} above was created" for k in done)
    not_made = " nor ".join(f"the {k}" for k in lost)
    unused = [k for k in new if k not in done]
    if not said and _made_meanwhile(wallet, rows):  # another process made this wallet at the same moment
        raise WalletError(f"another process created wallet {wallet.name!r} at the same moment (its coldkey is "
                          f"{wallet.get_coldkeypub().ss58_address}): nothing was created by this command, and the "
                          "mnemonic above belongs to no key; use that wallet (taonet wallet overview), or create "
                          "another name") from e
    if not said:
        raise WalletError(f"nothing was created ({describe(e)}): the mnemonic above belongs to no key; run the command "
                          "again") from e
    tail = f" (the {' and '.join(unused)} mnemonic above belongs to no key)" if unused and not out.json else ""
    raise WalletError(f"{said}, but {not_made} was not: {describe(e)}{tail}") from e


def _made_meanwhile(wallet: Any, rows: dict[str, dict[str, Any]]) -> bool:
    """Whether the wallet this command was making a coldkey for now has another one (a process racing it won)."""
    row = rows.get("coldkey")
    if row is None or not _made_now(row):
        return False
    try:
        return wallet.get_coldkeypub().ss58_address != row["ss58"]
    except Exception:  # no coldkeypub (or unreadable): not a wallet another process made
        return False


@wallet_app.command("new-coldkey")
def new_coldkey(wallet_name: WalletName = None, wallet_path: WalletPath = None, n_words: Words = 12,
                unlock_cost: Cost = "moderate", no_password: NoPassword = False, overwrite: Overwrite = False,
                no_prompt: NoPrompt = False,
                password_stdin: PasswordStdin = False, as_json: AsJson = False) -> None:
    """A new coldkey from a fresh mnemonic (refused if one exists, unless --overwrite)."""
    w = wallet_of(wallet_name, None, wallet_path)
    _guard(overwrite, w.coldkey_file, no_prompt)
    _show_keys(Out(as_json), [_new(w, "coldkey", n_words=n_words, password=password_source(password_stdin),
                                   encrypt=not no_password, overwrite=overwrite, cost=unlock_cost)], w)


@wallet_app.command("new-hotkey")
def new_hotkey(wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
               n_words: Words = 12, overwrite: Overwrite = False, no_prompt: NoPrompt = False,
               as_json: AsJson = False) -> None:
    """A new hotkey (--hotkey NAME) from a fresh mnemonic, stored plain as btcli does."""
    w = wallet_of(wallet_name, hotkey, wallet_path)
    _guard(overwrite, w.hotkey_file, no_prompt)
    _show_keys(Out(as_json), [_new(w, "hotkey", n_words=n_words, password=None, encrypt=False,
                                   overwrite=overwrite, cost="moderate")], w)


def _guard(overwrite: bool, path: Path, no_prompt: bool) -> None:
    """Replacing a key file loses its key: ask first (unless -y)."""
    if overwrite and path.exists():
        confirm(f"Replace {path}? Its key is lost unless you hold its mnemonic", no_prompt, Out(), default=False)


def _regen_source(mnemonic: str | None, seed: str | None, uri: str | None) -> dict[str, Any]:
    given = {k: v for k, v in (("mnemonic", mnemonic), ("seed", seed), ("uri", uri)) if v is not None}
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --mnemonic, --seed or --uri")
    for k, v in given.items():
        if not v.strip():  # an empty --uri is the well-known development root key: never a wallet's key by mistake
            raise typer.BadParameter("is empty: give the key's words, seed or URI", param_hint=f"--{k}")
    return given


@wallet_app.command("regen-coldkey")
def regen_coldkey(wallet_name: WalletName = None, wallet_path: WalletPath = None, mnemonic: Mnemonic = None,
                  seed: Seed = None, uri: Uri = None, unlock_cost: Cost = "moderate", no_password: NoPassword = False,
                  overwrite: Overwrite = False,
                  no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False, as_json: AsJson = False
                  ) -> None:
    """The coldkey again from its mnemonic, seed or secret URI."""
    w = wallet_of(wallet_name, None, wallet_path)
    src = _regen_source(mnemonic, seed, uri)
    _guard(overwrite, w.coldkey_file, no_prompt)
    kp = w.regenerate_coldkey(**src, password=password_source(password_stdin), encrypt=not no_password,
                              overwrite=overwrite, cost=_cost(unlock_cost))
    _show_keys(Out(as_json), [_key_row("coldkey", w.name, kp, False)], w)


@wallet_app.command("regen-hotkey")
def regen_hotkey(wallet_name: WalletName = None, hotkey: Hotkey = None, wallet_path: WalletPath = None,
                 mnemonic: Mnemonic = None, seed: Seed = None, uri: Uri = None, overwrite: Overwrite = False,
                 no_prompt: NoPrompt = False,
                 as_json: AsJson = False) -> None:
    """A hotkey again from its mnemonic, seed or secret URI."""
    w = wallet_of(wallet_name, hotkey, wallet_path)
    _guard(overwrite, w.hotkey_file, no_prompt)
    kp = w.regenerate_hotkey(**_regen_source(mnemonic, seed, uri), overwrite=overwrite)
    _show_keys(Out(as_json), [_key_row("hotkey", w.hotkey_str, kp, False)], w)


@wallet_app.command("regen-coldkeypub")
def regen_coldkeypub(ss58: Annotated[str, typer.Option("--ss58", "--address", metavar="SS58",
                                                       help="The coldkey's address.")],
                     wallet_name: WalletName = None, wallet_path: WalletPath = None, overwrite: Overwrite = False,
                     no_prompt: NoPrompt = False,
                     as_json: AsJson = False) -> None:
    """Only the coldkey's public file: a watch-only wallet (balances, overview; no transfers)."""
    w = wallet_of(wallet_name, None, wallet_path)
    _guard(overwrite, w.coldkeypub_file, no_prompt)
    kp = w.regenerate_coldkeypub(ss58, overwrite=overwrite)
    _show_keys(Out(as_json), [_key_row("coldkeypub", w.name, kp, False)], w)


def _describe_wallet(path: Any, name: str) -> dict[str, Any]:
    from taonet.kernel.errors import WalletError

    w = wallet_of(name, None, str(path) if path else None)
    problem = None  # why the coldkey's address cannot be read (a damaged file), said rather than hidden
    try:
        cold = w.get_coldkeypub().ss58_address
    except WalletError as e:
        cold = None
        if w.coldkeypub_file.exists() or w.coldkeypub_file.is_symlink():
            problem = str(e)
    hotkeys = []
    for h in w.list_hotkeys():
        hw = wallet_of(name, h, str(path) if path else None)
        try:
            hotkeys.append({"name": h, "ss58": hw.get_hotkeypub().ss58_address})
        except WalletError:
            try:
                hotkeys.append({"name": h, "ss58": hw.get_hotkey().ss58_address})
            except WalletError:
                hotkeys.append({"name": h, "ss58": None})
    info = {"name": name, "coldkey": cold, "encrypted": _encrypted(w.coldkey_file), "hotkeys": hotkeys,
            "path": str(w.dir)}
    return info if problem is None else {**info, "problem": problem}


def _encrypted(path: Path) -> bool | None:
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"$TAONET1"
    except OSError:
        return None


def _wallet_names(wallet_path: str | None) -> list[str]:
    """The wallets under the wallet path; a path that is a file is a WalletError (exit 5), not "no wallets"."""
    from taonet.kernel import list_wallets
    from taonet.kernel.errors import WalletError

    root = wallet_of(None, None, wallet_path).path
    if root.exists() and not root.is_dir():
        raise WalletError(f"the wallet path {root} is a file, not a folder: give the folder wallets live in "
                          "(--wallet-path, $TAONET_WALLET_PATH)")
    return list_wallets(root)


@wallet_app.command("list")
def list_(wallet_path: WalletPath = None, as_json: AsJson = False) -> None:
    """Every wallet under the wallet path: its coldkey and hotkeys."""
    out = Out(as_json)
    wallets = [_describe_wallet(wallet_path, n) for n in _wallet_names(wallet_path)]
    if out.json:
        out.emit({"wallets": wallets})
        return
    if not wallets:
        out.line("no wallets yet: taonet wallet create --wallet-name NAME")
        return
    for w in wallets:
        out.line(f"[bold]{escaped(w['name'])}[/] coldkey {escaped(_coldkey_text(w))}", markup=True)
        for h in w["hotkeys"]:
            out.line(f"  hotkey {h['name']}: {h['ss58'] or '(unreadable)'}")


@wallet_app.command("inspect")
def inspect(wallet_name: WalletName = None, wallet_path: WalletPath = None, as_json: AsJson = False) -> None:
    """One wallet's files and addresses (read from disk; no node, no password)."""
    from taonet.kernel import list_wallets
    from taonet.kernel.errors import WalletNotFound

    out = Out(as_json)
    w = wallet_of(wallet_name, None, wallet_path)
    if not w.dir.is_dir():
        raise WalletNotFound(str(w.dir), wallet=w.name, root=str(w.path), wallets=list_wallets(w.path))
    info = _describe_wallet(wallet_path, w.name)
    if out.json:
        out.emit(info)
        return
    enc = {True: "encrypted", False: "not encrypted", None: "no coldkey file (watch-only)"}[info["encrypted"]]
    out.line(f"wallet [bold]{escaped(info['name'])}[/] in {escaped(str(info['path']))}", markup=True)
    out.line(f"  coldkey {_coldkey_text(info)} ({enc})")
    for h in info["hotkeys"]:
        out.line(f"  hotkey {h['name']}: {h['ss58'] or '(unreadable)'}")


def _coldkey_text(info: dict[str, Any]) -> str:
    """The coldkey's address, or why there is none (no coldkeypub, or a file that cannot be read)."""
    if info["coldkey"]:
        return str(info["coldkey"])
    return f"(unreadable: {info['problem']})" if "problem" in info else "(no coldkeypub)"


@wallet_app.command("balance")
def balance(wallet_name: WalletName = None, wallet_path: WalletPath = None, ss58: Ss58 = None,
            all_: Annotated[bool, typer.Option("--all", "-a", help="Every wallet under the wallet path.")] = False,
            endpoint: Endpoint = None, as_json: AsJson = False, as_rao: Rao = False, wide: Wide = False,
            timeout: ReadTimeout = 10.0) -> None:
    """Free, staked and total balance of a wallet's coldkey (or --ss58, or --all wallets)."""
    out = Out(as_json, as_rao)
    if ss58:
        who = [("", ss58)]
    elif all_:
        who = [(d["name"], d["coldkey"]) for d in (_describe_wallet(wallet_path, n) for n in _wallet_names(wallet_path))
               if d["coldkey"]]
    else:
        w = wallet_of(wallet_name, None, wallet_path)
        who = [(w.name, w.get_coldkeypub().ss58_address)]

    async def read(sub: Any) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        held: dict[str, tuple[int, int]] = {}  # each address read once: wallets sharing a coldkey show the same figures
        for name, addr in who:
            if addr not in held:
                held[addr] = ((await sub.get_balance(addr)).rao,
                              sum(b.rao for b in (await sub.get_stakes(addr)).values()))
            free, staked = held[addr]
            rows.append({"wallet": name, "coldkey": addr, "free": free, "staked": staked, "total": free + staked})
        return rows

    rows = run(read, endpoint, timeout, "balance")
    if out.json:
        out.emit({"balances": rows})
        return
    cells = [(r["wallet"], r["coldkey"], out.figure(r["free"]), out.figure(r["staked"]), out.figure(r["total"]))
             for r in rows]
    caption = None
    if len(rows) > 1:
        # a copy of a wallet, or a watch-only one of the same address, is the same account: its money counts once
        accounts = list({r["coldkey"]: r for r in rows}.values())
        cells.append(("total", "", *(out.figure(sum(r[k] for r in accounts)) for k in ("free", "staked", "total"))))
        if len(accounts) < len(rows):
            caption = f"the total counts each coldkey once ({len(rows)} wallets, {len(accounts)} coldkeys)"
    out.table("balances", ("WALLET", "COLDKEY", "FREE", "STAKED", "TOTAL"), cells, left=("WALLET", "COLDKEY"),
              shorten=("COLDKEY",), wide=wide, caption=caption, amounts=("FREE", "STAKED", "TOTAL"))


@wallet_app.command("transfer")
def transfer(dest: Annotated[str, typer.Option("--dest", "--destination", metavar="SS58", help="Who receives.")],
             amount: Annotated[str, typer.Option("--amount", metavar="TAO", help="How much (τ; RAO with --rao).")],
             wallet_name: WalletName = None, wallet_path: WalletPath = None, endpoint: Endpoint = None,
             no_prompt: NoPrompt = False, password_stdin: PasswordStdin = False, as_json: AsJson = False,
             as_rao: Rao = False, timeout: WriteTimeout = 60.0) -> None:
    """Send τ from the wallet's coldkey to an address; says the new balance."""
    out = Out(as_json, as_rao)
    rao = parse_amount(amount, as_rao=as_rao)
    check_address(dest, "--dest")  # a usage error (exit 2) before any password is asked
    w = wallet_of(wallet_name, None, wallet_path)
    confirm(f"Send {out.amount(rao)} from {w.name} to {dest}?", no_prompt, out)
    cold = unlock_coldkey(w, password_stdin)

    async def send(sub: Any) -> tuple[Any, int]:
        with out.status("waiting for inclusion"):
            result = await sub.transfer(cold, dest, rao)
        return result, (await sub.get_balance(cold)).rao if result.success else 0

    result, left = run(send, endpoint, timeout, "transfer", write=True, check=f"taonet wallet balance -w {w.name}")
    out.wrote(result, f"sent {out.amount(rao)} to {dest}", f"balance now {out.amount(left)}", balance=left)


DEV_CHAIN_ID = "taonet-dev"


@wallet_app.command("faucet")
def faucet(wallet_name: WalletName = None, wallet_path: WalletPath = None, ss58: Ss58 = None,
           amount: Annotated[str, typer.Option("--amount", metavar="TAO", help="How much (τ).")] = str(FAUCET_TAO),
           endpoint: Endpoint = None, as_json: AsJson = False, as_rao: Rao = False,
           timeout: WriteTimeout = 60.0, no_prompt: NoPrompt = False) -> None:
    """τ for a wallet from the development accounts (//Alice ...), on a development chain only (else exit 3). Nothing
    is asked: -y is taken, as on every write."""
    from taonet.ledger import DEV_ACCOUNTS, Keypair

    out = Out(as_json, as_rao)
    rao = parse_amount(amount, as_rao=as_rao)
    if ss58:
        dest = check_address(ss58, "--ss58")
    else:
        dest = wallet_of(wallet_name, None, wallet_path).get_coldkeypub().ss58_address

    async def fund(sub: Any) -> tuple[Any, int]:
        info = await sub.info()
        if info.get("chain_id") != DEV_CHAIN_ID:
            from ._errors import FaucetRefused

            raise FaucetRefused(chain_id=str(info.get("chain_id")))
        from ._errors import FaucetOwnAccount, FaucetShort

        devs = {f"//{name}": Keypair.from_uri(f"//{name}") for name in DEV_ACCOUNTS}
        for uri, kp in devs.items():  # a transfer from the account to itself: "sent", and nothing grew
            if kp.ss58_address == dest:
                raise FaucetOwnAccount(address=dest, uri=uri)
        held: dict[str, int] = {}
        for uri, kp in devs.items():  # the first development account that can pay (the rest are not read)
            held[uri] = (await sub.get_balance(kp)).rao
            if held[uri] > rao:
                dev = kp
                break
        else:  # none can: the transfer would fail, saying to take τ from the faucet
            richest = max(held, key=held.__getitem__)
            raise FaucetShort(needed=rao, available=held[richest], uri=richest)
        with out.status("waiting for inclusion"):
            result = await sub.transfer(dev, dest, rao)
        return result, (await sub.get_balance(dest)).rao if result.success else 0

    result, now = run(fund, endpoint, timeout, "faucet", write=True, check=f"taonet wallet balance --ss58 {dest}")
    out.wrote(result, f"faucet sent {out.amount(rao)} to {dest}", f"balance now {out.amount(now)}", balance=now)
