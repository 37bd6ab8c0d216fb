"""Stored results pin the engine: an optimisation that keeps the random stream
must reproduce them bit for bit (regenerate only for a deliberate model change:
``python tests/test_engine_reference.py --regenerate``)."""

import json
import sys
from pathlib import Path

import pytest

from hqsched.instances.model import Platform
from hqsched.instances.workload import WorkloadSpec
from hqsched.online.config import SimulationConfig
from hqsched.online.engine import simulate

REFERENCE = Path(__file__).parent / "data" / "engine_reference.json"
CASES = [(policy, mode) for policy in ("fifo", "lifo", "random", "weighted")
         for mode in ("serverless", "dedicated")]


def reference_summary(policy: str, mode: str) -> dict:
    config = SimulationConfig(Platform(1, 1e9, 4, 40, 40), policy=policy, classical_mode=mode,
                              duration_s=2 * 86400, warmup_s=6 * 3600,
                              workload=WorkloadSpec(600, (4, 6, 8, 10), (1, 2, 4)))
    return simulate(config, 11).summary


@pytest.mark.parametrize("policy,mode", CASES)
def test_engine_reproduces_stored_summary_bit_for_bit(policy, mode):
    stored = json.loads(REFERENCE.read_text())[f"{policy}/{mode}"]
    assert {k: repr(v) for k, v in reference_summary(policy, mode).items()} == stored


if __name__ == "__main__" and "--regenerate" in sys.argv:
    REFERENCE.write_text(json.dumps({f"{p}/{m}": {k: repr(v) for k, v in reference_summary(p, m).items()}
                                     for p, m in CASES}, indent=1) + "\n")
