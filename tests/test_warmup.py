"""``python -m reddplus.warmup`` compiles the numba kernels into the on-disk cache that later processes load."""

import subprocess
import sys

import pytest

CHECK = """
import warnings; warnings.simplefilter("ignore")
from reddplus import warmup
from reddplus.risk import vt0007 as v, localrate
from reddplus.counterfactual import matching
warmup.warm_kernels()
kernels = [v._sq_edt_strip_kernel, v._row_bounds_kernel, v._classes_kernel, v._udef_classes_kernel,
           v._region_counts_kernel, localrate._local_rate_kernel, matching._greedy_pass]
print(sum(sum(k.stats.cache_hits.values()) for k in kernels), sum(sum(k.stats.cache_misses.values()) for k in kernels))
"""


@pytest.mark.slow
def test_a_second_process_loads_every_kernel_from_the_cache():
    subprocess.run([sys.executable, "-m", "reddplus.warmup"], check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", CHECK], check=True, capture_output=True, text=True).stdout.split()
    hits, misses = int(out[-2]), int(out[-1])
    assert hits >= 7 and misses == 0
