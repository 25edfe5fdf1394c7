"""Activity data from a reference sample: sample-based deforestation areas of the jurisdiction, project and belt.

Verra's data service providers estimate a jurisdiction's activity data from photo-interpreted sample
points, not from map pixel counts (VMD0055 v1.1, Appendix 1; VM0048). A reference sample is a table
of points, each with its sampling **stratum**, its **map** class (what the forest-change map says
for the period) and its **reference** class (what an interpreter saw). With the stratum sizes counted
on the map, the stratified estimators of :mod:`reddplus.accuracy` give the area of each reference
class with its standard error (Olofsson et al. 2014 when the strata are the map classes; Stehman
2014 when they are not, e.g. map classes within the project, the leakage belt and the rest of the
jurisdiction). The map counts are reported beside the estimates; the sampling standard errors are
what the uncertainty deduction takes.

Classes and strata
------------------
Map and reference classes of a period ``(start, end]`` (two forest-change dates):

* ``deforestation``: forest at ``start``, not forest at ``end`` (:data:`CLASSES`);
* ``forest``: forest at ``end``;
* ``non_forest``: not forest at ``start``.

(spaces and hyphens read as underscores, case ignored). A stratum is ``CLASS`` (the strata are the
map classes over the whole jurisdiction) or ``ZONE/CLASS`` with ``ZONE`` one of :data:`ZONES`:
``project``, ``leakage_belt`` or ``other`` (the rest of the jurisdiction). Optional **date
buffer** strata (:data:`STRATUM_CLASSES`) isolate the pixels on either side of the period's
boundaries, where interpreters most often date a loss on the wrong side: ``non_forest_recent``
(non-forest at ``start``, lost in the forest-change interval that ends at ``start``),
``deforestation_edge`` (lost in the period's first or last interval) and ``forest_next`` (forest at
``end``, lost in the interval that starts at ``end``); their map classes are ``non_forest``,
``deforestation`` and ``forest``. They are the temporal analogue of the buffer stratum that
Olofsson et al. (2020) recommend against omission errors: without them a dating error is a rare
event in a large stratum, whose sampling distribution is far from normal. Zones are burned with the pixel-centre rule; a project pixel is never a belt pixel;
pixels outside the jurisdiction are not in the population. Every stratum that has pixels must be
sampled, at least twice; a period's strata are all of one form (with or without zones; with date
buffers when any buffer stratum appears).

Sample table (CSV; the points ``reddplus accuracy design`` writes, once interpreted)::

    point_id,period,x,y,lon,lat,stratum,map,reference
    1,2010-2020,-1043350,2250950,-70.3,-12.2,project/forest,forest,forest
    2,2010-2020,-1001150,2180050,-69.9,-12.8,other/deforestation,deforestation,forest

``stratum``, ``map`` and ``reference`` are required. ``period`` (``START-END``, two forest-change
dates) is optional when the caller names the period. ``x, y`` (the raster CRS) are optional; with
them every point's map class and zone are checked against the map, and with strata that are only
map classes they place the points in the project or the belt (domain estimation).

References
----------
1. Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
   Good practices for estimating area and assessing accuracy of land change. Remote Sens. Environ.
   148:42-57, doi:10.1016/j.rse.2014.02.015 (eqs. 9-12; sample design, section 5.1).
2. Stehman, S. V. (2014). Estimating area and map accuracy for stratified random sampling when the
   strata are different from the map classes. Int. J. Remote Sens. 35(13):4923-4939,
   doi:10.1080/01431161.2014.930207 (eqs. 3, 25; a domain's area is the stratified estimate of the
   indicator "reference class k and inside the domain").
3. Cochran, W. G. (1977). Sampling Techniques, 3rd ed., section 5A.14 (domain estimation).
4. Olofsson, P., Arévalo, P., Espejo, A. B., Green, C., Lindquist, E., McRoberts, R. E., Sanz, M. J.
   (2020). Mitigating the effects of omission errors on area and accuracy estimates of land change.
   Remote Sens. Environ. 236:111492, doi:10.1016/j.rse.2019.111492 (buffer strata).
5. Verra (2024) VMD0055 v1.1, Appendix 1 (jurisdictional activity data from sample-based estimates);
   VM0048 v1.0 (uncertainty of the activity data).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from reddplus.accuracy.olofsson import estimate_from_error_matrix
from reddplus.accuracy.result import AreaAccuracyEstimate, z_score
from reddplus.accuracy.stehman import estimate_from_samples, stratified_proportion
from reddplus.errors import InputDataError, ZoneError

log = logging.getLogger(__name__)

__all__ = ["CLASSES", "DOMAINS", "MAP_CLASS_OF", "STRATUM_CLASSES", "ZONES", "DomainActivity", "PeriodActivityEstimate", "ReferenceSample",
           "ReferenceSampleActivity", "ReferenceSampleConfig", "StrataCounts", "count_reference_strata",
           "estimate_period_activity", "parse_stratum", "stratum_form", "period_classes", "period_stratum_classes",
           "read_reference_sample", "reference_sample_activity", "stratum_codes", "stratum_label"]

#: map / reference classes, coded 1, 2, 3 on the grid (0 = no data)
CLASSES = ("deforestation", "forest", "non_forest")
#: classes of the strata, coded 1..6: the map classes and the three date-buffer strata
STRATUM_CLASSES = CLASSES + ("forest_next", "non_forest_recent", "deforestation_edge")
#: map class of each stratum class
MAP_CLASS_OF = {"deforestation": "deforestation", "forest": "forest", "non_forest": "non_forest",
                "forest_next": "forest", "non_forest_recent": "non_forest", "deforestation_edge": "deforestation"}
_BUFFERS = ("forest_next", "non_forest_recent", "deforestation_edge")
_ZONE_STEP = 8
#: zones of a zoned stratification, coded 1, 2, 3 (0 = outside the jurisdiction); "other" = the rest
ZONES = ("project", "leakage_belt", "other")
#: domains whose deforestation is estimated
DOMAINS = ("jurisdiction", "project", "leakage_belt")


class ReferenceSampleConfig(BaseModel):
    """The ``[activity_data]`` keys (documented fields; the lead's project model can embed them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reference_sample: Path | None = Field(
        None, description="CSV of interpreted sample points: stratum, map, reference [, period, x, y] "
                          "(reddplus.accuracy.reference); activity data then come from it, not from pixel counts")
    confidence: float = Field(0.90, gt=0.5, lt=1, description="level of the reported confidence intervals")
    finite_population_correction: bool = Field(
        False, description="apply 1 - n_h/N_h (Stehman 2014 eq. 25); negligible for pixel populations and "
                           "ignored by Olofsson et al. 2014")


# ------------------------------------------------------------------------------------------ pure functions
def period_classes(codes: np.ndarray, k0: int, k1: int) -> np.ndarray:
    """Map class of each pixel in the period between date indices ``k0`` and ``k1`` (canonical codes).

    Parameters
    ----------
    codes : uint8 array
        Canonical forest-change codes (:mod:`reddplus.landcover.forest_change`; 255 = no data).
    k0, k1 : int
        Date indices of the period's start and end (``k0 < k1``).

    Returns
    -------
    uint8 array
        1 = deforestation (:math:`k_0 < c \\le k_1`), 2 = forest (:math:`c > k_1`), 3 = non-forest
        (:math:`c \\le k_0`), 0 = no data.
    """
    c = np.asarray(codes)
    out = np.where(c > k1, 2, np.where(c > k0, 1, 3)).astype(np.uint8)
    out[c == 255] = 0
    return out


def period_stratum_classes(codes: np.ndarray, k0: int, k1: int, n_dates: int, date_buffers: bool) -> np.ndarray:
    """Stratum class of each pixel in a period: the map classes, optionally with the date buffers.

    Parameters
    ----------
    codes : uint8 array
        Canonical forest-change codes (255 = no data).
    k0, k1 : int
        Date indices of the period's start and end.
    n_dates : int
        Number of forest-change dates (code ``n_dates`` = forest at every date).
    date_buffers : bool
        Split ``non_forest_recent`` (code :math:`c = k_0 \\ge 1`: lost in the interval ending at the
        start), ``deforestation_edge`` (:math:`c \\in \\{k_0 + 1, k_1\\}`: lost in the period's first
        or last interval) and ``forest_next`` (:math:`c = k_1 + 1 < n`: lost in the interval starting
        at the end).

    Returns
    -------
    uint8 array
        Codes 1..6 of :data:`STRATUM_CLASSES` (4 to 6 only with ``date_buffers``), 0 = no data.
    """
    c = np.asarray(codes)
    out = period_classes(c, k0, k1)
    if date_buffers:
        if k1 + 1 < n_dates:
            out[c == k1 + 1] = 4
        if k0 >= 1:
            out[c == k0] = 5
        out[(c == k0 + 1) | (c == k1)] = 6
    return out


def stratum_codes(classes: np.ndarray, zones: np.ndarray | None) -> np.ndarray:
    """Stratum code of each pixel: the stratum class (1..6), or ``8 * zone + class`` with zones 1..3; 0 = none.

    ``zones`` None gives strata without zones.
    """
    cls = np.asarray(classes).astype(np.int64)
    if zones is None:
        return cls
    z = np.asarray(zones).astype(np.int64)
    return np.where((z > 0) & (cls > 0), _ZONE_STEP * z + cls, 0)


def stratum_label(code: int) -> str:
    """``1`` -> ``"deforestation"``; ``8 * zone + class`` -> ``"project/deforestation"``."""
    code = int(code)
    if code < _ZONE_STEP:
        return STRATUM_CLASSES[code - 1]
    return f"{ZONES[code // _ZONE_STEP - 1]}/{STRATUM_CLASSES[code % _ZONE_STEP - 1]}"


def stratum_form(labels: Sequence[str]) -> tuple[bool, bool]:
    """(zoned, date_buffers) of a set of stratum labels: any ``ZONE/`` prefix; any date-buffer class."""
    parsed = [parse_stratum(v) for v in labels]
    return (any(z is not None for z, _ in parsed),
            any(c in _BUFFERS for _, c in parsed))


def _canon(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def parse_stratum(label: str) -> tuple[str | None, str]:
    """``"project/forest"`` -> ``("project", "forest")``; ``"forest_next"`` -> ``(None, "forest_next")``.

    Raises ValueError for an unknown zone or class.
    """
    parts = [_canon(p) for p in str(label).split("/")]
    if len(parts) == 1 and parts[0] in STRATUM_CLASSES:
        return None, parts[0]
    if len(parts) == 2 and parts[0] in ZONES and parts[1] in STRATUM_CLASSES:
        return parts[0], parts[1]
    raise ValueError(label)


# ------------------------------------------------------------------------------------------ strata sizes
@dataclass(frozen=True)
class StrataCounts:
    """Pixel counts per zone and forest-change code, from which every period's strata follow.

    Attributes
    ----------
    dates : tuple of int
    pixel_area_ha : float [ha]
    counts : int array (4, 256) [pixels]
        Row 0 outside the jurisdiction, rows 1..3 the zones :data:`ZONES`; columns the canonical codes.
    zones_given : tuple of str
        Which of ``project``, ``leakage_belt`` had a layer.
    """

    dates: tuple[int, ...]
    pixel_area_ha: float
    counts: np.ndarray
    zones_given: tuple[str, ...]

    def date_index(self, year: int, *, what: str = "period") -> int:
        if int(year) not in self.dates:
            raise InputDataError(f"{year} is not a forest-change date ({self.dates[0]}..{self.dates[-1]})",
                                 column=what)
        return self.dates.index(int(year))

    def class_pixels(self, start: int, end: int) -> np.ndarray:
        """(zone 1..3, class 1..3) pixel counts of the period -> array (3, 3) [pixels]."""
        k0, k1 = self.date_index(start), self.date_index(end)
        c = np.arange(256)
        cls = period_classes(c.astype(np.uint8), k0, k1)
        out = np.zeros((3, 3), np.int64)
        for k in range(3):
            out[:, k] = self.counts[1:, cls == k + 1].sum(axis=1)
        return out

    def stratum_pixels(self, start: int, end: int, zoned: bool, date_buffers: bool = False) -> dict[str, int]:
        """``{stratum label: pixels}`` of the period (every stratum of that form, empty ones included)."""
        k0, k1 = self.date_index(start), self.date_index(end)
        sc = period_stratum_classes(np.arange(256).astype(np.uint8), k0, k1, len(self.dates), date_buffers)
        names = STRATUM_CLASSES if date_buffers else CLASSES
        per = {(z, k): int(self.counts[z + 1, sc == k + 1].sum()) for z in range(3) for k in range(len(names))}
        if not zoned:
            return {names[k]: sum(per[z, k] for z in range(3)) for k in range(len(names))}
        return {f"{ZONES[z]}/{names[k]}": per[z, k] for z in range(3) for k in range(len(names))}


def count_reference_strata(forest_change, *, jurisdiction: str | os.PathLike, project: str | os.PathLike | None = None,
                           leakage_belt: str | os.PathLike | None = None, scheduler: str | None = None,
                           block_size: int | None = None, memory_limit_bytes: int = 64 * 2**20) -> StrataCounts:
    """Count the forest-change codes of every zone, streamed by blocks (one pass serves every period).

    Zones: the jurisdiction (union of its polygons), the leakage belt and the project inside it,
    burned with the pixel-centre rule (:func:`reddplus.raster.burn_zones`); the project wins where
    the layers overlap.
    """
    from reddplus.landcover import code_counts
    from reddplus.raster import iter_blocks, map_blocks

    fc = forest_change
    layers = _zone_layers(fc.grid, jurisdiction, project, leakage_belt)
    blocks = list(iter_blocks(fc.grid.shape, memory_limit_bytes=memory_limit_bytes, bytes_per_pixel=40,
                              block_size=block_size))

    def task(block):
        return code_counts(fc.read_codes(block, with_halo=False), _burn_domains(layers, fc.grid, block), 3)

    total = np.zeros((4, 256), np.int64)
    for _, c in map_blocks(task, blocks, scheduler=scheduler):
        total += c
    return StrataCounts(tuple(int(d) for d in fc.dates), fc.grid.pixel_area_ha, total,
                        tuple(n for n in ("project", "leakage_belt") if layers.get(n) is not None))


def _zone_layers(grid, jurisdiction, project, leakage_belt) -> dict:
    from reddplus.raster import read_zones

    return {"jurisdiction": read_zones(jurisdiction, grid, dissolve=True),
            "project": read_zones(project, grid, dissolve=True) if project is not None else None,
            "leakage_belt": read_zones(leakage_belt, grid, dissolve=True) if leakage_belt is not None else None}


def _burn_domains(layers: dict, grid, block) -> np.ndarray:
    """Zone code of each pixel of a block: 1 project, 2 leakage belt, 3 other, 0 outside the jurisdiction."""
    from reddplus.raster import burn_zones

    inside = burn_zones(layers["jurisdiction"], grid, block) > 0
    z = np.where(inside, 3, 0).astype(np.int64)
    for code, name in ((2, "leakage_belt"), (1, "project")):
        if layers.get(name) is not None:
            z[(burn_zones(layers[name], grid, block) > 0) & inside] = code
    return z


# ------------------------------------------------------------------------------------------ reading the sample
@dataclass(frozen=True)
class ReferenceSample:
    """A validated reference sample.

    Attributes
    ----------
    path : str
    table : pandas.DataFrame
        ``row`` (1-based data row of the file), ``start``, ``end`` [date years], ``stratum``,
        ``zone`` (None for strata without zones), ``stratum_class``, ``map``, ``reference``, and
        ``x``, ``y`` when given.
    has_coordinates : bool
    """

    path: str
    table: pd.DataFrame = field(repr=False)
    has_coordinates: bool

    @property
    def periods(self) -> tuple[tuple[int, int], ...]:
        return tuple(sorted({(int(a), int(b)) for a, b in zip(self.table["start"], self.table["end"])}))


def read_reference_sample(path: str | os.PathLike, *, period: tuple[int, int] | None = None) -> ReferenceSample:
    """Read and validate a reference sample (module docstring: format).

    Parameters
    ----------
    period : (start, end) [year], optional
        The period of rows without a ``period`` column (required when the file has none).

    Raises
    ------
    InputDataError
        Naming the file, the row (1-based, header excluded) and the column: a missing column, an empty
        cell (an uninterpreted point), an unknown class in ``map`` or ``reference``, a stratum that is
        not ``CLASS`` or ``ZONE/CLASS``, a map class that differs from its stratum's class, strata of
        both forms in one period, an unreadable period or coordinate.
    """
    from reddplus.accuracy.io import read_text_table

    path = str(path)
    df = read_text_table(path)
    required = ["stratum", "map", "reference"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputDataError(f"missing column(s) {missing}; a reference sample has stratum, map, reference "
                             f"[, period, x, y] (found {list(df.columns)})", path=path, column=missing[0])
    if len(df) == 0:
        raise InputDataError("the reference sample has no rows", path=path)
    has_period = "period" in df.columns
    if not has_period and period is None:
        raise InputDataError("no 'period' column and no period given: say which period the sample is for",
                             path=path, column="period")
    has_xy = "x" in df.columns and "y" in df.columns
    if ("x" in df.columns) != ("y" in df.columns):
        raise InputDataError("give both x and y, or neither", path=path, column="x" if "y" not in df.columns else "y")
    cols = required + (["period"] if has_period else []) + (["x", "y"] if has_xy else [])
    for c in cols:
        empty = np.flatnonzero(df[c].to_numpy() == "")
        if len(empty):
            what = "not interpreted (empty reference class)" if c == "reference" else "empty value"
            raise InputDataError(what, path=path, row=int(empty[0]) + 1, column=c)
    rows = []
    scheme: dict[tuple[int, int], tuple[bool, int]] = {}
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        if has_period:
            m = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", rec["period"])
            if not m or int(m.group(2)) <= int(m.group(1)):
                raise InputDataError(f"period must be START-END (two forest-change dates), got {rec['period']!r}",
                                     path=path, row=i, column="period")
            start, end = int(m.group(1)), int(m.group(2))
        else:
            start, end = int(period[0]), int(period[1])
        try:
            zone, scls = parse_stratum(rec["stratum"])
        except ValueError:
            raise InputDataError(f"unknown stratum {rec['stratum']!r}; a stratum is CLASS or ZONE/CLASS with CLASS in "
                                 f"{list(STRATUM_CLASSES)} and ZONE in {list(ZONES)}", path=path, row=i,
                                 column="stratum") from None
        for col in ("map", "reference"):
            if _canon(rec[col]) not in CLASSES:
                raise InputDataError(f"unknown {col} class {rec[col]!r}; classes are {list(CLASSES)}", path=path,
                                     row=i, column=col)
        mcls, rcls = _canon(rec["map"]), _canon(rec["reference"])
        if mcls != MAP_CLASS_OF[scls]:
            raise InputDataError(f"map class {mcls!r} differs from the map class of its stratum {rec['stratum']!r} "
                                 f"({MAP_CLASS_OF[scls]!r})", path=path, row=i, column="map")
        zoned = zone is not None
        first = scheme.setdefault((start, end), (zoned, i))
        if first[0] != zoned:
            raise InputDataError(f"period {start}-{end} mixes strata with a zone (row {first[1] if first[0] else i}) "
                                 f"and without (row {i if first[0] else first[1]}); use one form per period",
                                 path=path, row=i, column="stratum")
        row = {"row": i, "start": start, "end": end, "stratum": f"{zone}/{scls}" if zoned else scls, "zone": zone,
               "stratum_class": scls, "map": mcls, "reference": rcls}
        if has_xy:
            for c in ("x", "y"):
                try:
                    v = float(rec[c])
                except ValueError:
                    v = float("nan")
                if not np.isfinite(v):
                    raise InputDataError(f"{c} must be a number (raster CRS), got {rec[c]!r}", path=path, row=i,
                                         column=c)
                row[c] = v
        rows.append(row)
    return ReferenceSample(path, pd.DataFrame(rows), has_xy)


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class DomainActivity:
    """Deforestation of one domain in one period: the map count beside the sample estimate.

    Attributes
    ----------
    domain : str
        ``jurisdiction``, ``project`` or ``leakage_belt``.
    map_ha : float [ha]
        Pixels the map calls deforestation in the domain x pixel area.
    estimate_ha, se_ha : float [ha]
        Stratified estimate of the area whose reference class is deforestation, and its sampling SE.
    confidence : float [-]
    years : float [yr]
        Length of the period (per-year figures divide by it).
    n_samples : int
        Sample points inside the domain.
    n_deforestation : int
        Of those, points whose reference class is deforestation.
    """

    domain: str
    map_ha: float
    estimate_ha: float
    se_ha: float
    confidence: float
    years: float
    n_samples: int
    n_deforestation: int

    @property
    def ci_halfwidth_ha(self) -> float:
        """:math:`z\\,S(\\hat A)` [ha] (Olofsson et al. 2014 eq. 12 and section 4.4)."""
        return z_score(self.confidence) * self.se_ha

    @property
    def ci_ha(self) -> tuple[float, float]:
        """Confidence interval [ha] (not clipped at zero)."""
        return (self.estimate_ha - self.ci_halfwidth_ha, self.estimate_ha + self.ci_halfwidth_ha)

    @property
    def map_ha_per_year(self) -> float:
        return self.map_ha / self.years

    @property
    def estimate_ha_per_year(self) -> float:
        return self.estimate_ha / self.years

    @property
    def se_ha_per_year(self) -> float:
        """Sampling SE of the annual deforestation [ha/yr]: what the uncertainty deduction uses."""
        return self.se_ha / self.years

    @property
    def relative_se(self) -> float:
        """:math:`S(\\hat A)/\\hat A` [-] (NaN when the estimate is 0)."""
        return self.se_ha / self.estimate_ha if self.estimate_ha > 0 else float("nan")

    @property
    def ci_halfwidth_percent(self) -> float:
        """CI half-width in % of the estimate (VCS uncertainty convention; NaN when the estimate is 0)."""
        return 100.0 * self.ci_halfwidth_ha / self.estimate_ha if self.estimate_ha > 0 else float("nan")

    def to_dict(self) -> dict:
        lo, hi = self.ci_ha
        return {"domain": self.domain, "map_ha": self.map_ha, "estimate_ha": self.estimate_ha, "se_ha": self.se_ha,
                "ci_low_ha": lo, "ci_high_ha": hi, "ci_halfwidth_ha": self.ci_halfwidth_ha,
                "ci_halfwidth_percent": self.ci_halfwidth_percent, "confidence": self.confidence, "years": self.years,
                "map_ha_per_year": self.map_ha_per_year, "estimate_ha_per_year": self.estimate_ha_per_year,
                "se_ha_per_year": self.se_ha_per_year, "relative_se": self.relative_se,
                "n_samples": self.n_samples, "n_deforestation": self.n_deforestation}


@dataclass(frozen=True)
class PeriodActivityEstimate:
    """Sample-based activity data of one period.

    Attributes
    ----------
    start, end : int [year]
        Forest-change dates: the period is ``(start, end]``.
    method : str
        ``olofsson2014`` (strata = map classes) or ``stehman2014`` (strata differ from the map classes).
    stratification : str
        ``map_classes`` or ``zones_by_map_class``, with ``_with_date_buffers`` when the date-buffer
        strata are used.
    zone_source : str or None
        How points were placed in the project / belt: ``strata``, ``coordinates`` or None (not
        placed: only the jurisdiction is estimated).
    strata : tuple of dict
        ``stratum``, ``mapped_pixels`` [px], ``mapped_ha`` [ha], ``n`` [points].
    domains : dict {domain: DomainActivity}
    accuracy : AreaAccuracyEstimate
        Areas [ha] of every reference class over the jurisdiction and the accuracies.
    finite_population_correction : bool
    unavailable : dict {domain: reason}
        Domains that could not be estimated and why.
    """

    start: int
    end: int
    method: str
    stratification: str
    zone_source: str | None
    strata: tuple
    domains: dict
    accuracy: AreaAccuracyEstimate
    finite_population_correction: bool
    unavailable: dict = field(default_factory=dict)

    @property
    def years(self) -> float:
        return float(self.end - self.start)

    @property
    def n_samples(self) -> int:
        return int(sum(s["n"] for s in self.strata))

    def to_dict(self) -> dict:
        return {"period": [self.start, self.end], "years": self.years, "method": self.method,
                "stratification": self.stratification, "zone_source": self.zone_source,
                "n_samples": self.n_samples, "strata": [dict(s) for s in self.strata],
                "domains": {k: v.to_dict() for k, v in self.domains.items()}, "unavailable": dict(self.unavailable),
                "finite_population_correction": self.finite_population_correction,
                "accuracy": self.accuracy.to_dict()}


@dataclass(frozen=True)
class ReferenceSampleActivity:
    """Sample-based activity data of every period of a reference sample.

    Attributes
    ----------
    path : str
    pixel_area_ha : float [ha]
    confidence : float [-]
    periods : tuple of PeriodActivityEstimate
    """

    path: str
    pixel_area_ha: float
    confidence: float
    periods: tuple[PeriodActivityEstimate, ...]

    def period(self, start: int, end: int) -> PeriodActivityEstimate:
        """The estimate of the period ``(start, end]`` (KeyError when the sample has none)."""
        for p in self.periods:
            if (p.start, p.end) == (int(start), int(end)):
                return p
        raise KeyError(f"the reference sample {self.path} has no period {start}-{end}; it has "
                       f"{[f'{p.start}-{p.end}' for p in self.periods]}")

    def to_dict(self) -> dict:
        return {"source": "reference_sample", "path": self.path, "pixel_area_ha": self.pixel_area_ha,
                "confidence": self.confidence, "periods": [p.to_dict() for p in self.periods]}


# ------------------------------------------------------------------------------------------ estimation
def estimate_period_activity(stratum: Sequence[str], map_class: Sequence[str], reference: Sequence[str],
                             stratum_pixels: Mapping[str, int], class_pixels: np.ndarray, *, start: int, end: int,
                             pixel_area_ha: float, zone: Sequence[str | None] | None = None,
                             zone_source: str | None = None, confidence: float = 0.90,
                             finite_population_correction: bool = False,
                             rows: Sequence[int] | None = None, path: str | None = None) -> PeriodActivityEstimate:
    """Deforestation of the jurisdiction, project and belt in one period from a stratified sample.

    Parameters
    ----------
    stratum, map_class, reference : sequences of labels, one per point
        Stratum (``CLASS`` or ``ZONE/CLASS``, :data:`STRATUM_CLASSES`), map class and reference
        class (:data:`CLASSES`).
    stratum_pixels : mapping {stratum: pixels}
        :math:`N_h` of every stratum of the sample's form (:meth:`StrataCounts.stratum_pixels`).
    class_pixels : int array (3, 3) [pixels]
        Mapped pixels per zone (:data:`ZONES`) and class (:data:`CLASSES`), for the map counts.
    start, end : int [year]
    pixel_area_ha : float [ha]
    zone : sequence of str or None, optional
        Zone of each point (:data:`ZONES`); needed for the project and belt estimates.
    confidence : float [-]
    finite_population_correction : bool
        Stehman 2014 eq. 25's :math:`1 - n_h/N_h` (off: Olofsson et al. 2014 ignore it).
    rows, path : optional
        File rows of the points and the file, for error messages.

    Returns
    -------
    PeriodActivityEstimate

    Notes
    -----
    A domain's deforested area is the stratified estimator of the indicator
    :math:`y_u = [r_u = \\text{deforestation}] \\cdot [u \\in D]` (Stehman 2014 eqs. 3, 25;
    Cochran 1977 section 5A.14):

    .. math:: \\hat A_D = a \\sum_h N_h \\bar y_h, \\qquad
              S(\\hat A_D) = a \\sqrt{\\sum_h N_h^2 \\left(1 - \\frac{n_h}{N_h}\\right)\\frac{s_{yh}^2}{n_h}}

    For the jurisdiction with strata = map classes this is Olofsson et al. 2014 eqs. 11-12.

    Raises
    ------
    InputDataError
        A sampled stratum with no pixel on the map, a stratum of the map without sample points, a
        stratum with one point (naming the file, the first row and column ``stratum``).
    """
    s = np.asarray([str(v) for v in stratum], dtype=object)
    m = np.asarray([str(v) for v in map_class], dtype=object)
    r = np.asarray([str(v) for v in reference], dtype=object)
    n = len(s)
    if not (n == len(m) == len(r)) or n == 0:
        raise InputDataError("stratum, map and reference need one entry per point, and at least one point", path=path)
    rows = list(rows) if rows is not None else list(range(1, n + 1))
    zoned, buffered = stratum_form(list(dict.fromkeys(s)))
    sizes = {k: int(v) for k, v in stratum_pixels.items()}
    for k in dict.fromkeys(s):
        if sizes.get(k, 0) <= 0:
            i = int(np.flatnonzero(s == k)[0])
            raise InputDataError(f"stratum {k!r} has no pixel on the map in {start}-{end} (missing from the map areas: "
                                 "wrong period, map or zone layer?)", path=path, row=rows[i], column="stratum")
    present = {k: v for k, v in sizes.items() if v > 0}
    counts = {k: int(np.count_nonzero(s == k)) for k in present}
    for k, c in counts.items():
        if c == 0:
            raise InputDataError(f"stratum {k!r} ({present[k]:,} pixels in {start}-{end}) has no sample point: the "
                                 "area it covers cannot be estimated (empty stratum); sample it", path=path,
                                 column="stratum")
        if c < 2:
            i = int(np.flatnonzero(s == k)[0])
            raise InputDataError(f"stratum {k!r} has a single point in {start}-{end}: its variance is not estimable "
                                 "(Stehman 2014 eq. 25 divides by n_h - 1); sample at least 2", path=path,
                                 row=rows[i], column="stratum")
    strata = list(present)
    index = {k: i for i, k in enumerate(strata)}
    h = np.array([index[v] for v in s], dtype=np.intp)
    N_h = np.array([present[k] for k in strata], dtype=float)
    a = float(pixel_area_ha)
    fpc = bool(finite_population_correction)
    stratification = ("zones_by_map_class" if zoned else "map_classes") + ("_with_date_buffers" if buffered else "")
    if zoned or buffered:   # strata differ from the map classes
        acc = estimate_from_samples(s, m, r, present, classes=CLASSES, confidence=confidence,
                                    finite_population_correction=fpc, area_unit="pixels")
        acc = replace(acc, total_area=acc.total_area * a, area_unit="ha")
        method = "stehman2014"
    else:
        mat = np.zeros((3, 3))
        for i, cm in enumerate(CLASSES):
            for j, cr in enumerate(CLASSES):
                mat[i, j] = np.count_nonzero((m == cm) & (r == cr))
        mapped = np.array([present.get(c, 0) for c in CLASSES], dtype=float) * a
        acc = estimate_from_error_matrix(mat, mapped, CLASSES, confidence=confidence, area_unit="ha")
        method = "olofsson2014"
    zones_of_points = None
    if zone is not None:
        zones_of_points = np.asarray([None if v is None else str(v) for v in zone], dtype=object)
    elif zoned:
        zones_of_points = np.asarray([v.split("/")[0] for v in s], dtype=object)
        zone_source = "strata"
    defo = r == "deforestation"
    years = float(end - start)
    domains: dict[str, DomainActivity] = {}
    unavailable: dict[str, str] = {}
    px = np.asarray(class_pixels, dtype=float)
    for dom in DOMAINS:
        if dom == "jurisdiction":
            inside = np.ones(n, bool)
            map_px = px[:, 0].sum()
        else:
            if zones_of_points is None:
                unavailable[dom] = "the points carry no zone (strata without zones and no x, y coordinates)"
                continue
            inside = zones_of_points == dom
            map_px = px[ZONES.index(dom), 0]
        y = (defo & inside).astype(float)
        p, se = stratified_proportion(h, y, N_h, finite_population_correction=fpc)
        N = N_h.sum()
        domains[dom] = DomainActivity(dom, float(map_px * a), float(N * p * a), float(N * se * a), float(confidence),
                                      years, int(inside.sum()), int((defo & inside).sum()))
    table = tuple({"stratum": k, "mapped_pixels": int(present[k]), "mapped_ha": present[k] * a, "n": counts[k]}
                  for k in strata)
    return PeriodActivityEstimate(int(start), int(end), method, stratification, zone_source, table, domains, acc,
                                  fpc, unavailable)


def _check_points(sample: ReferenceSample, forest_change, layers: dict) -> np.ndarray:
    """Zone of every point from its coordinates; checks each point's map class and zone against the map."""
    from rasterio.transform import rowcol

    from reddplus.raster import Block

    fc = forest_change
    grid = fc.grid
    t = sample.table
    rr, cc = rowcol(grid.transform, t["x"].to_numpy(), t["y"].to_numpy())
    rr, cc = np.asarray(rr), np.asarray(cc)
    out = (rr < 0) | (cc < 0) | (rr >= grid.height) | (cc >= grid.width)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise InputDataError(f"point ({t['x'].iloc[i]}, {t['y'].iloc[i]}) lies outside the forest-change raster "
                             "(x, y must be in the raster's CRS)", path=sample.path, row=int(t["row"].iloc[i]),
                             column="x")
    side = 512
    zone = np.zeros(len(t), np.int64)
    code = np.zeros(len(t), np.uint8)
    key = (rr // side) * (-(-grid.width // side)) + cc // side
    for k in np.unique(key):
        sel = np.flatnonzero(key == k)
        r0, c0 = int(rr[sel[0]] // side * side), int(cc[sel[0]] // side * side)
        block = Block(r0, c0, min(side, grid.height - r0), min(side, grid.width - c0), 0, grid.height, grid.width)
        codes = fc.read_codes(block, with_halo=False)
        zones = _burn_domains(layers, grid, block)
        code[sel] = codes[rr[sel] - r0, cc[sel] - c0]
        zone[sel] = zones[rr[sel] - r0, cc[sel] - c0]
    dates = tuple(int(d) for d in fc.dates)
    buffered = {(a, b) for a, b in sample.periods
                if stratum_form(list(dict.fromkeys(t["stratum"][(t["start"] == a) & (t["end"] == b)])))[1]}
    for i in range(len(t)):
        row = int(t["row"].iloc[i])
        if zone[i] == 0:
            raise InputDataError("the point lies outside the jurisdiction (the population of the sample)",
                                 path=sample.path, row=row, column="x")
        k0, k1 = dates.index(int(t["start"].iloc[i])), dates.index(int(t["end"].iloc[i]))
        got = int(period_classes(np.array([code[i]], np.uint8), k0, k1)[0])
        if got == 0:
            raise InputDataError("the point falls on a no-data pixel of the forest-change map", path=sample.path,
                                 row=row, column="x")
        if CLASSES[got - 1] != t["map"].iloc[i]:
            raise InputDataError(f"the map says {CLASSES[got - 1]!r} at this point in {t['start'].iloc[i]}-"
                                 f"{t['end'].iloc[i]}, the sample says {t['map'].iloc[i]!r} (another map or period?)",
                                 path=sample.path, row=row, column="map")
        period = (int(t["start"].iloc[i]), int(t["end"].iloc[i]))
        scls = STRATUM_CLASSES[int(period_stratum_classes(np.array([code[i]], np.uint8), k0, k1, len(dates),
                                                          period in buffered)[0]) - 1]
        if scls != t["stratum_class"].iloc[i]:
            raise InputDataError(f"the point is in a {scls!r} stratum on the map in {period[0]}-{period[1]}, the sample "
                                 f"says {t['stratum_class'].iloc[i]!r}", path=sample.path, row=row, column="stratum")
        zname = ZONES[zone[i] - 1]
        if t["zone"].iloc[i] is not None and t["zone"].iloc[i] != zname:
            raise InputDataError(f"the point lies in {zname!r} on the zone layers, its stratum says "
                                 f"{t['zone'].iloc[i]!r}", path=sample.path, row=row, column="stratum")
    return np.array([ZONES[z - 1] for z in zone], dtype=object)


def reference_sample_activity(sample_path: str | os.PathLike, forest_change, *, jurisdiction: str | os.PathLike,
                              project: str | os.PathLike | None = None,
                              leakage_belt: str | os.PathLike | None = None, period: tuple[int, int] | None = None,
                              confidence: float = 0.90, finite_population_correction: bool = False,
                              strata_counts: StrataCounts | None = None, scheduler: str | None = None,
                              block_size: int | None = None) -> ReferenceSampleActivity:
    """Activity data of every period of a reference sample (the tool behind ``[activity_data] reference_sample``).

    Parameters
    ----------
    sample_path : path
        The interpreted sample (:func:`read_reference_sample`).
    forest_change : ForestChange
        The run's forest-change map: the stratum sizes and the map counts come from it.
    jurisdiction, project, leakage_belt : path
        Zone layers (pixel-centre rule). Project and belt are needed for zoned strata and for their
        domain estimates.
    period : (start, end) [year], optional
        The period of a sample without a ``period`` column (e.g. the HRP).
    confidence : float [-]
    finite_population_correction : bool
    strata_counts : StrataCounts, optional
        Counts already made (:func:`count_reference_strata`); otherwise counted here (one streamed pass).
    scheduler, block_size
        Raster engine options for the counting pass.

    Returns
    -------
    ReferenceSampleActivity

    Raises
    ------
    InputDataError
        Unknown classes, empty strata, a stratum missing from the map areas, a point whose map class or
        zone disagrees with the map (naming the file, row and column); ZoneError for a zoned stratum
        whose zone layer was not given.
    """
    sample = read_reference_sample(sample_path, period=period)
    dates = tuple(int(d) for d in forest_change.dates)
    for (a, b), r0 in zip(zip(sample.table["start"], sample.table["end"]), sample.table["row"]):
        for y in (a, b):
            if int(y) not in dates:
                raise InputDataError(f"period {a}-{b}: {y} is not a forest-change date ({dates[0]}..{dates[-1]})",
                                     path=sample.path, row=int(r0), column="period")
    for name, layer in (("project", project), ("leakage_belt", leakage_belt)):
        used = sample.table["zone"] == name
        if layer is None and used.any():
            raise ZoneError(f"the sample has {name} strata (row {int(sample.table['row'][used].iloc[0])}) but no "
                            f"{name} layer was given", path=sample.path)
    layers = _zone_layers(forest_change.grid, jurisdiction, project, leakage_belt)
    counts = strata_counts or count_reference_strata(forest_change, jurisdiction=jurisdiction, project=project,
                                                     leakage_belt=leakage_belt, scheduler=scheduler,
                                                     block_size=block_size)
    zones = _check_points(sample, forest_change, layers) if sample.has_coordinates else None
    t = sample.table
    out = []
    for start, end in sample.periods:
        sel = ((t["start"] == start) & (t["end"] == end)).to_numpy()
        sub = t[sel]
        zoned, buffered = stratum_form(list(dict.fromkeys(sub["stratum"])))
        z = list(zones[sel]) if zones is not None else None
        est = estimate_period_activity(sub["stratum"], sub["map"], sub["reference"],
                                       counts.stratum_pixels(start, end, zoned, buffered),
                                       counts.class_pixels(start, end),
                                       start=start, end=end, pixel_area_ha=counts.pixel_area_ha, zone=z,
                                       zone_source="coordinates" if z is not None else None, confidence=confidence,
                                       finite_population_correction=finite_population_correction,
                                       rows=sub["row"].tolist(), path=sample.path)
        missing = {d: f"no {d} layer was given" for d in ("project", "leakage_belt") if d not in counts.zones_given}
        if missing:
            est = replace(est, domains={k: v for k, v in est.domains.items() if k not in missing},
                          unavailable={**est.unavailable, **missing})
        out.append(est)
        j = est.domains["jurisdiction"]
        log.info("reference sample %s-%s: jurisdiction deforestation %.0f ha (map %.0f ha), SE %.0f ha", start, end,
                 j.estimate_ha, j.map_ha, j.se_ha)
    return ReferenceSampleActivity(sample.path, counts.pixel_area_ha, float(confidence), tuple(out))
