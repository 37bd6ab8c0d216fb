"""Named, independent random streams derived from one user seed.

Each part of a run draws from its own stream, so changing one part (say the
quantum policy) leaves the others' draws untouched: two policies run with the
same seed see the same arrivals and the same jobs (common random numbers).
PCG64 with a fixed SeedSequence gives the same numbers on every machine.
"""

from __future__ import annotations

import numpy as np

_STREAM_IDS = {"workload": 0, "policy": 1, "instance": 2}


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of stream ``name`` ("workload", "policy", "instance") for ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _STREAM_IDS[name]])))
