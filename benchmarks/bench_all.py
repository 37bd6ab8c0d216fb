"""Every figure of the README's performance section in one command.

    python benchmarks/bench_all.py            # online, scaling, offline (about 15 min)
    python benchmarks/bench_all.py --quick    # offline: first four sizes only

Runs bench_online.py (throughput per policy), bench_scaling.py (duration,
memory, load, processes) and bench_offline.py (offline optimum vs size,
60 s limit) one after the other, each in its own process so that none
inherits another's warm caches. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="offline table: first four sizes only")
    args = ap.parse_args()
    runs = [("bench_online.py", []), ("bench_scaling.py", []),
            ("bench_offline.py", ["--quick"] if args.quick else [])]
    for script, extra in runs:
        print(f"\n### {script} {' '.join(extra)}".rstrip(), flush=True)
        code = subprocess.run([sys.executable, str(HERE / script), *extra]).returncode
        if code:
            print(f"{script} failed with exit code {code}", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
