"""Run every benchmark script in this folder in turn (``make bench``) and print their figures.

Each script prints its own figures and ratios (wall time, peak RSS, ratio against a peer tool or a
target). Peer tools (riskmapjnr, ...) are installed by the scripts that need them, as described in
their docstrings; a script that cannot run here reports why and the others go on.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(names: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    if names:
        scripts = [p for p in scripts if any(n in p.stem for n in names)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)])
        print(f"=== {script.name}: exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
