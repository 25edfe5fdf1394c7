"""The whole chain (``reddplus run``) at jurisdiction scale: wall time and peak RSS per raster size.

The built-in GENERATED sample landscape (seeded) is generated at the pixel size that gives each
requested number of pixels over its 200 x 160 km extent (2.5e7 px: 35.8 m; 1e8 px: 17.9 m;
4e8 px: 8.9 m), then ``reddplus run`` runs on it as a whole process (``--no-pdf``). Generation is
a separate process and is not measured (the generator holds its arrays in memory; the chain is
what must stream). Peak RSS is the run process's own (``os.wait4``).

Targets (issue: the whole chain at jurisdiction scale): peak RSS <= 2 GB at every size and growing at
most 1.2x from 2.5e7 to 1e8 px; <= 3 min for 1e8 px on 2 cores.

Run:  .venv/bin/python benchmarks/bench_chain_scale.py [--sizes 2.5e7,1e8] [--keep DIR]
``--dry-run 4e8`` prints the generator's pixel size and the run's block memory budget for a size
without generating it (4e8 px needs about 3 GB of rasters on disk and far more to generate).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_PIXELS = 2000 * 1600          # the sample at scale 1 (100 m)
TARGET_RSS_MB = 2048.0
TARGET_GROWTH = 1.2
TARGET_1E8_S = 180.0


def _scale(pixels: float) -> float:
    return math.sqrt(pixels / BASE_PIXELS)


def _measure(cmd: list[str]) -> tuple[float, float, int]:
    """Wall time [s], peak RSS [MB] and exit code of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # never a pipe: it would fill
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2.5e7,1e8", help="pixel counts, comma-separated")
    ap.add_argument("--dry-run", default="4e8", help="sizes only described, comma-separated ('' for none)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the generated landscapes and runs here")
    args = ap.parse_args()
    reddplus = str(Path(sys.executable).with_name("reddplus"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        for size in [float(s) for s in args.sizes.split(",") if s]:
            scale = _scale(size)
            land = root / f"land_{size:.0e}"
            gen = ("import sys; from reddplus.sample import generate_sample_landscape; "
                   f"generate_sample_landscape(sys.argv[1], scale={scale!r})")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", gen, str(land)], check=True, stdout=subprocess.DEVNULL)
            gen_s = time.perf_counter() - t0
            wall, rss, code = _measure([reddplus, "-q", "run", str(land / "project.toml"), "--out",
                                        str(root / f"run_{size:.0e}"), "--no-pdf", "--overwrite", "--json"])
            row = {"pixels": size, "pixel_m": round(100 / scale, 1), "generate_s": round(gen_s, 1),
                   "run_wall_s": round(wall, 1), "run_peak_rss_mb": round(rss), "exit_code": code,
                   "cpus": os.cpu_count()}
            results.append(row)
            print(json.dumps(row), flush=True)
    for size in [float(s) for s in args.dry_run.split(",") if s]:
        print(json.dumps({"pixels": size, "pixel_m": round(100 / _scale(size), 1), "dry_run": True,
                          "note": "not generated: the generator holds the landscape in memory and the rasters "
                                  "need several GB of disk; the run streams blocks of 64 MiB"}))
    ok = [r for r in results if r["exit_code"] == 0]
    for r in ok:
        verdict = "met" if r["run_peak_rss_mb"] <= TARGET_RSS_MB else "NOT met"
        print(f"{r['pixels']:.1e} px: {r['run_wall_s']:.0f} s, peak RSS {r['run_peak_rss_mb']} MB "
              f"(target <= {TARGET_RSS_MB:.0f} MB: {verdict})")
    if len(ok) >= 2:
        a, b = ok[0], ok[-1]
        growth = b["run_peak_rss_mb"] / a["run_peak_rss_mb"]
        print(f"RSS growth {a['pixels']:.1e} -> {b['pixels']:.1e} px: x{growth:.2f} "
              f"(target <= x{TARGET_GROWTH}: {'met' if growth <= TARGET_GROWTH else 'NOT met'}); "
              f"time x{b['run_wall_s'] / a['run_wall_s']:.2f} for x{b['pixels'] / a['pixels']:.1f} pixels")
    big = [r for r in ok if r["pixels"] >= 1e8]
    if big:
        print(f"1e8 px: {big[0]['run_wall_s']:.0f} s (target <= {TARGET_1E8_S:.0f} s: "
              f"{'met' if big[0]['run_wall_s'] <= TARGET_1E8_S else 'NOT met'})")
    if len(ok) < len(results):
        print(f"{len(results) - len(ok)} run(s) failed: {[r['pixels'] for r in results if r['exit_code']]}")


if __name__ == "__main__":
    main()
