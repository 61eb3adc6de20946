"""The epoch reproduces the real chain's own test vectors (shared/reference/yuma-vectors), read as they are.

Each vector is one test of subtensor's epoch.rs turned into inputs and asserted values. It is replayed here the
way the chain's test runs it: one epoch with no weights first (which stores the permits), then the epochs of the
scenario, with weights and bonds kept as u16 between epochs, bond columns reset and activity changed where the
vector says so. Every check must hold within its tolerance.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from taonet.ledger._yuma import YumaParams, YumaResult, yuma_epoch

ENV_VAR = "TAONET_YUMA_VECTORS"
RAO_EMISSION = 1_000_000_000  # every epoch in the chain's tests distributes 1e9 RAO
ACTIVITY_CUTOFF = 13  # the chain's cutoff at tempo 1: floor(13_889 * 1 / 1000) blocks
MOCK_MAX_ALLOWED_VALIDATORS = 100  # the chain's mock default, where a vector does not set it
KNOWN_PARAMS = {"kappa", "bond_penalty", "bonds_moving_average", "quantize_u16", "max_allowed_validators", "yuma3",
                "liquid_alpha", "alpha_low", "alpha_high", "alpha_sigmoid_steepness"}


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "yuma-vectors"
"""A verbatim copy of shared/reference/yuma-vectors, so that a clone alone (CI) holds the vectors."""


def find_shared_dir() -> Path | None:
    """The first ``shared/reference/yuma-vectors`` beside a parent of this file (the team's reference copy)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "reference" / "yuma-vectors"
        if candidate.is_dir():
            return candidate
    return None


def find_vector_dir() -> Path | None:
    """$TAONET_YUMA_VECTORS, else the repository's verbatim copy (checked against shared/ when it is there)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return FIXTURES if FIXTURES.is_dir() else None


VECTOR_DIR = find_vector_dir()
VECTOR_FILES: list[Path | None] = sorted(VECTOR_DIR.glob("*.json")) if VECTOR_DIR and VECTOR_DIR.is_dir() else [None]


def test_the_fixture_vectors_are_the_shared_reference_byte_for_byte() -> None:
    """The committed copy equals shared/reference/yuma-vectors wherever that directory is present."""
    shared = find_shared_dir()
    if shared is None:  # a clone on its own (CI): the committed copy is what there is
        assert FIXTURES.is_dir()
        return
    names = sorted(p.name for p in shared.glob("*.json"))
    assert names == sorted(p.name for p in FIXTURES.glob("*.json"))
    for name in names:
        assert (shared / name).read_bytes() == (FIXTURES / name).read_bytes(), name


# --- replaying a vector ------------------------------------------------------------------------------------------


def vector_params(doc: dict[str, Any]) -> YumaParams:
    """The vector's settings; what it leaves out takes the chain's mock defaults."""
    p = doc["params"]
    unknown = set(p) - KNOWN_PARAMS
    assert not unknown, f"vector sets parameters this harness does not know: {sorted(unknown)}"
    assert p.get("quantize_u16", True), "the epoch stores u16 weights and bonds; a float-state vector cannot be run"
    defaults = YumaParams()
    return YumaParams(
        kappa=p.get("kappa", defaults.kappa),
        bonds_moving_average=p.get("bonds_moving_average", 0.9),
        bonds_penalty=p.get("bond_penalty", 1.0),
        max_allowed_validators=p.get("max_allowed_validators", MOCK_MAX_ALLOWED_VALIDATORS),
        yuma3=p.get("yuma3", False),
        liquid_alpha=p.get("liquid_alpha", False),
        alpha_low=p.get("alpha_low", defaults.alpha_low),
        alpha_high=p.get("alpha_high", defaults.alpha_high),
        alpha_sigmoid_steepness=p.get("alpha_sigmoid_steepness", defaults.alpha_sigmoid_steepness),
        activity_cutoff=ACTIVITY_CUTOFF,
    )


def graph_inputs(doc: dict[str, Any], server_self: bool) -> tuple[np.ndarray, np.ndarray]:
    """Stake and weights of a vector given in words (test_512_graph): validators weight every server equally."""
    n = doc["n"]
    validators = np.asarray(doc["validators"])
    servers = np.setdiff1d(np.arange(n), validators)
    stake = np.zeros(n)
    stake[validators] = doc["stake_per_validator"]
    weights = np.zeros((n, n))
    weights[np.ix_(validators, servers)] = doc["weight_u16_validator_to_each_server"]
    if server_self:
        weights[servers, servers] = 65535
    return stake, weights


def replay(doc: dict[str, Any], stake: np.ndarray, weights_per_epoch: list[np.ndarray]) -> list[dict[str, Any]]:
    """Run the setup epoch, then one epoch per entry of ``weights_per_epoch``; the outputs after each."""
    params = vector_params(doc)
    n = stake.shape[0]
    registered = np.zeros(n, dtype=np.int64)  # every UID registers at block 0
    last_update = np.zeros(n, dtype=np.int64)
    permits = np.zeros(n, dtype=bool)
    bonds = np.zeros((n, n))
    actives = doc.get("active_per_epoch") or [[True] * n] * len(weights_per_epoch)
    resets = {int(k): int(v) for k, v in (doc.get("bond_resets") or {}).items()}
    outputs = []
    block, prev_block = 0, 0
    for epoch, weights in enumerate([np.zeros((n, n)), *weights_per_epoch]):
        if epoch > 0:
            # Far enough apart that a UID that did not set weights this epoch falls past the activity cutoff.
            block = 1 + (epoch - 1) * (ACTIVITY_CUTOFF + 2)
            last_update = np.where(np.asarray(actives[epoch - 1], dtype=bool), block, last_update)
            if epoch - 1 in resets:
                bonds[:, resets[epoch - 1]] = 0
        result = yuma_epoch(
            stake, weights, last_update=last_update, block_at_registration=registered, current_block=block,
            last_tempo_block=prev_block + 1 if epoch > 0 else 0, validator_permits=permits, bonds=bonds,
            owner_uid=None, params=params,
        )
        permits = result.validator_permits
        bonds = bonds.copy()
        bonds[result.bond_rows] = result.bonds_u16
        prev_block = block
        if epoch > 0:
            outputs.append(observe(result, bonds))
    return outputs


def observe(result: YumaResult, bonds: np.ndarray) -> dict[str, Any]:
    """What the chain's tests read back after an epoch, by the names the vectors use."""
    return {
        "consensus_u16": result.consensus_u16.astype(float),
        "incentive_u16": result.incentive_u16.astype(float),
        "dividends_u16": result.dividends_u16.astype(float),
        "dividends": result.dividends_u16 / 65535,  # the chain's tests read the stored u16 back as a proportion
        "emission": np.floor(result.combined_emission * RAO_EMISSION),
        "bonds_u16": bonds.copy(),
        "bonds": bonds / 65535,
    }


def run_vector(doc: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every run the vector's checks refer to, by run name ('' when the vector has a single run)."""
    if "n" in doc:
        epochs = int(re.search(r"(\d+) epochs", doc["description"]).group(1))
        runs = {}
        for server_self in (False, True):
            stake, weights = graph_inputs(doc, server_self)
            runs[f"server_self={str(server_self).lower()}"] = replay(doc, stake, [weights] * epochs)
        return runs
    stake = np.asarray(doc["stake"], dtype=float)
    if "weights_u16_per_epoch" in doc:
        per_epoch = [np.asarray(w, dtype=float) for w in doc["weights_u16_per_epoch"]]
    else:
        epochs = len(doc.get("active_per_epoch") or [None])
        per_epoch = [np.asarray(doc["weights_u16"], dtype=float)] * epochs
    return {"": replay(doc, stake, per_epoch)}


# --- reading a check's label ---------------------------------------------------------------------------------------

LABEL = re.compile(
    r"^(?:(?P<run>server_self=(?:true|false))\s+)?"
    r"(?:(?P<phase>[A-Z]|epoch\d+)\s+)?"
    r"(?:(?P<group>validators|servers)\s+)?"
    r"(?P<name>\w+)"
    r"(?:\[(?P<sel>[^\]]*)\])?"
    r"(?:\s*\(.*\))?$"
)


def groups(doc: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Validator and server UIDs: as the vector lists them, else the UIDs with and without stake."""
    if "validators" in doc:
        validators = np.asarray(doc["validators"])
        return validators, np.setdiff1d(np.arange(doc["n"]), validators)
    stake = np.asarray(doc["stake"])
    return np.flatnonzero(stake > 0), np.flatnonzero(stake == 0)


def index(token: str, doc: dict[str, Any]) -> Any:
    """One axis of a selector: ``a:b``, ``validators``/``val``, ``servers``, ``server0``, ``validator3``."""
    validators, servers = groups(doc)
    token = token.strip()
    if m := re.fullmatch(r"(\d*):(\d*)", token):
        return slice(int(m[1]) if m[1] else None, int(m[2]) if m[2] else None)
    if token in ("validators", "val"):
        return validators
    if token == "servers":
        return servers
    if m := re.fullmatch(r"(validator|server)(\d+)", token):
        return (validators if m[1] == "validator" else servers)[int(m[2])]
    raise AssertionError(f"unknown selector {token!r}")


def actual_for(label: str, doc: dict[str, Any], runs: dict[str, list[dict[str, Any]]]) -> np.ndarray:
    """The value a check's label names, from the replayed runs."""
    m = LABEL.match(label)
    assert m, f"cannot read check label {label!r}"
    outputs = runs[m["run"] or ""]
    phase = m["phase"]
    if phase is None:
        epoch = len(outputs) - 1
    elif phase.startswith("epoch"):
        epoch = int(phase[5:])
    else:
        epoch = ord(phase) - ord("A")
    value = outputs[epoch][m["name"]]
    if m["group"]:
        value = value[groups(doc)[0 if m["group"] == "validators" else 1]]
    if m["sel"]:
        axes = [index(t, doc) for t in m["sel"].split(",")]
        if len(axes) == 2 and not isinstance(axes[0], slice) and not isinstance(axes[1], slice):
            value = value[np.ix_(np.atleast_1d(axes[0]), np.atleast_1d(axes[1]))]
            value = value[:, 0] if np.ndim(axes[1]) == 0 else value
        else:
            value = value[tuple(axes)]
    return np.asarray(value, dtype=float)


# --- the tests ---------------------------------------------------------------------------------------------------


def test_vector_directory_is_found_and_holds_vectors() -> None:
    """The chain's vectors are where the repository layout (or $TAONET_YUMA_VECTORS) says; missing is a failure."""
    assert VECTOR_DIR is not None and VECTOR_DIR.is_dir(), (
        f"no shared/reference/yuma-vectors beside any parent of {Path(__file__).resolve()}; set ${ENV_VAR}")
    assert len(VECTOR_FILES) >= 5 and all(p is not None for p in VECTOR_FILES)


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem if p else "missing")
def test_epoch_reproduces_chain_vector(path: Path | None) -> None:
    """Every check of the vector holds within its tolerance."""
    assert path is not None, f"yuma vectors not found (set ${ENV_VAR})"
    doc = json.loads(path.read_text())
    assert doc["checks"], "a vector without checks proves nothing"
    runs = run_vector(doc)
    failures = []
    for check in doc["checks"]:
        actual = actual_for(check["label"], doc, runs)
        expected = np.asarray(check["expected"], dtype=float)
        assert actual.shape == expected.shape, f"{check['label']}: shape {actual.shape} vs {expected.shape}"
        if not (np.abs(actual - expected) <= check["tolerance"]).all():
            failures.append(f"{check['label']}: got {actual.tolist()}, expected {expected.tolist()} "
                            f"(tolerance {check['tolerance']})")
    assert not failures, "\n".join(failures)


def test_label_reader_picks_the_named_entries() -> None:
    """The label reader selects runs, phases, groups and 2-D selectors as the labels mean them."""
    doc = {"stake": [8.0, 1.0, 1.0, 0.0, 0.0]}
    bonds = np.arange(25.0).reshape(5, 5)
    outputs = [{"bonds": bonds * k, "dividends_u16": np.arange(5.0) + k} for k in range(3)]
    runs = {"": outputs}
    assert actual_for("epoch2 bonds[val, servers] (note)", doc, runs).tolist() == (2 * bonds[:3, 3:]).tolist()
    assert actual_for("B dividends_u16[0:2]", doc, runs).tolist() == [1.0, 2.0]
    assert actual_for("dividends_u16", doc, runs).tolist() == (np.arange(5.0) + 2).tolist()
    assert actual_for("epoch0 bonds[validators, server0]", doc, runs).tolist() == [0.0, 0.0, 0.0]
    assert actual_for("A bonds[0:2,3:5]", doc, runs).shape == (2, 2)
    with pytest.raises(AssertionError, match="unknown selector"):
        actual_for("A bonds[nobody]", doc, runs)
