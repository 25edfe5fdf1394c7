"""Benchmark: Monte Carlo AGB for 1e5 trees x 1,000 draws (target <= 10 s on 2 cores).

Run: ``python benchmarks/bench_stocks_montecarlo.py [N_TREES] [N_DRAWS]``. Prints wall time,
throughput and peak resident memory (RSS) of the process. Trees are synthetic (Nouragues-like
diameters, 200 plots) with a log2 height model, wood density SD and Chave 2004 diameter errors,
i.e. every error source of BIOMASS ``AGBmonteCarlo`` switched on.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np

from reddplus.stocks.height import HeightModel
from reddplus.stocks.montecarlo import CHUNK_TREES, agb_monte_carlo


def main(n_trees: int = 100_000, n_draws: int = 1000) -> None:
    rng = np.random.default_rng(0)
    diameter = 10 + rng.weibull(0.8828, n_trees) * 12.019  # [cm], Nouragues-like (see reddplus/data/PROVENANCE.md)
    wood_density = rng.uniform(0.35, 0.95, n_trees)        # [g cm-3]
    wood_density_sd = np.full(n_trees, 0.0708)              # [g cm-3]
    plot = rng.integers(0, 200, n_trees)
    hm = HeightModel("log2", {"a": 0.51694978, "b": 1.14188111, "c": -0.09854285}, 4.329727, 0.2240379, None, 888,
                     True)
    agb_monte_carlo(diameter[:2000], wood_density[:2000], wood_density_sd[:2000], height_model=hm, n_draws=50,
                    seed=0)  # warm-up (imports, draws table)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    r = agb_monte_carlo(diameter, wood_density, wood_density_sd, height_model=hm, plot=plot, n_draws=n_draws, seed=1)
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = r.total
    print(f"Monte Carlo AGB: {n_trees:,} trees x {n_draws:,} draws on {os.cpu_count()} cores "
          f"(chunks of {CHUNK_TREES} trees)")
    print(f"wall time        {wall:8.2f} s   (target <= 10 s; ratio {wall / 10:.2f} of target)")
    print(f"throughput       {n_trees * n_draws / wall / 1e6:8.1f} M tree-draws/s")
    print(f"peak RSS         {rss:8.0f} MiB (before the run: {rss0:.0f} MiB)")
    print(f"total AGB        {t.mean:8.1f} Mg (sd {t.sd:.1f}, 95% {t.ci95[0]:.1f}-{t.ci95[1]:.1f})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
