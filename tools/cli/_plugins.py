"""`taonet subnet plugins` (what is installed) and `taonet subnet new NAME` (a plugin package of your own)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(markup=False)  # a plugin's description and errors are shown as they are

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]


def _plugin_row(info: Any, infos: list[Any], options: bool, load_plugin: Any, plugin_error: type[Exception]
                ) -> dict[str, object]:
    """One plugin's row of the list: loaded (within LIST_LOAD_TIMEOUT seconds: one that hangs holds no list) to
    read its description (and options), or its loading error."""
    from taonet.plugins import LIST_LOAD_TIMEOUT

    row: dict[str, object] = {"name": info.name, "package": info.package, "version": info.version,
                              "entry_point": info.value}
    try:
        plugin = load_plugin(info.name, installed=infos, timeout=LIST_LOAD_TIMEOUT)
        row["description"] = plugin.protocol.description
        if options:
            row["options"] = plugin.protocol.defaults()
            row["option_details"] = _option_details(plugin.protocol)
    except plugin_error as e:  # listed with its problem: the list is how a user finds a broken plugin
        row["description"] = ""
        row["error"] = str(e)
    return row


def _option_details(protocol: Any) -> dict[str, dict[str, object]]:
    """Each option's default, help, its type where it declares one or its list default shows it (``type``: ``int``,
    ``list of str``), and the values it takes: ``lo``/``hi`` (a bounded number) or ``choices``."""
    from taonet.plugins import option_type_name

    bounds, choices, helps, types = protocol.bounds(), protocol.choices(), protocol.help(), protocol.types()
    out: dict[str, dict[str, object]] = {}
    for name, default in protocol.defaults().items():
        entry: dict[str, object] = {"default": default, "help": helps.get(name, "")}
        if name in types:
            entry["type"] = option_type_name(types[name])
        if name in bounds:
            entry["lo"], entry["hi"] = bounds[name]
        if name in choices:
            entry["choices"] = list(choices[name])
        out[name] = entry
    return out


def _option_cell(name: str, d: dict[str, object]) -> str:
    """``name=default``, its type where declared (``(list of int)``), then what it takes: ``[lo..hi]`` or
    ``{a|b}``."""
    cell = f"{name}={d['default']}" + (f" ({d['type']})" if "type" in d else "")
    if "choices" in d:
        cell += " {" + "|".join(map(str, d["choices"])) + "}"  # type: ignore[call-overload]
    elif "lo" in d:
        lo, hi = (_bound(v) for v in (d["lo"], d["hi"]))
        cell += f" [{lo}..{hi}]"
    return cell


def _bound(v: object) -> str:
    """A bound as a user would write it: nothing when open, 1048576 (not 1.04858e+06), 0.001."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v}"


def subnet_plugins(as_json: AsJson = False,
                   options: Annotated[bool, typer.Option("--options", help="Load each plugin and show its options: "
                                                                           "default, and the values each takes "
                                                                           "(\\[lo..hi] or {a|b}).")] = False) -> None:
    """The installed subnet plugins: name, package, version, description (loading each one, within 10 s)."""
    from taonet.plugins import installed_plugins, load_plugin
    from taonet.plugins.errors import PluginError

    infos = installed_plugins()
    with contextlib.redirect_stdout(sys.stderr):  # a plugin that prints while loading must not garble the list
        rows = [_plugin_row(info, infos, options, load_plugin, PluginError) for info in infos]
    if as_json:
        print(json.dumps({"plugins": rows}, default=str))
        return
    from rich import box

    # the style of every other table of the command line (btcli's): no box, a rule under the header
    table = Table(title="subnet plugins", box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left",
                  collapse_padding=True)
    for col in ("NAME", "PACKAGE", "VERSION", "DESCRIPTION"):  # a word wider than DESCRIPTION (a long {a|b|...})
        # folds onto the next lines rather than ending in "…": every choice is shown, however narrow the terminal
        table.add_column(col, no_wrap=col != "DESCRIPTION", overflow="fold" if col == "DESCRIPTION" else "ellipsis")
    for r in rows:
        desc = Text(str(r["description"])) if "error" not in r else Text(str(r["error"]), style="red")
        if options and "option_details" in r:
            details: dict[str, dict[str, object]] = r["option_details"]  # type: ignore[assignment]
            desc.append("\n" + ", ".join(_option_cell(k, d) for k, d in details.items()))
        table.add_row(str(r["name"]), str(r["package"]), str(r["version"]), desc)
    console.print(table)


def subnet_new(name: Annotated[str, typer.Argument(help="The plugin's name: a-z, 0-9 and _ (also its entry-point "
                                                        "name and, with dashes, its package name).")],
               path: Annotated[Path | None, typer.Option("--path", help="Where to write the package (default: "
                                                                        "./taonet-subnet-NAME).")] = None,
               force: Annotated[bool, typer.Option("--force", help="Write into a folder that is not empty, over the "
                                                                  "package's files there (each one replaced is "
                                                                  "named).")] = False,
               ) -> None:
    """Write a pip-installable subnet plugin package (protocol, hooks, reward model, tests, README)."""
    from ..scaffold import InvalidPluginName, write_package

    try:
        written = write_package(name, path, force=force)
    except InvalidPluginName as e:
        raise typer.BadParameter(str(e), param_hint="NAME") from None
    except FileExistsError as e:
        raise typer.BadParameter(f"{e}: choose another --path, or pass --force", param_hint="--path") from None
    target = written.target
    for rel in written.replaced:  # --force over an edited package: say what of it is gone
        print(f"replaced: {target / rel} (it held other text, now lost)")
    print(f"wrote the subnet plugin {name!r} in {target}")
    print(f"next: pip install -e {target} && taonet subnet plugins   (docs/subnets.md, 'Write your own subnet')")
