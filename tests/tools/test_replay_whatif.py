"""`taonet replay DIR what-if|why|plot` on the log of a real dev network run (validators setting weights, miners,
neurons pruned by late registrations): tests/tools/replay_net.py, the replay tests' own network."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from taonet.ledger import FileStore, epoch_result, replay, ss58_encode
from tests.tools.processes import taonet
from tests.tools.replay_net import HYPER, OWNER, build_sync

pytestmark = pytest.mark.slow


ENV: dict[str, str] = {}
"""The commands' environment: what-if's cache in the module's own temporary directory, not the user's."""


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real dev network run (its node stopped): its data directory and what the node's RPC said."""
    ENV["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    data_dir = tmp_path_factory.mktemp("whatif") / "node"
    seen = build_sync(data_dir)
    return {"dir": data_dir, **seen}


def run(*args: str) -> tuple[int, str, str]:
    out, _ = taonet("replay", *args, timeout=120, env=ENV)
    return out.returncode, out.stdout, out.stderr


def recorded_payments(data_dir: Path) -> dict[int, dict[int, int]]:
    """{epoch block: {uid: RAO}} from the log's EmissionPaid events (`replay events`), the chain's own record."""
    code, out, err = run(str(data_dir), "events", "--type", "EmissionPaid", "--netuid", "1", "--json")
    assert code == 0, err
    paid: dict[int, dict[int, int]] = {}
    for e in json.loads(out)["events"]:
        paid.setdefault(e["block"] - 1, {})[e["fields"]["uid"]] = e["fields"]["amount"]  # answered in the next block
    return paid


def test_what_if_without_changes_reproduces_every_recorded_payment_to_the_rao(net: dict[str, Any]) -> None:
    """With no --set, every re-run epoch equals the recorded one, and each UID's emission equals what the chain paid
    it (its EmissionPaid events), epoch by epoch."""
    code, out, err = run(str(net["dir"]), "what-if", "--netuid", "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    paid = recorded_payments(net["dir"])
    assert doc["identical"] is True and doc["movers"] == []
    assert len(doc["epochs"]) == len(paid) >= 10
    for e in doc["epochs"]:
        expected = paid[e["block"]]
        for u in e["uids"]:
            assert u["emission_whatif"] == u["emission"] == expected.get(u["uid"], 0)
    t = doc["totals"]
    assert t["emission_whatif"] == t["emission"] == sum(sum(p.values()) for p in paid.values())
    code, out, _ = run(str(net["dir"]), "what-if", "--netuid", "1")
    assert code == 0 and "identical to the recorded epochs, to the RAO" in out


@pytest.mark.parametrize("change", [{"kappa": 50000, "bonds_moving_average": 100000}, {"yuma3_enabled": True}])
def test_what_if_with_other_hyperparameters_equals_the_ledgers_epoch_epoch_by_epoch(
        net: dict[str, Any], change: dict[str, Any]) -> None:
    """With a changed kappa (or Yuma 3), each re-run epoch equals the ledger's epoch_result on that epoch's recorded
    state (folded here on its own) with those hyperparameters and the bonds the previous re-run epoch left, from
    --from on; and it pays differently from the recorded run."""
    sets = [f"--set={k}={str(v).lower()}" for k, v in change.items()]
    code, out, err = run(str(net["dir"]), "what-if", "--netuid", "1", "--from", "20", *sets, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["set"] == change and doc["identical"] is False and doc["movers"]
    store = FileStore(net["dir"] / "chain", read_only=True)
    carried: dict[int, tuple[Any, ...]] = {}
    assert doc["epochs"][0]["block"] >= 20
    for e in doc["epochs"]:
        state = replay(store, to=e["block"], verify_signatures=False).fork()
        sn = state.subnet(1)
        state.put("subnet", 1, attrs.evolve(sn, hyper=attrs.evolve(sn.hyper, **change)))
        for n in state.neurons(1):
            held = carried.get(n.uid)
            if held and held[0] == (n.hotkey, n.registered_at):
                state.put_neuron(1, attrs.evolve(n, bond_uids=held[1], bond_values=held[2]))
        r = epoch_result(state, 1)
        v = r.vectors()
        assert [u["emission_whatif"] for u in e["uids"]] == list(v["emission"])
        assert [u["incentive_whatif"] for u in e["uids"]] == list(v["incentive"])
        assert [u["dividends_whatif"] for u in e["uids"]] == list(v["dividends"])
        assert [u["hotkey"] for u in e["uids"]] == [ss58_encode(n.hotkey) for n in state.neurons(1)]
        rows = {uid: k for k, uid in enumerate(v["bond_rows"])}
        for n in state.neurons(1):
            if n.uid in rows:
                a, b = v["bond_ptr"][rows[n.uid]], v["bond_ptr"][rows[n.uid] + 1]
                carried[n.uid] = ((n.hotkey, n.registered_at), r.bond_uids[2 * a:2 * b], r.bond_values[2 * a:2 * b])
            else:
                carried[n.uid] = ((n.hotkey, n.registered_at), n.bond_uids, n.bond_values)
    t = doc["totals"]
    assert t["emission_whatif"] + t["owner_cut_whatif"] == t["pot"]  # the pot is still paid exactly


def test_what_if_csv_has_one_row_per_epoch_and_uid_and_the_table_fits_80_columns(net: dict[str, Any]) -> None:
    """--csv prints a header and one row per (epoch, UID); the table fits 80 columns and names the largest movers."""
    code, out, err = run(str(net["dir"]), "what-if", "--netuid", "1", "--set", "kappa=50000", "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    code, out_json, _ = run(str(net["dir"]), "what-if", "--netuid", "1", "--set", "kappa=50000", "--json")
    epochs = json.loads(out_json)["epochs"]
    assert [(int(r["block"]), int(r["uid"]), int(r["emission_whatif"])) for r in rows] == [
        (e["block"], u["uid"], u["emission_whatif"]) for e in epochs for u in e["uids"]]
    assert sum(1 for r in rows if r["block"] == rows[-1]["block"]) == HYPER.max_allowed_uids
    assert {"uid", "hotkey", "emission", "emission_whatif", "incentive_whatif", "dividends_whatif"} <= set(rows[0])
    code, out, _ = run(str(net["dir"]), "what-if", "--netuid", "1", "--set", "kappa=50000")
    assert code == 0 and "largest movers:" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_what_if_refuses_what_it_cannot_re_run(net: dict[str, Any]) -> None:
    """A name that is not an epoch hyperparameter, a value out of bounds, or a bad range: exit 2 with one line; an
    unknown subnet: exit 6."""
    for bad in ("tempo=3", "kappa=70000", "kappa=x", "nonsense=1", "kappa"):
        code, _, err = run(str(net["dir"]), "what-if", "--netuid", "1", "--set", bad)
        assert code == 2, (bad, err)
        assert "Traceback" not in err
    code, _, err = run(str(net["dir"]), "what-if", "--netuid", "1", "--from", "50", "--to", "10")
    assert code == 2
    code, _, err = run(str(net["dir"]), "what-if", "--netuid", "9")
    assert code == 6 and "subnet 9" in err


# --- why -------------------------------------------------------------------------------------------------------------


def test_why_explains_each_pruned_neuron_with_its_replacement_and_the_rule(net: dict[str, Any]) -> None:
    """For every NeuronReplaced in the log, `why --uid` tells the replaced hotkey's story: it lost the UID in that
    block to that hotkey, it was the candidate past its immunity with the lowest emission at the last epoch (as the
    metagraph before the block shows), the registrar's rule re-run agrees, and what it earned equals its payments."""
    code, out, _ = run(str(net["dir"]), "events", "--type", "NeuronReplaced", "--netuid", "1", "--json")
    replaced = json.loads(out)["events"]
    assert len(replaced) >= 3
    paid = recorded_payments(net["dir"])
    for ev in replaced:
        f, block = ev["fields"], ev["block"]
        code, out, err = run(str(net["dir"]), "why", "--netuid", "1", "--uid", str(f["uid"]), "--json")
        assert code == 0, err
        tenures = json.loads(out)["tenures"]
        gone = next(t for t in tenures if t["hotkey"] == f["old_hotkey"] and t["replaced_at"] == block)
        newcomer = next(t for t in tenures if t["hotkey"] == f["hotkey"] and t["registered_at"] == block)
        assert gone["replaced_by"] == f["hotkey"] and newcomer["method"] == "burn" and newcomer["paid"] > 0
        p = gone["pruning"]
        assert p["chosen"] == f["uid"] and p["registrar_agrees"] and p["newcomer"] == f["hotkey"]
        code, out, _ = run(str(net["dir"]), "show", "--block", str(block - 1), "--netuid", "1", "--json")
        emission_before = {n["uid"]: n["emission"] for n in json.loads(out)["neurons"]}
        open_ = [c for c in p["candidates"] if not c["immune"]]
        assert open_ and all(block - c["registered_at"] >= HYPER.immunity_period for c in open_)
        best = min(open_, key=lambda c: (c["emission"], c["registered_at"], c["uid"]))
        assert best["uid"] == f["uid"]
        assert all(c["emission"] == emission_before[c["uid"]] for c in p["candidates"])
        assert "lowest emission" in p["reason"]
        for e in gone["epochs"]:
            assert e["emission"] == paid.get(e["block"], {}).get(f["uid"], 0)


def test_why_by_hotkey_and_for_people(net: dict[str, Any]) -> None:
    """`why --hotkey` gives the same tenure as by UID; the text names the replacement and the reason; a hotkey that
    never registered is exit 6, and --uid with --hotkey (or neither) exit 2."""
    code, out, _ = run(str(net["dir"]), "events", "--type", "NeuronReplaced", "--netuid", "1", "--json")
    f = json.loads(out)["events"][0]["fields"]
    code, out, err = run(str(net["dir"]), "why", "--netuid", "1", "--hotkey", f["old_hotkey"], "--json")
    assert code == 0, err
    (t,) = json.loads(out)["tenures"]
    assert t["uid"] == f["uid"] and t["replaced_by"] == f["hotkey"] and t["epochs"]
    code, out, err = run(str(net["dir"]), "why", "--netuid", "1", "--uid", str(f["uid"]))
    assert code == 0, err
    assert f"lost UID {f['uid']} in block" in out and f["hotkey"] in out and "why: " in out
    assert max(len(line) for line in out.splitlines()) <= 80
    code, out, err = run(str(net["dir"]), "why", "--netuid", "1", "--uid", "0", "--json")
    assert code == 0, err
    (owner,) = json.loads(out)["tenures"]
    assert owner["method"] == "owner" and owner["hotkey"] == OWNER.hotkey.ss58_address and owner["replaced_at"] is None
    stranger = ss58_encode(bytes(range(32)))
    code, _, err = run(str(net["dir"]), "why", "--netuid", "1", "--hotkey", stranger)
    assert code == 6 and "held no UID" in err
    code, _, err = run(str(net["dir"]), "why", "--netuid", "1", "--uid", "4000")
    assert code == 6 and err.startswith("error: no hotkey held UID 4000 on subnet 1 in blocks 0..")  # not 'UID 4000
    # held no UID'
    assert run(str(net["dir"]), "why", "--netuid", "1")[0] == 2
    assert run(str(net["dir"]), "why", "--netuid", "1", "--uid", "1", "--hotkey", stranger)[0] == 2


# --- plot ------------------------------------------------------------------------------------------------------------


def png_info(path: Path) -> tuple[tuple[int, int], list[str], int]:
    """(width, height), the series its text chunk names, and how many distinct colours it holds."""
    from PIL import Image

    with Image.open(path) as im:
        assert im.format == "PNG"
        colours = len(im.convert("RGB").getcolors(maxcolors=1 << 20) or [])
        return im.size, json.loads(im.text["taonet.series"]), colours


def test_plot_writes_pngs_with_the_expected_series(net: dict[str, Any], tmp_path: Path) -> None:
    """`plot --set kappa=50000` writes incentive, dividends, emission and stake per UID (every UID of the subnet a
    series), the weight and bond heat maps at the last epoch (rows: the validators that set weights, the UIDs that
    hold bonds), and the what-if beside the recorded run; each a real PNG of the figure's size."""
    out_dir = tmp_path / "plots"
    code, out, err = run(str(net["dir"]), "plot", "--netuid", "1", "--out", str(out_dir), "--set", "kappa=50000",
                         "--json")
    assert code == 0, err
    files = [Path(f) for f in json.loads(out)["files"]]
    names = {f.name.split("-")[0].removesuffix(".png"): f for f in files}
    assert set(names) == {"incentive", "dividends", "emission", "stake", "weights", "bonds", "what"}
    every_uid = [f"UID {u}" for u in range(HYPER.max_allowed_uids)]
    for kind in ("incentive", "dividends", "emission", "stake"):
        size, series, colours = png_info(names[kind])
        assert size == (800, 450) and series == every_uid and colours > 8
    code, out, _ = run(str(net["dir"]), "what-if", "--netuid", "1", "--json")
    last = json.loads(out)["epochs"][-1]["block"]
    assert names["weights"].name == f"weights-{last}.png"
    store = FileStore(net["dir"] / "chain", read_only=True)
    state = replay(store, to=last, verify_signatures=False)
    size, series, colours = png_info(names["weights"])
    setters = [f"UID {n.uid}" for n in state.neurons(1) if len(n.weights()[0])]
    assert size == (600, 500) and series == setters and len(setters) == 2 and colours > 4
    _, series, _ = png_info(names["bonds"])
    assert series == [f"UID {n.uid}" for n in state.neurons(1) if n.bonds()[1].any()] and series
    size, series, _ = png_info(names["what"])
    assert series == ["recorded", "what-if"] and size == (800, 450)


def test_plot_without_matplotlib_says_how_to_install_it(net: dict[str, Any], tmp_path: Path) -> None:
    """Where matplotlib cannot be imported, `plot` says in one line to install taonet[plot] and exits 6 (a package not
    installed is "not found", as an unknown plugin is; 1 is for bugs); no files."""
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('matplotlib hidden by the test')\n")
    out, _ = taonet("replay", str(net["dir"]), "plot", "--netuid", "1", "--out", str(tmp_path / "p"),
                    env={"PYTHONPATH": str(shadow.parent)}, timeout=60)
    assert out.returncode == 6
    assert out.stderr.strip().splitlines() == ["error: plotting needs matplotlib, which is not installed: pip install "
                                               "'taonet[plot]'"]
    assert not (tmp_path / "p").exists()
