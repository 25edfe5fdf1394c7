"""Without-project inputs the crediting chain passes to the CCB indicators (baseline and counterfactual).

The CCB without-project scenario (CCB v3.1 G2, CM1, B1) is the VCS baseline when the project uses
the VCS Program (CL1 linked to the baseline): :class:`BaselineInputs` carries the VT0007 baseline's
expected deforestation, per pixel (the fitted density raster and the per-year adjustment ratio,
VT0007 v1.0 section 5.1 step 6) or per zone and year, and the baseline's planned roads.
:class:`CounterfactualInputs` carries the matched-control deforestation of the pixel-matching
counterfactual (:mod:`reddplus.counterfactual`), shown beside the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

__all__ = ["BaselineInputs", "CounterfactualInputs", "allocated_ha"]


def allocated_ha(density_ha_per_pixel: np.ndarray, adjustment_ratio: float, pixel_area_ha: float) -> np.ndarray:
    """Expected deforestation per pixel in a year [ha]: the adjusted density capped at the pixel area.

    .. math:: \\hat d_i = \\min(AR_t\\,\\delta_i,\\; a)

    (VT0007 v1.0 section 5.1 step 6; the same rule as :func:`reddplus.baseline.allocation.allocate_array`).
    NaN densities (outside forest) count as 0.
    """
    d = np.nan_to_num(np.asarray(density_ha_per_pixel, dtype=np.float64), nan=0.0)
    return np.minimum(adjustment_ratio * d, pixel_area_ha)


@dataclass(frozen=True)
class BaselineInputs:
    """The VCS baseline as the CCB without-project land-use scenario.

    Attributes
    ----------
    source : str
        What the baseline is (e.g. ``"VT0007 benchmark risk map, historical_average rate"``); shown in the report.
    density_path : Path, optional
        Fitted deforestation density [ha/pixel/yr] on the forest-change grid (``risk.density_path`` of the
        chain), so the expected deforestation of any zone (HCV areas, catchments, the reserve buffer) follows:
        :math:`E_z(t) = \\sum_{i \\in z \\cap F(t_0)} \\min(AR_t \\delta_i, a)`.
    adjustment_ratio_by_year : mapping year -> float
        VT0007 adjustment ratio of each crediting year (``[a.ratio for a in alloc.adjustments]``).
    zone_ha_per_year : mapping zone -> {year: ha}
        Expected deforestation already allocated to named zones [ha/yr] (e.g. ``{"project_area":
        dict(zip(years, alloc.zone_ha_per_year["project"]))}``); used before the density for those zones.
    planned_roads : tuple of (path, opening_year)
        The baseline's planned roads (``cfg.baseline.planned_roads``): the without-project access.
    """

    source: str
    density_path: Path | None = None
    adjustment_ratio_by_year: Mapping[int, float] = field(default_factory=dict)
    zone_ha_per_year: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    planned_roads: tuple[tuple[Path, int], ...] = ()

    def to_dict(self) -> dict:
        return {"source": self.source, "density_path": str(self.density_path) if self.density_path else None,
                "adjustment_ratio_by_year": {str(k): float(v) for k, v in self.adjustment_ratio_by_year.items()},
                "zones_given": sorted(self.zone_ha_per_year), "planned_roads": [[str(p), int(y)]
                                                                               for p, y in self.planned_roads]}


@dataclass(frozen=True)
class CounterfactualInputs:
    """Matched-control deforestation (the ex-post counterfactual), shown beside the baseline.

    Attributes
    ----------
    source : str
    start_year : int [yr]
        The date the control fractions refer to (forest at that date = 1).
    control_fraction : mapping (y0, y1) -> float
        Mean matched-control deforestation in each period ``(y0, y1]`` as a share of the forest at
        ``start_year`` (:attr:`reddplus.counterfactual.tool.CounterfactualResult.control_fraction`, mean over
        the repeats). Applied to a zone, it assumes the zone's forest behaves like the project's matched
        controls (stated in the results).
    road_km_by_year, road_entries_by_year : mapping year -> value, optional
        Roads [km] and road pieces entering an area like the concession in the counterfactual (e.g. from
        the matched controls' surroundings); the pixel-matching counterfactual itself does not estimate
        road building, so without them the road indicators have no counterfactual value.
    """

    source: str
    start_year: int
    control_fraction: Mapping[tuple[int, int], float]
    road_km_by_year: Mapping[int, float] = field(default_factory=dict)
    road_entries_by_year: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def from_result(cls, cf, source: str = "pixel-matching counterfactual (matched controls)") -> "CounterfactualInputs":
        """From a :class:`reddplus.counterfactual.tool.CounterfactualResult` (mean over its repeats)."""
        mean = np.nanmean(np.asarray(cf.control_fraction, float), axis=0)
        return cls(source, int(cf.start_year), {tuple(map(int, p)): float(v) for p, v in zip(cf.periods, mean)})

    def fraction_over(self, y0: int, y1: int) -> float | None:
        """Control loss over ``(y0, y1]`` as a share of the forest at ``start_year``; None if not tiled."""
        if y0 < self.start_year:
            return None
        ps = sorted(p for p in self.control_fraction if p[0] >= y0 and p[1] <= y1)
        if not ps or ps[0][0] != y0 or ps[-1][1] != y1 or any(a[1] != b[0] for a, b in zip(ps, ps[1:])):
            return None
        return float(sum(self.control_fraction[p] for p in ps))

    def to_dict(self) -> dict:
        return {"source": self.source, "start_year": self.start_year,
                "control_fraction": {f"{a}-{b}": float(v) for (a, b), v in sorted(self.control_fraction.items())},
                "road_km_by_year": {str(y): float(v) for y, v in self.road_km_by_year.items()},
                "road_entries_by_year": {str(y): int(v) for y, v in self.road_entries_by_year.items()}}
