"""Wall time and peak memory of ``reddplus demo`` end to end (report included). Target: <= 60 s on 2 cores.

Run:  .venv/bin/python benchmarks/bench_demo.py [--scale 1.0] [--repeat 1]
Prints one JSON line per run and the best time against the 60 s target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    times = []
    code = ("import sys; from reddplus.chain import run_demo; "
            f"r = run_demo(sys.argv[1], scale={args.scale}, overwrite=True); print(r.seconds)")
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code, str(Path(tmp) / "demo")], check=True,
                           stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        times.append(wall)
        print(json.dumps({"run": i, "scale": args.scale, "wall_s": round(wall, 1), "peak_rss_mb": round(rss),
                          "cpus": os.cpu_count()}))
    best = min(times)
    print(f"reddplus demo (scale {args.scale}): best {best:.1f} s; target {TARGET_S:.0f} s -> "
          f"{'met' if best <= TARGET_S else 'NOT met'} (x{TARGET_S / best:.2f} of the budget)")


if __name__ == "__main__":
    main()
