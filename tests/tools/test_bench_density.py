"""`taonet bench density --json` prints one JSON object: the check's and the decode's times (values not tested) and
its verdicts, which are behaviour: every honest payload accepted, every dense one refused."""

from __future__ import annotations

import json
import subprocess

import pytest

from .processes import TAONET_EXE

pytestmark = pytest.mark.slow


def test_bench_density_json_prints_one_object_with_times_and_the_checks_verdicts() -> None:
    out = subprocess.run([TAONET_EXE, "bench", "density", "--json", "--runs", "1"], capture_output=True, text=True,
                         timeout=180, check=True).stdout
    figures = json.loads(out)
    verdicts = {k.removesuffix("_accepted"): v for k, v in figures.items() if k.endswith("_accepted")}
    assert {k for k, v in verdicts.items() if v == 1} == {"bytes_16mib", "floats_1m", "half_floats_1m",
                                                          "token_ids_4m"}
    assert {k for k, v in verdicts.items() if v == 0} == {"empty_maps_16mib", "one_item_arrays_16mib",
                                                          "one_pair_maps_16mib", "one_byte_strings_16mib"}
    for name in verdicts:
        assert figures[f"{name}_check_ms"] > 0 and figures[f"{name}_check_p99_ms"] >= figures[f"{name}_check_ms"]
    assert figures["runs"] == 1 and "one process" in figures["process_layout"]
