"""Landscape metrics: hand-computed answers, pylandstats agreement, streamed == whole array."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reddplus.ccb.landscape import class_metrics, core_mask, edge_count, streamed_class_metrics
from reddplus.raster import iter_blocks


def _streamed(forest, land, block_size, cell=30.0, depth=30.0):
    halo = max(1, int(np.ceil(depth / cell)))
    blocks = list(iter_blocks(forest.shape, halo=halo, block_size=block_size))

    def masks(b):
        rw = b.read_window
        sl = (slice(int(rw.row_off), int(rw.row_off + rw.height)), slice(int(rw.col_off), int(rw.col_off + rw.width)))
        return {"z": (forest[sl], land[sl])}

    return streamed_class_metrics(masks, blocks, cell_m=cell, edge_depth_m=depth)["z"]


def test_hand_computed_two_patches():
    """4 x 4 landscape, 30 m pixels, forest = a 2 x 2 block and a 1 x 2 bar:

        F F . .
        F F . F
        . . . F
        . . . .

    Two 8-connected patches (4 and 2 pixels; (1,1)-(1,3) are not adjacent). Shared forest/non-forest
    sides: the 2 x 2 block touches 4 non-forest sides inside the landscape (right of (0,1), (1,1),
    below (1,0), (1,1)); the bar 4 ((0,3) above, (1,2), (2,2) left, (3,3) below; its right side is the
    landscape boundary). TE = 8 x 30 = 240 m. A = 16 x 0.09 = 1.44 ha; ED = 240 / 1.44 = 166.67 m/ha; MESH = (0.36^2 + 0.18^2) / 1.44 = 0.1125 ha;
    AREA_MN = 0.54 / 2 = 0.27 ha; core (edge depth 1 cell, the landscape boundary is edge) = 0.
    """
    f = np.zeros((4, 4), bool)
    f[0:2, 0:2] = True
    f[1:3, 3] = True
    land = np.ones_like(f)
    m = class_metrics(f, land, 30.0, 30.0)
    assert m.number_of_patches == 2
    assert m.total_edge_m == pytest.approx(240.0)
    assert m.landscape_area_ha == pytest.approx(1.44)
    assert m.forest_area_ha == pytest.approx(0.54)
    assert m.edge_density_m_per_ha == pytest.approx(240.0 / 1.44)
    assert m.effective_mesh_size_ha == pytest.approx(0.1125)
    assert m.mean_patch_area_ha == pytest.approx(0.27)
    assert m.core_area_ha == 0.0
    assert m.forest_cover_percent == pytest.approx(37.5)


def test_hand_computed_core_and_diagonal_patch():
    """A 5 x 5 all-forest square in a 7 x 7 landscape: one patch, core (depth 1) = the inner 3 x 3.

    A diagonal pair of pixels is one 8-connected patch (FRAGSTATS' 8-cell rule). Pixels outside
    the landscape are the boundary: neither edge nor forest.
    """
    f = np.zeros((7, 7), bool)
    f[1:6, 1:6] = True
    m = class_metrics(f, np.ones_like(f), 100.0, 100.0)
    assert m.number_of_patches == 1
    assert m.core_area_ha == pytest.approx(9.0)       # 3 x 3 pixels of 1 ha
    assert m.total_edge_m == pytest.approx(20 * 100.0)  # the square's perimeter, 20 sides
    assert m.effective_mesh_size_ha == pytest.approx(25.0 ** 2 / 49.0)
    d = np.zeros((3, 3), bool)
    d[0, 0] = d[1, 1] = True
    assert class_metrics(d, np.ones_like(d), 30.0, 30.0).number_of_patches == 1
    # the landscape boundary is not edge: forest beside pixels outside the zone has no edge there
    land = np.ones((3, 3), bool)
    land[:, 2] = False
    f3 = np.zeros((3, 3), bool)
    f3[:, 1] = True
    assert edge_count(f3, land) == 3                  # only the sides towards column 0
    assert core_mask(np.ones((5, 5), bool), 2).sum() == 1


def test_agrees_with_pylandstats():
    """Same definitions as pylandstats 3 (Bosch 2019) with count_boundary=False and nodata outside the zone."""
    pls = pytest.importorskip("pylandstats")
    rng = np.random.default_rng(3)
    f = rng.random((40, 50)) < 0.6
    land = rng.random((40, 50)) < 0.95
    arr = np.where(land, np.where(f, 1, 2), 0).astype(np.uint8)
    ls = pls.Landscape(arr, res=(30, 30), nodata=0)
    m = class_metrics(f, land, 30.0, 60.0)
    assert m.number_of_patches == ls.number_of_patches(class_val=1)
    assert m.total_edge_m == pytest.approx(ls.total_edge(class_val=1))
    assert m.edge_density_m_per_ha == pytest.approx(ls.edge_density(class_val=1))
    assert m.effective_mesh_size_ha == pytest.approx(ls.effective_mesh_size(class_val=1))
    assert m.mean_patch_area_ha == pytest.approx(ls.area_mn(class_val=1))
    assert m.core_area_ha == pytest.approx(ls.total_core_area(class_val=1, edge_depth=2))


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 8, 13, 64])
def test_streamed_equals_whole_array(block_size):
    rng = np.random.default_rng(block_size)
    f = rng.random((37, 41)) < 0.55
    land = rng.random((37, 41)) < 0.97
    assert _streamed(f, land, block_size, depth=60.0) == class_metrics(f, land, 30.0, 60.0)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 30), w=st.integers(1, 30), p=st.floats(0.0, 1.0), bs=st.integers(1, 12),
       seed=st.integers(0, 2**16), depth=st.integers(1, 3))
def test_streamed_equals_whole_array_property(h, w, p, bs, seed, depth):
    """Patches that snake across many block seams and corners are merged exactly (union-find over the seams)."""
    rng = np.random.default_rng(seed)
    f = rng.random((h, w)) < p
    land = rng.random((h, w)) < 0.9
    assert _streamed(f, land, bs, cell=10.0, depth=10.0 * depth) == class_metrics(f, land, 10.0, 10.0 * depth)


def test_spiral_patch_across_blocks_is_one_patch():
    """A one-pixel-wide spiral crossing every seam of 3 x 3 blocks is still a single patch."""
    n = 21
    f = np.zeros((n, n), bool)
    r0, c0, r1, c1 = 0, 0, n - 1, n - 1
    while r0 <= r1 and c0 <= c1:
        f[r0, c0:c1 + 1] = True
        f[r0:r1 + 1, c1] = True
        f[r1, c0:c1 + 1] = True
        f[r0 + 2:r1 + 1, c0] = True
        r0, c0, r1, c1 = r0 + 2, c0 + 2, r1 - 2, c1 - 2
        if r0 <= r1:
            f[r0, c0 - 1] = True
    land = np.ones_like(f)
    whole = class_metrics(f, land, 30.0, 30.0)
    assert _streamed(f, land, 3) == whole
    assert whole.number_of_patches == 1


def test_blocks_outside_every_zone_may_be_skipped():
    """Only blocks near the zones are read: an L-shaped subset of the tiling merges exactly too."""
    from reddplus.ccb.landscape import block_part, merge_parts, metrics_from_patches

    rng = np.random.default_rng(5)
    f = rng.random((24, 24)) < 0.6
    land = np.ones_like(f)
    land[12:, 12:] = False          # the lower-right quarter is outside the zone: its blocks are skipped
    blocks = [b for b in iter_blocks(f.shape, halo=1, block_size=4) if not (b.row_off >= 12 and b.col_off >= 12)]
    parts = []
    for b in blocks:
        rw = b.read_window
        sl = (slice(int(rw.row_off), int(rw.row_off + rw.height)), slice(int(rw.col_off), int(rw.col_off + rw.width)))
        parts.append(block_part(f[sl], land[sl], b.core_slices, row_off=b.row_off, col_off=b.col_off, depth_px=1))
    patch, n_land, edges, core = merge_parts(parts)
    assert metrics_from_patches(patch, n_land, edges, core, 30.0, 30.0) == class_metrics(f, land, 30.0, 30.0)
