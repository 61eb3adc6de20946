"""The error tree: every code is unique, every wire error knows its status, and errors survive the wire."""

from __future__ import annotations

import subprocess
import sys

import taonet.kernel  # noqa: F401  (registers the kernel's errors)
from taonet.kernel import errors
from taonet.ledger.errors import MessageTooLarge, TaonetError, error_from_wire, error_to_wire


def _all_error_classes() -> list[type[TaonetError]]:
    seen, todo = [], [TaonetError]
    while todo:
        cls = todo.pop()
        if cls in seen:  # a class with two parents in the tree is met twice
            continue
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def test_every_error_code_is_unique_across_the_tree() -> None:
    """No two classes declare the same CODE (codes rebuild errors on the other side of a socket)."""
    owners: dict[str, list[str]] = {}
    for cls in _all_error_classes():
        if "CODE" in cls.__dict__:
            owners.setdefault(cls.CODE, []).append(f"{cls.__module__}.{cls.__qualname__}")
    clashes = {code: names for code, names in owners.items() if len(names) > 1}
    assert not clashes


def test_wire_errors_map_to_their_status_codes() -> None:
    """Each wire error answers with the status Bittensor users test for."""
    cases = {
        errors.BadRequest("x"): 400,
        errors.InvalidSignature(): 401,
        errors.StaleRequest(age_s=30.0, window_s=22.0): 401,
        errors.ReplayedRequest(): 401,
        errors.WrongAxon(expected="a", got="b"): 401,
        errors.BodyHashMismatch(): 401,
        errors.NotVerified("no"): 401,
        errors.Blacklisted("no"): 403,
        errors.UnknownSynapse("X"): 404,
        errors.RequestTimeout(1.0): 408,
        MessageTooLarge(size=10, limit=5): 413,
        errors.ServerError("boom"): 500,
        errors.Overloaded("busy"): 503,
        RuntimeError("a bug"): 500,
    }
    for err, status in cases.items():
        assert errors.status_of(err) == status, err


def test_wire_and_wallet_errors_round_trip_through_error_to_wire() -> None:
    """Typed errors with fields are rebuilt as the same type with the same message."""
    for err in (errors.WrongAxon(expected="a", got="b"), errors.StaleRequest(age_s=1.5, window_s=12.0),
                errors.KeyFileExists("/w/coldkey"), errors.WrongPassword("/w/coldkey")):
        back = error_from_wire(error_to_wire(err))
        assert type(back) is type(err)
        assert str(back) == str(err)


def test_an_error_from_a_newer_peer_with_fields_this_version_lacks_keeps_its_type() -> None:
    """A newer peer may add optional fields to an error (SubnetNotFound gained ``block``): the fields this version
    knows rebuild the same type; one missing a required field falls back to a plain TaonetError with the code."""
    from taonet.ledger.errors import SubnetNotFound

    wire = error_to_wire(SubnetNotFound(netuid=3))
    wire["fields"]["added_later"] = 7
    back = error_from_wire(wire)
    assert type(back) is SubnetNotFound and back.netuid == 3
    del wire["fields"]["netuid"]
    back = error_from_wire(wire)
    assert type(back) is TaonetError and wire["code"] in str(back)


def test_error_tree_holds_one_class_per_error_before_any_garbage_collection() -> None:
    """Every class in the error tree is the one its module exports: no stale twin (attrs builds a slotted class as
    a second class object, the first lingering among ``__subclasses__()`` until a full collection)."""
    code = (
        "import gc\n"
        "gc.disable()\n"
        "import taonet.kernel, taonet.plugins.errors, taonet.tools.cli, taonet.tools.launcher, taonet.tools.replay\n"
        "import sys\n"
        "from taonet.ledger.errors import TaonetError\n"
        "seen, todo = [], [TaonetError]\n"
        "while todo:\n"
        "    cls = todo.pop()\n"
        "    seen.append(cls)\n"
        "    todo.extend(cls.__subclasses__())\n"
        "twins = [f'{c.__module__}.{c.__qualname__}' for c in seen if c.__module__.startswith('taonet.')\n"
        "         and getattr(sys.modules[c.__module__], c.__qualname__, None) is not c]\n"
        "print(len(seen), sorted(twins))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    count, twins = out.stdout.split(" ", 1)
    assert int(count) > 100  # the walk saw the whole tree
    assert twins.strip() == "[]"
