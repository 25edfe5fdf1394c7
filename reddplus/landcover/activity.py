"""Activity data: forest area and deforestation per zone, period and year, streamed by blocks.

References
----------
1. Puyravaud J.-P. (2003) Standardizing the calculation of the annual rate of deforestation,
   Forest Ecology and Management 177:593-596, doi:10.1016/S0378-1127(02)00335-3 (compound rate).
2. FAO (1995) Forest resources assessment 1990, global synthesis (linear annual rate).
3. IPCC (2006) vol. 4, ch. 3, section 3.3.1 (activity data as areas of land-use change).
4. Verra (2024) VMD0055 v1.1, section 5.2 (activity data of the unplanned-deforestation baseline).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from reddplus.landcover.forest_change import NODATA, ForestChange, check_forest_present
from reddplus.raster import burn_zones, iter_blocks, map_blocks, read_zones

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ pure functions
def code_counts(codes: np.ndarray, zone_ids: np.ndarray | None, n_zones: int) -> np.ndarray:
    """Pixel counts per (zone, code): array (n_zones + 1, 256); zone 0 = outside every zone.

    .. math:: N_{z,c} = \\#\\{i : z_i = z, c_i = c\\}
    """
    c = codes.astype(np.int64).ravel()
    z = np.zeros_like(c) if zone_ids is None else zone_ids.astype(np.int64).ravel()
    return np.bincount(z * 256 + c, minlength=(n_zones + 1) * 256).reshape(n_zones + 1, 256)


def forest_area_ha(counts: np.ndarray, n_dates: int, pixel_area_ha: float) -> np.ndarray:
    """Forest area at each date [ha] from the code counts of one zone (array of 256).

    .. math:: A_k = a \\sum_{c > k, c \\ne 255} N_c
    """
    counts = np.asarray(counts, dtype=np.float64)
    return np.array([counts[k + 1:n_dates + 1].sum() * pixel_area_ha for k in range(n_dates)])


def deforestation_ha(counts: np.ndarray, n_dates: int, pixel_area_ha: float) -> np.ndarray:
    """Deforestation in each period (dates[k-1], dates[k]] [ha], k = 1..n-1: :math:`D_k = a N_k`."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts[1:n_dates] * pixel_area_ha


def annual_loss_ha(deforestation_by_period: Mapping[tuple[int, int], float]) -> dict[int, float]:
    """Deforestation per calendar year [ha/yr]: each period's loss spread evenly over its years.

    .. math:: D_y = \\frac{D_{(t_{k-1}, t_k]}}{t_k - t_{k-1}}, \\quad t_{k-1} < y \\le t_k

    Annual data (consecutive dates) are returned unchanged.
    """
    out = {}
    for (a, b), v in deforestation_by_period.items():
        for y in range(a + 1, b + 1):
            out[y] = v / (b - a)
    return out


def zone_deforestation_ha(codes: np.ndarray, mask: np.ndarray, dates: Sequence[int],
                          pixel_area_ha: float) -> dict[tuple[int, int], float]:
    """Deforestation per period ``(dates[k-1], dates[k]]`` inside a boolean ``mask`` [ha] (in-memory window)."""
    n = len(dates)
    d = deforestation_ha(code_counts(codes[mask], None, 0)[0], n, pixel_area_ha)
    return {(dates[k - 1], dates[k]): float(d[k - 1]) for k in range(1, n)}


def zone_deforestation_by_stratum_ha(codes: np.ndarray, mask: np.ndarray, strata: np.ndarray,
                                     stratum_codes: Sequence[int], dates: Sequence[int],
                                     pixel_area_ha: float) -> dict[int, dict[tuple[int, int], float]]:
    """Deforestation per stratum code and period inside ``mask`` [ha] (``strata``: integer codes, same shape)."""
    n = len(dates)
    counts = code_counts(codes[mask], strata[mask], int(max(stratum_codes)))
    per = {h: deforestation_ha(counts[h], n, pixel_area_ha) for h in stratum_codes}
    return {h: {(dates[k - 1], dates[k]): float(per[h][k - 1]) for k in range(1, n)} for h in stratum_codes}


def annual_rates(area_start_ha: float, area_end_ha: float, years: float) -> tuple[float, float]:
    """Annual deforestation rates [yr-1]: linear and compound (Puyravaud 2003 eq. 2).

    .. math:: r_{lin} = \\frac{A_1 - A_2}{A_1 (t_2 - t_1)}, \\qquad
              r_{comp} = \\frac{1}{t_2 - t_1} \\ln \\frac{A_1}{A_2}

    Positive values are losses. ``nan`` when the start area is zero; ``inf`` (compound) when all
    forest is lost.
    """
    if years <= 0:
        raise ValueError("the period must be at least one year")
    if area_start_ha <= 0:
        return float("nan"), float("nan")
    lin = (area_start_ha - area_end_ha) / (area_start_ha * years)
    comp = float(np.log(area_start_ha / area_end_ha) / years) if area_end_ha > 0 else float("inf")
    return float(lin), comp


# ------------------------------------------------------------------------------------------ result
@dataclass(frozen=True)
class ActivityResult:
    """Forest area and deforestation per zone (counts per code kept for exact re-aggregation)."""

    dates: tuple[int, ...]
    pixel_area_ha: float
    zones: tuple[str, ...]            # zone labels; "all" when no zone layer was given
    counts: np.ndarray                # (len(zones), 256) pixel counts per code
    nodata_pixels: int

    def _index(self, zone: str | None) -> int:
        if zone is None:
            if len(self.zones) != 1:
                raise KeyError("several zones: name one")
            return 0
        return self.zones.index(str(zone))

    def forest_area_ha(self, zone: str | None = None) -> dict[int, float]:
        """Forest area at each date [ha]."""
        a = forest_area_ha(self.counts[self._index(zone)], len(self.dates), self.pixel_area_ha)
        return dict(zip(self.dates, a.tolist()))

    def deforestation_ha(self, zone: str | None = None) -> dict[tuple[int, int], float]:
        """Deforestation per period (start, end] [ha]."""
        d = deforestation_ha(self.counts[self._index(zone)], len(self.dates), self.pixel_area_ha)
        return {(self.dates[k - 1], self.dates[k]): float(d[k - 1]) for k in range(1, len(self.dates))}

    def annual_loss_ha(self, zone: str | None = None) -> dict[int, float]:
        """Deforestation per year [ha/yr]; a multi-year period's loss is spread evenly over its years."""
        return annual_loss_ha(self.deforestation_ha(zone))

    def rows(self) -> list[dict]:
        out = []
        for z in self.zones:
            fa = self.forest_area_ha(z)
            for (a, b), v in self.deforestation_ha(z).items():
                lin, comp = annual_rates(fa[a], fa[b], b - a)
                out.append({"zone": z, "period": f"{a}-{b}", "start": a, "end": b, "forest_start_ha": fa[a],
                            "forest_end_ha": fa[b], "area_ha": v, "annual_ha": v / (b - a),
                            "rate_linear": lin, "rate_compound": comp})
        return out

    def table(self) -> pd.DataFrame:
        """Tidy table: one row per zone and period."""
        return pd.DataFrame(self.rows())

    def to_dict(self) -> dict:
        rows = self.rows()
        zones = []
        for z in self.zones:
            zones.append({"zone": z, "forest_area_ha": {str(d): v for d, v in self.forest_area_ha(z).items()},
                          "deforestation_ha": [{k: r[k] for k in ("period", "start", "end", "area_ha", "annual_ha",
                                                                   "rate_linear", "rate_compound")}
                                               for r in rows if r["zone"] == z]})
        return {"pixel_area_ha": self.pixel_area_ha, "dates": list(self.dates), "nodata_pixels": self.nodata_pixels,
                "zones": zones}


# ------------------------------------------------------------------------------------------ tool
def activity_data(forest_change: ForestChange, *, zones: str | os.PathLike | None = None,
                  zone_field: str | None = None, scheduler: str | None = None,
                  progress: Callable[[int], None] | None = None, memory_limit_bytes: int = 64 * 2**20,
                  block_size: int | None = None) -> ActivityResult:
    """Forest area and deforestation per zone, streamed by blocks (local threads or a Dask cluster).

    Parameters
    ----------
    forest_change : ForestChange
        From :func:`reddplus.landcover.open_forest_change`.
    zones : path, optional
        Zone polygons (any OGR format); burned with the pixel-centre rule, so zones never share a
        pixel. Without zones, the whole raster is one zone ``"all"``.
    zone_field : str, optional
        Attribute naming each zone (features with the same value form one zone).
    scheduler : str, optional
        Dask distributed scheduler address; local threads otherwise.
    progress : callable(n), optional
        Called as blocks complete.

    Returns
    -------
    ActivityResult
        Counts per (zone, code); areas = counts x pixel area [ha] (IPCC 2006 vol. 4 section 3.3.1).
    """
    fc = forest_change
    grid = fc.grid
    z = read_zones(zones, grid, field=zone_field) if zones is not None else None
    n_zones = len(z.ids) if z is not None else 0
    blocks = list(iter_blocks(grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=24,
                              block_size=block_size))

    def task(block):
        codes = fc.read_codes(block, with_halo=False)
        ids = burn_zones(z, grid, block) if z is not None else None
        return code_counts(codes, ids, n_zones)

    total = np.zeros((n_zones + 1, 256), dtype=np.int64)
    for _, c in map_blocks(task, blocks, scheduler=scheduler, progress=progress):
        total += c
    check_forest_present(total.sum(axis=0), fc.dates, ",".join(fc.paths))
    nodata = int(total[:, NODATA].sum())
    if z is None:
        labels, counts = ("all",), total[:1]
    else:
        labels, counts = tuple(z.labels), total[1:]
    return ActivityResult(fc.dates, grid.pixel_area_ha, labels, counts, nodata)
