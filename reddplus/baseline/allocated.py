"""The allocated risk map: a VT0007 allocation as a file, read by a project and written by a jurisdiction.

Under VM0048 with VMD0055 v1.1 the project proponent does not make its own baseline: Verra (through its
data service providers) or a registered jurisdictional programme delivers a *map of allocated
deforestation* for the baseline validity period, and the project's baseline activity data are the sum
of that map over the project area (and, for leakage, over the leakage belt). This module is both sides
of that exchange:

* reading (``[baseline] source = "allocated"``): :func:`allocated_baseline` sums the map over the
  project and the leakage belt (pixel-centre rule, :mod:`reddplus.raster.zones`), streamed by blocks,
  after checking grid, CRS, units and values; :func:`read_allocated_activity_data` reads the
  optional per-year CSV and the two are compared;
* writing (``source = "vt0007"``): :func:`write_allocated_map` turns the benchmark's fitted density
  and the jurisdiction's adjustment ratios into that map, and :func:`write_allocated_activity_data`
  writes the CSV, so that one run's output is the next run's input.

What the map holds
------------------
Expected deforestation of each pixel in one year of the validity period [ha pixel⁻¹ yr⁻¹]: the
benchmark's density fitted on the HRP (``density_vp.tif`` of :func:`reddplus.risk.tools.vt0007_benchmark`,
[ha pixel⁻¹ yr⁻¹] before the adjustment) times the jurisdiction's adjustment ratio, capped at the
pixel area (VT0007 v1.0 step 6 in its benchmark procedure, and its section "Using the Allocated Risk
Map"; :func:`reddplus.risk.vt0007.adjustment_ratio`):

.. math:: \\hat d_{i,t} = \\min(AR_t\\,\\delta_i,\\ a), \\qquad \\sum_i \\hat d_{i,t} = E_t

so that the map sums to the jurisdiction's expected deforestation :math:`E_t` [ha yr⁻¹] and a project's
allocation is the part of the map it covers. This is UDef-ARP's ``apd_VP.tif`` ("adjusted prediction
density", ha/px/yr) and Verra's "allocated deforestation risk map", where each pixel's value is in
hectares of deforestation per year (Verra, VM0048/VMD0055 FAQs).

File convention (GeoTIFF, written as a COG by :func:`write_allocated_map`)
---------------------------------------------------------------------------
* float32 band(s) (or integers with a GDAL scale and offset), projected CRS in metres, on the
  forest-change grid;
* the **band unit type** (GDAL ``GetUnitType``; ``gdalinfo`` prints "Unit Type") is
  ``ha/pixel/yr`` (:data:`UNITS`; the spellings in :data:`UNIT_SPELLINGS` are accepted). A map
  without it (UDef-ARP writes none) is read only when the units are declared by the caller
  (``[baseline] allocated_units``), never assumed;
* one band that holds every year of the validity period (dataset tag ``YEARS``, e.g.
  ``2021-2030`` or ``2021,2022``), or one band per year, each with a band tag ``YEAR``;
* nodata (masked) pixels are "no forest": 0 ha. Any other value must be finite, non-negative and at
  most the pixel area [ha] (a pixel cannot lose more than itself in a year); anything else is refused,
  naming the file, the band and the first offending pixel (row, column, coordinates, value);
* provenance tags (not required when reading): ``REDDPLUS_PRODUCT=allocated_risk_map``, ``SOURCE``,
  ``METHOD``, ``VALIDITY_PERIOD`` and per band ``ADJUSTMENT_RATIO`` and ``EXPECTED_HA_PER_YEAR``.

Activity-data CSV (:func:`write_allocated_activity_data`, :func:`read_allocated_activity_data`)::

    year,area,ha
    2021,project,586.46
    2021,leakage_belt,1210.5

``area`` is one of :data:`AREAS`; ``ha`` is the allocated deforestation of that area in that year
[ha yr⁻¹]; a (year, area) pair appears once.

References
----------
1. Verra (2024) VT0007 Unplanned Deforestation Allocation (UDef-A) v1.0, 21 February 2024: the
   benchmark's adjustment ratio (step 6 of the benchmark risk mapping procedure) and section 5.6
   "Using the Allocated Risk Map" (numbered "section 6" elsewhere in reddplus; the v1.0 contents list
   it as 5.6).
2. Verra (2024) VMD0055 Estimation of emission reductions from avoiding unplanned deforestation v1.1,
   21 October 2024: section 5.2 (baseline from the jurisdiction's allocated activity data for the
   project area and leakage belt) and Appendix 1 (requirements for the allocated risk maps).
3. Verra, "VM0048 and VMD0055 FAQs" (the allocated map's pixels are hectares of deforestation per
   year; a project's allocation is the part of the map over its area).
4. Clark Labs, UDef-ARP (Verra's VT0007 reference implementation), ``apd_VP`` output.
"""

from __future__ import annotations

import logging
import math
import os
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from reddplus.errors import (ConfigError, GridMismatchError, InputDataError, OutputExistsError, ToleranceWarning,
                             ZoneError)
from reddplus.raster import Grid, burn_zones, check_same_grid, iter_blocks, map_blocks, open_raster, read_grid, \
    read_zones

log = logging.getLogger(__name__)

__all__ = ["AREAS", "UNITS", "UNIT_SPELLINGS", "AllocatedActivityData", "AllocatedBaseline",
           "AllocatedDisagreementWarning", "ActivityComparison", "allocated_baseline", "allocated_density",
           "allocated_years", "check_allocated_values", "compare_activity_data", "read_allocated_activity_data",
           "write_allocated_activity_data", "write_allocated_map", "write_allocated_outputs"]

#: canonical unit of the allocated map
UNITS = "ha/pixel/yr"
#: accepted spellings of :data:`UNITS` (compared without spaces, case-insensitively)
UNIT_SPELLINGS = ("ha/pixel/yr", "ha/px/yr", "ha pixel-1 yr-1", "ha px-1 yr-1", "ha pixel⁻¹ yr⁻¹",
                  "ha/pixel/year", "ha.pixel-1.yr-1")
#: the areas of the activity-data CSV
AREAS = ("project", "leakage_belt")
PRODUCT = "allocated_risk_map"
#: relative slack on the pixel-area check (float32 rounding of a capped value, e.g. 0.09 ha -> 0.0900000036)
_CAP_SLACK = 1e-6


class AllocatedDisagreementWarning(ToleranceWarning):
    """The allocated map and the allocated activity-data CSV disagree beyond the tolerance."""


# ------------------------------------------------------------------------------------------ config
def normalise_units(text: str | None) -> str | None:
    """:data:`UNITS` when ``text`` is one of :data:`UNIT_SPELLINGS` (spaces and case ignored), else None."""
    if not text:
        return None
    key = re.sub(r"\s+", "", str(text)).lower()
    return UNITS if key in {re.sub(r"\s+", "", s).lower() for s in UNIT_SPELLINGS} else None


# ------------------------------------------------------------------------------------------ pure functions
def allocated_density(density, adjustment_ratio: float, pixel_area_ha: float) -> np.ndarray:
    """Allocated deforestation of each pixel: the fitted density times the adjustment ratio, capped.

    Parameters
    ----------
    density : array [ha pixel-1 yr-1]
        :math:`\\delta_i`, the benchmark's density fitted on the HRP (NaN or 0 outside forest).
    adjustment_ratio : float [-]
        :math:`AR_t` of the year (:func:`reddplus.risk.vt0007.adjustment_ratio`).
    pixel_area_ha : float [ha]
        :math:`a`, the cap: a pixel cannot lose more than itself.

    Returns
    -------
    allocated : array [ha pixel-1 yr-1]
        0 where the density is NaN or not positive.

    Notes
    -----
    .. math:: \\hat d_{i,t} = \\min(AR_t\\,\\delta_i,\\ a)

    References
    ----------
    1. VT0007 v1.0, benchmark step 6 (adjustment ratio, capped at the pixel area) and section 5.6
       (using the allocated risk map).
    """
    d = np.nan_to_num(np.asarray(density, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if not (np.isfinite(adjustment_ratio) and adjustment_ratio >= 0):
        raise InputDataError(f"the adjustment ratio must be finite and >= 0; got {adjustment_ratio!r}",
                             column="adjustment_ratio")
    return np.minimum(adjustment_ratio * np.maximum(d, 0.0), pixel_area_ha)


@dataclass(frozen=True)
class _BadPixel:
    """The first offending pixel of one kind in a block: flat position, band, value, count."""

    row: int
    col: int
    band: int
    value: float
    count: int


def check_allocated_values(values: np.ndarray, valid: np.ndarray, pixel_area_ha: float,
                           ) -> dict[str, tuple[int, int, float, int] | None]:
    """First NaN, infinite, negative and above-the-pixel-area value of one band of allocated deforestation.

    Parameters
    ----------
    values : 2-d array [ha pixel-1 yr-1]
    valid : 2-d bool array
        False where the file's mask says "no data" (those pixels are 0 ha and are not checked).
    pixel_area_ha : float [ha]
        Plausibility bound: no pixel can lose more than its area in a year (VT0007's cap).

    Returns
    -------
    dict {"nan", "infinite", "negative", "above_pixel_area"} -> (row, col, value, count) or None
        Row and column of the first offending pixel in row-major order within ``values``, its
        value and how many pixels have that fault.
    """
    v = np.asarray(values)
    ok = np.asarray(valid, dtype=bool)
    out: dict[str, tuple[int, int, float, int] | None] = {}
    with np.errstate(invalid="ignore"):
        tests = {"nan": np.isnan(v), "infinite": np.isinf(v), "negative": v < 0,
                 "above_pixel_area": v > pixel_area_ha * (1.0 + _CAP_SLACK)}
    for name, bad in tests.items():
        bad = bad & ok
        n = int(np.count_nonzero(bad))
        if n:
            r, c = np.unravel_index(int(np.flatnonzero(bad)[0]), v.shape)
            out[name] = (int(r), int(c), float(v[r, c]), n)
        else:
            out[name] = None
    return out


@dataclass(frozen=True)
class ActivityComparison:
    """One (year, area) of the map's sums beside the allocated activity-data CSV.

    Attributes
    ----------
    year : int
    area : str
        ``project`` or ``leakage_belt``.
    map_ha : float [ha/yr]
        Sum of the allocated map over the area.
    csv_ha : float or None [ha/yr]
        The CSV's figure (None when the CSV has no row for this year and area).
    difference_ha : float or None [ha/yr]
        ``map_ha - csv_ha``.
    difference_percent : float or None [%]
        ``100 (map - csv) / csv`` (None without a CSV row; ``inf`` when the CSV says 0 and the map does not).
    exceeds_tolerance : bool
        True when the difference is beyond the tolerance, or the CSV row is missing.
    """

    year: int
    area: str
    map_ha: float
    csv_ha: float | None
    difference_ha: float | None
    difference_percent: float | None
    exceeds_tolerance: bool

    def to_dict(self) -> dict:
        return {"year": self.year, "area": self.area, "map_ha": self.map_ha, "csv_ha": self.csv_ha,
                "difference_ha": self.difference_ha, "difference_percent": self.difference_percent,
                "exceeds_tolerance": self.exceeds_tolerance}


def compare_activity_data(map_ha: Mapping[str, Mapping[int, float]], csv_ha: Mapping[str, Mapping[int, float]],
                          tolerance_percent: float) -> tuple[ActivityComparison, ...]:
    """Compare the map's per-area, per-year sums with the activity-data CSV.

    Parameters
    ----------
    map_ha : {area: {year: ha}} [ha/yr]
        The sums of the allocated map (the areas and years of the run).
    csv_ha : {area: {year: ha}} [ha/yr]
        The CSV's figures; rows for other years or areas are not compared.
    tolerance_percent : float [%]

    Returns
    -------
    tuple of ActivityComparison
        One per (area, year) of ``map_ha``, in that order.

    Notes
    -----
    .. math:: \\Delta = 100\\,\\frac{P^{map}_{t} - P^{csv}_{t}}{P^{csv}_{t}}, \\quad
              \\text{flagged when } |\\Delta| > \\text{tolerance}

    Two zeros agree; a zero in the CSV against a positive map sum is an infinite difference.
    """
    if not (np.isfinite(tolerance_percent) and tolerance_percent >= 0):
        raise InputDataError(f"the tolerance must be >= 0 %; got {tolerance_percent!r}",
                             column="allocated_tolerance_percent")
    rows = []
    for area, years in map_ha.items():
        given = csv_ha.get(area, {})
        for year, m in years.items():
            c = given.get(int(year))
            if c is None:
                rows.append(ActivityComparison(int(year), area, float(m), None, None, None, True))
                continue
            diff = float(m) - float(c)
            if c == 0:
                pct = 0.0 if m == 0 else math.inf
            else:
                pct = 100.0 * diff / float(c)
            rows.append(ActivityComparison(int(year), area, float(m), float(c), diff, pct,
                                           bool(abs(pct) > tolerance_percent)))
    return tuple(rows)


# ------------------------------------------------------------------------------------------ the CSV
@dataclass(frozen=True)
class AllocatedActivityData:
    """Allocated deforestation per year and area, read from the activity-data CSV.

    Attributes
    ----------
    path : str
    ha_per_year : dict {area: {year: ha}} [ha/yr]
    """

    path: str
    ha_per_year: dict

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(self.ha_per_year)

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({y for v in self.ha_per_year.values() for y in v}))

    def to_dict(self) -> dict:
        return {"path": self.path, "ha_per_year": {a: {str(y): v for y, v in d.items()}
                                                   for a, d in self.ha_per_year.items()}}


def read_allocated_activity_data(path: str | os.PathLike) -> AllocatedActivityData:
    """Read and validate the allocated activity-data CSV (``year,area,ha``; see the module docstring).

    Raises
    ------
    InputDataError
        Naming the file, the data row (1-based, header excluded) and the column, for a missing
        column, an empty cell, a year that is not an integer, an area other than :data:`AREAS`, a
        duplicate (year, area), or an ``ha`` that is not a finite number >= 0.
    """
    from reddplus.accuracy.io import read_text_table

    path = str(path)
    df = read_text_table(path)
    missing = [c for c in ("year", "area", "ha") if c not in df.columns]
    if missing:
        raise InputDataError(f"missing column(s) {missing}; expected year,area,ha (found {list(df.columns)})",
                             path=path, column=missing[0])
    if len(df) == 0:
        raise InputDataError("the allocated activity data have no rows", path=path)
    out: dict[str, dict[int, float]] = {}
    for i, (y, a, h) in enumerate(zip(df["year"], df["area"], df["ha"]), start=1):
        for col, val in (("year", y), ("area", a), ("ha", h)):
            if val == "":
                raise InputDataError("empty value", path=path, row=i, column=col)
        try:
            fy = float(y)
        except ValueError:
            fy = float("nan")
        if not np.isfinite(fy) or fy != int(fy):
            raise InputDataError(f"the year must be an integer, got {y!r}", path=path, row=i, column="year")
        year = int(fy)
        area = a.strip().lower()
        if area not in AREAS:
            raise InputDataError(f"unknown area {a!r}; expected one of {list(AREAS)}", path=path, row=i,
                                 column="area")
        try:
            ha = float(h)
        except ValueError:
            raise InputDataError(f"ha must be a number, got {h!r}", path=path, row=i, column="ha") from None
        if not np.isfinite(ha) or ha < 0:
            raise InputDataError(f"ha must be a finite number >= 0 [ha/yr], got {h!r}", path=path, row=i,
                                 column="ha")
        if year in out.setdefault(area, {}):
            raise InputDataError(f"duplicate year {year} for area {area!r}", path=path, row=i, column="year")
        out[area][year] = ha
    return AllocatedActivityData(path, {a: dict(sorted(v.items())) for a, v in out.items()})


def write_allocated_activity_data(path: str | os.PathLike, ha_per_year: Mapping[str, Mapping[int, float]], *,
                                  overwrite: bool = False) -> Path:
    """Write the allocated activity-data CSV (``year,area,ha``), atomically.

    Parameters
    ----------
    ha_per_year : {area: {year: ha}} [ha/yr]
        Areas from :data:`AREAS` (e.g. ``AllocationResult.zone_ha_per_year`` zipped with its years).

    The values are written with 17 significant digits, so that reading them back gives the same floats.
    """
    from reddplus.raster import atomic_path

    table = _csv_table(ha_per_year)
    with atomic_path(path, overwrite=overwrite, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.17g")
    return Path(path)


def _csv_table(ha_per_year: Mapping[str, Mapping[int, float]]):
    """The rows of the activity-data CSV, checked (areas, finite non-negative ha, at least one row)."""
    import pandas as pd

    rows = []
    for area, years in ha_per_year.items():
        if area not in AREAS:
            raise InputDataError(f"unknown area {area!r}; expected one of {list(AREAS)}", column="area")
        for y, v in years.items():
            v = float(v)
            if not np.isfinite(v) or v < 0:
                raise InputDataError(f"{area} {y}: ha must be finite and >= 0, got {v!r}", column="ha")
            rows.append({"year": int(y), "area": area, "ha": v})
    if not rows:
        raise InputDataError("nothing to write: no area and year", column="ha")
    return pd.DataFrame(rows).sort_values(["year", "area"], kind="stable")


# ------------------------------------------------------------------------------------------ the map: reading
@dataclass(frozen=True)
class AllocatedBaseline:
    """Baseline activity data summed from an allocated risk map (VT0007 v1.0 section 5.6; VMD0055 v1.1).

    Attributes
    ----------
    path : str
        The allocated risk map.
    units : str
        Always :data:`UNITS`.
    units_source : str
        ``"file"`` (the band's unit type) or ``"config"`` (declared by the caller for an untagged map).
    years : tuple of int
        Years of the baseline, in the order of every per-year tuple.
    zone_ha_per_year : dict {zone: tuple [ha/yr]}
        Allocated deforestation of ``project`` (and ``leakage_belt``) in each year: the baseline
        activity data.
    map_total_ha_per_year : tuple [ha/yr]
        The whole map's sum per year (the jurisdiction's expected deforestation when the map covers it).
    zone_pixels : dict {zone: int}
        Pixels of each zone (pixel centres inside its polygons).
    pixel_area_ha : float [ha]
    max_pixel_ha_per_year : float [ha/yr]
        Largest pixel value (at most the pixel area).
    bands : tuple of str
        Which band holds each year (``"1"`` for a single-band map).
    tags : dict
        The file's provenance tags (dataset level).
    activity_data : AllocatedActivityData or None
        The CSV, when given.
    comparison : tuple of ActivityComparison
        Map sums beside the CSV (empty without a CSV).
    tolerance_percent : float [%]
    """

    path: str
    units: str
    units_source: str
    years: tuple[int, ...]
    zone_ha_per_year: dict
    map_total_ha_per_year: tuple[float, ...]
    zone_pixels: dict
    pixel_area_ha: float
    max_pixel_ha_per_year: float
    bands: tuple[str, ...]
    tags: dict = field(default_factory=dict)
    activity_data: AllocatedActivityData | None = None
    comparison: tuple[ActivityComparison, ...] = ()
    tolerance_percent: float = 1.0

    @property
    def disagrees(self) -> bool:
        """True when any compared (year, area) is beyond the tolerance or missing from the CSV."""
        return any(c.exceeds_tolerance for c in self.comparison)

    def ha_per_year(self, zone: str = "project") -> dict[int, float]:
        """``{year: ha/yr}`` of one zone (``project`` or ``leakage_belt``)."""
        if zone not in self.zone_ha_per_year:
            raise KeyError(f"no zone {zone!r}; zones: {list(self.zone_ha_per_year)}")
        return dict(zip(self.years, self.zone_ha_per_year[zone]))

    def to_dict(self) -> dict:
        return {
            "source": "allocated",
            "path": self.path,
            "units": self.units,
            "units_source": self.units_source,
            "years": list(self.years),
            "zones": {z: {str(y): v for y, v in zip(self.years, vals)} for z, vals in self.zone_ha_per_year.items()},
            "map_total_ha_per_year": {str(y): v for y, v in zip(self.years, self.map_total_ha_per_year)},
            "zone_pixels": dict(self.zone_pixels),
            "pixel_area_ha": self.pixel_area_ha,
            "max_pixel_ha_per_year": self.max_pixel_ha_per_year,
            "bands": {str(y): b for y, b in zip(self.years, self.bands)},
            "tags": dict(self.tags),
            "activity_data": self.activity_data.to_dict() if self.activity_data else None,
            "comparison": [c.to_dict() for c in self.comparison],
            "tolerance_percent": self.tolerance_percent,
            "disagrees": self.disagrees,
        }


def _parse_years(text: str, *, path: str, what: str) -> tuple[int, ...]:
    """``"2021-2025"`` or ``"2021,2022"`` (or a mix) -> years."""
    years: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise InputDataError(f"{what} {text!r}: {a}-{b} runs backwards", path=path, column=what)
            years.extend(range(a, b + 1))
        elif re.fullmatch(r"\d{4}", part):
            years.append(int(part))
        else:
            raise InputDataError(f"cannot read {what} {text!r}; expected e.g. 2021-2030 or 2021,2022", path=path,
                                 column=what)
    if len(set(years)) != len(years):
        raise InputDataError(f"{what} {text!r} repeats a year", path=path, column=what)
    return tuple(years)


def _band_years(ds, path: str, years: Sequence[int] | None) -> tuple[tuple[int, ...], list[int]]:
    """Years of the result and the band (1-based) holding each."""
    if ds.count > 1:
        by_year: dict[int, int] = {}
        for b in range(1, ds.count + 1):
            tag = ds.tags(b).get("YEAR")
            if tag is None:
                raise InputDataError(f"band {b} of a multi-band allocated map has no YEAR tag (one band per year)",
                                     path=path, column=f"band {b}")
            (y,) = _parse_years(tag, path=path, what=f"band {b} YEAR")
            if y in by_year:
                raise InputDataError(f"bands {by_year[y]} and {b} both hold year {y}", path=path, column=f"band {b}")
            by_year[y] = b
        available = tuple(sorted(by_year))
        chosen = tuple(int(y) for y in years) if years is not None else available
        missing = [y for y in chosen if y not in by_year]
        if missing:
            raise InputDataError(f"the allocated map has no band for year(s) {missing} (bands hold {list(available)})",
                                 path=path, column="YEAR")
        return chosen, [by_year[y] for y in chosen]
    tag = ds.tags().get("YEARS")
    available = _parse_years(tag, path=path, what="YEARS") if tag else None
    if years is None:
        if available is None:
            raise InputDataError("the allocated map has no YEARS tag: give the years it applies to (the validity "
                                 "period's years)", path=path, column="YEARS")
        chosen = available
    else:
        chosen = tuple(int(y) for y in years)
        if available is not None:
            missing = [y for y in chosen if y not in available]
            if missing:
                raise InputDataError(f"the allocated map is for {tag}, not for year(s) {missing}", path=path,
                                     column="YEARS")
    if not chosen:
        raise InputDataError("no year to read the allocated map for", path=path, column="YEARS")
    return chosen, [1] * len(chosen)


def allocated_years(risk_map: str | os.PathLike) -> tuple[int, ...] | None:
    """The years an allocated risk map declares (band ``YEAR`` tags or the ``YEARS`` tag); ``None`` when a
    single-band map declares none (it then applies to whatever years the caller gives)."""
    path = str(risk_map)
    with open_raster(path) as ds:
        if ds.count > 1:
            return _band_years(ds, path, None)[0]
        tag = ds.tags().get("YEARS")
        return _parse_years(tag, path=path, what="YEARS") if tag else None


def _check_product(ds, path: str) -> None:
    """Refuse a raster that says it is not an allocation: another ``REDDPLUS_PRODUCT`` tag, or one of
    reddplus's own densities before the adjustment to the jurisdiction's rate (VT0007 v1.0 section 5.6:
    the allocation is the density times the adjustment ratio)."""
    from reddplus.raster.io import BAND_METADATA

    product = ds.tags().get("REDDPLUS_PRODUCT")
    if product is not None and product != PRODUCT:
        raise InputDataError(f"this raster is a {product!r}, not an allocated risk map", path=path,
                             column="REDDPLUS_PRODUCT")
    unadjusted = {BAND_METADATA[k][0] for k in ("density", "model_density")}
    if any(d in unadjusted for d in ds.descriptions if d):
        raise InputDataError("this raster is a fitted deforestation density before the adjustment to the "
                             "jurisdiction's baseline rate (a risk benchmark's density), not an allocated risk map: "
                             "give the allocation (a VT0007 run's rasters/allocated_risk_map.tif)", path=path,
                             column="band description")


def check_allocated_map(risk_map: str | os.PathLike, units: str | None = None) -> None:
    """The delivered allocated risk map's metadata, without reading its pixels: an allocation (not a
    density before the adjustment), numbers, units [ha pixel-1 yr-1] from the file or ``units``, and
    one ``YEAR`` tag per band of a multi-band map. :func:`allocated_baseline` checks the pixels.

    Raises
    ------
    InputDataError, ConfigError
        Naming the file and the tag, or the config key ``baseline.allocated_units``.
    """
    path = str(risk_map)
    with open_raster(path) as ds:
        _check_product(ds, path)
        _check_numeric(ds, path)
        _units_of(ds, path, units)
        if ds.count > 1:
            _band_years(ds, path, None)


def _check_numeric(ds, path: str) -> None:
    if not all(np.issubdtype(np.dtype(t), np.floating) or np.issubdtype(np.dtype(t), np.integer) for t in ds.dtypes):
        raise InputDataError(f"the allocated map must hold numbers; bands are {ds.dtypes}", path=path)


def _units_of(ds, path: str, declared: str | None) -> tuple[str, str]:
    given = [u or "" for u in ds.units]
    tags = {u for u in given if u}
    decl = None
    if declared is not None:
        decl = normalise_units(declared)
        if decl is None:
            raise ConfigError(f"allocated map units must be {UNITS!r}; got {declared!r}", key="baseline.allocated_units")
    if tags:
        bad = sorted(t for t in tags if normalise_units(t) is None)
        if bad:
            raise InputDataError(f"the allocated map's band unit type is {bad[0]!r}; reddplus reads {UNITS!r} "
                                 "(expected deforestation of each pixel in one year)", path=path, column="units")
        if not all(given):
            raise InputDataError("some bands of the allocated map have a unit type and others none", path=path,
                                 column="units")
        return UNITS, "file"
    if decl is None:
        raise InputDataError(f"the allocated map's band carries no unit type: set it to {UNITS!r} or declare the "
                             "units (config key baseline.allocated_units); reddplus never assumes them", path=path,
                             column="units")
    return UNITS, "config"


def allocated_baseline(risk_map: str | os.PathLike, *, project: str | os.PathLike,
                       leakage_belt: str | os.PathLike | None = None, grid: Grid | None = None,
                       years: Sequence[int] | None = None, units: str | None = None,
                       activity_data: str | os.PathLike | None = None, tolerance_percent: float = 1.0,
                       scheduler: str | None = None, block_size: int | None = None,
                       memory_limit_bytes: int = 64 * 2**20) -> AllocatedBaseline:
    """Baseline activity data of the project and leakage belt from a delivered allocated risk map.

    Parameters
    ----------
    risk_map : path
        The allocated risk map [ha pixel-1 yr-1] (module docstring: file convention).
    project, leakage_belt : path
        Polygon layers; a pixel belongs to a zone when its centre falls inside (all_touched off).
    grid : Grid, optional
        The forest-change grid: the map must be on it (CRS, transform, shape), else
        :class:`~reddplus.errors.GridMismatchError`. Give it from a run; ``None`` skips the check.
    years : sequence of int, optional
        Years to read (e.g. the validity period's crediting years); default: the years the file declares.
    units : str, optional
        Declared units of a map whose band has no unit type (must be :data:`UNITS`).
    activity_data : path, optional
        The allocated activity-data CSV; its figures are compared with the map's sums.
    tolerance_percent : float [%]
        Largest relative difference between the map and the CSV before an
        :class:`AllocatedDisagreementWarning` (the difference is also in the result).
    scheduler : str, optional
        Dask distributed scheduler address; local threads otherwise.
    block_size, memory_limit_bytes
        Block tiling (bounded memory whatever the raster size).

    Returns
    -------
    AllocatedBaseline

    Notes
    -----
    .. math:: P_t = \\sum_{i \\in \\text{project}} \\hat d_{i,t}, \\qquad
              L_t = \\sum_{i \\in \\text{belt}} \\hat d_{i,t}

    Raises
    ------
    CRSError, GridMismatchError, InputDataError, ZoneError
        A geographic or non-metre CRS, another grid, missing or wrong units, NaN/infinite/negative
        values or values above the pixel area (naming the file, band and first pixel), a project that
        covers no pixel; CSV errors from :func:`read_allocated_activity_data`. Nothing is written.

    References
    ----------
    1. VT0007 v1.0, section 5.6 (using the allocated risk map).
    2. VMD0055 v1.1, section 5.2 and Appendix 1.
    """
    import rasterio

    from reddplus.risk.tools import GDAL_CACHE_BYTES

    path = str(risk_map)
    if not os.path.exists(path):
        raise InputDataError("allocated risk map not found", path=path)
    table = read_allocated_activity_data(activity_data) if activity_data is not None else None
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        map_grid = read_grid(path)  # projected metres, or CRSError naming the file
        if grid is not None:
            try:
                check_same_grid({"forest change": grid, f"allocated risk map {path}": map_grid})
            except GridMismatchError as err:
                raise GridMismatchError(f"{err}; the allocated map must be on the forest-change grid",
                                        path=path) from None
        with open_raster(path) as ds:
            _check_product(ds, path)
            _check_numeric(ds, path)
            unit, unit_source = _units_of(ds, path, units)
            chosen, bands = _band_years(ds, path, years)
            tags = {k: v for k, v in ds.tags().items() if k != "AREA_OR_POINT"}
            scale = {b: (float(ds.scales[b - 1]), float(ds.offsets[b - 1])) for b in set(bands)}
        zones = {"project": read_zones(project, map_grid, dissolve=True)}
        if leakage_belt is not None:
            zones["leakage_belt"] = read_zones(leakage_belt, map_grid, dissolve=True)
        area = map_grid.pixel_area_ha
        distinct = sorted(set(bands))
        blocks = list(iter_blocks(map_grid.shape, memory_limit_bytes=memory_limit_bytes,
                                  bytes_per_pixel=16 * len(distinct) + 24, block_size=block_size))

        def task(block):
            with open_raster(path) as src:
                vals = src.read(distinct, window=block.window, masked=False).astype(np.float64)
                valid = np.stack([src.read_masks(b, window=block.window) > 0 for b in distinct])
            for k, b in enumerate(distinct):      # GDAL scale / offset of packed integer maps
                if scale[b] != (1.0, 0.0):
                    vals[k] = vals[k] * scale[b][0] + scale[b][1]
            faults = {}
            for k, b in enumerate(distinct):
                for kind, hit in check_allocated_values(vals[k], valid[k], area).items():
                    if hit is not None:
                        r, c, v, n = hit
                        faults[kind, b] = _BadPixel(r + block.row_off, c + block.col_off, b, v, n)
            clean = np.where(valid, vals, 0.0)
            clean[~np.isfinite(clean)] = 0.0
            out = {"total": clean.reshape(len(distinct), -1).sum(axis=1), "max": clean.max(axis=(1, 2))}
            for name, z in zones.items():
                m = burn_zones(z, map_grid, block) > 0
                out[name] = clean[:, m].sum(axis=1)
                out[name + "_pixels"] = int(np.count_nonzero(m))
            return out, faults

        # sums in block order (not the threads' completion order): the same bits on every run
        order = [(b.row_off, b.col_off) for b in blocks]
        waiting: dict = {}
        nxt = 0
        acc: dict = {}
        faults: dict = {}
        for block, (out, bad) in map_blocks(task, blocks, scheduler=scheduler):
            for key, px in bad.items():
                prev = faults.get(key)
                if prev is None or (px.row, px.col) < (prev.row, prev.col):
                    faults[key] = _BadPixel(px.row, px.col, px.band, px.value,
                                            px.count + (prev.count if prev else 0))
                else:
                    faults[key] = _BadPixel(prev.row, prev.col, prev.band, prev.value, prev.count + px.count)
            waiting[(block.row_off, block.col_off)] = out
            while nxt < len(order) and order[nxt] in waiting:
                for k, v in waiting.pop(order[nxt]).items():
                    if k == "max":
                        acc[k] = np.maximum(acc[k], v) if k in acc else v
                    else:
                        acc[k] = acc[k] + v if k in acc else v
                nxt += 1
    if faults:
        _raise_first_fault(faults, path, map_grid, area)
    if acc.get("project_pixels", 0) == 0:
        raise ZoneError("the project polygon covers no pixel centre of the allocated map", path=str(project))
    pos = {b: k for k, b in enumerate(distinct)}
    per_zone = {name: tuple(float(acc[name][pos[b]]) for b in bands) for name in zones}
    total = tuple(float(acc["total"][pos[b]]) for b in bands)
    result = AllocatedBaseline(
        path=path, units=unit, units_source=unit_source, years=chosen, zone_ha_per_year=per_zone,
        map_total_ha_per_year=total, zone_pixels={n: int(acc[n + "_pixels"]) for n in zones}, pixel_area_ha=area,
        max_pixel_ha_per_year=float(acc["max"].max()) if len(distinct) else 0.0,
        bands=tuple(str(b) for b in bands), tags=tags, activity_data=table, tolerance_percent=float(tolerance_percent))
    if table is not None:
        comparison = compare_activity_data({z: dict(zip(chosen, v)) for z, v in per_zone.items()}, table.ha_per_year,
                                           tolerance_percent)
        result = replace(result, comparison=comparison)
        flagged = [c for c in comparison if c.exceeds_tolerance]
        if flagged:
            worst = max(flagged, key=lambda c: math.inf if c.difference_percent is None
                        else abs(c.difference_percent))
            what = ("has no row" if worst.csv_ha is None
                    else f"says {worst.csv_ha:,.2f} ha against the map's {worst.map_ha:,.2f} ha "
                         f"({worst.difference_percent:+.2f} %)")
            warnings.warn(f"the allocated activity data ({table.path}) and the allocated map disagree in "
                          f"{len(flagged)} of {len(comparison)} year-area pairs beyond {tolerance_percent:g} %: "
                          f"{worst.area} {worst.year} {what}; the map's sums are used", AllocatedDisagreementWarning,
                          stacklevel=2)
    log.info("allocated map %s: project %s ha/yr", path, per_zone["project"])
    return result


def _raise_first_fault(faults: dict, path: str, grid: Grid, area: float) -> None:
    from rasterio.transform import xy

    order = ("nan", "infinite", "negative", "above_pixel_area")
    kind, band = min(faults, key=lambda k: (order.index(k[0]), k[1]))
    px = faults[kind, band]
    x, y = xy(grid.transform, px.row, px.col, offset="center")
    where = f"band {px.band}, row {px.row}, col {px.col} (x {x:.1f}, y {y:.1f})"
    total = sum(f.count for (k, _), f in faults.items() if k == kind)
    if kind == "above_pixel_area":
        msg = (f"{total} pixel(s) exceed the pixel area: {px.value:g} ha/yr at {where}, more than the "
               f"{area:g} ha a pixel can lose in a year; is the map in {UNITS} (not ha per period, m2 or a "
               "probability)?")
    else:
        what = {"nan": "NaN (not the file's nodata)", "infinite": "infinite", "negative": "negative"}[kind]
        msg = f"{total} pixel(s) are {what}: first at {where} = {px.value!r}; allocated deforestation must be " \
              "finite and >= 0 (mark no-data pixels with the file's nodata value)"
    raise InputDataError(msg, path=path, column=f"band {px.band}")


# ------------------------------------------------------------------------------------------ the map: writing
def write_allocated_map(path: str | os.PathLike, density_path: str | os.PathLike,
                        adjustment_ratios: Sequence[float], years: Sequence[int], *,
                        expected_ha_per_year: Sequence[float] | None = None, validity_period: str | None = None,
                        source: str = "reddplus VT0007 v1.0 benchmark", overwrite: bool = False,
                        scheduler: str | None = None, block_size: int | None = None,
                        memory_limit_bytes: int = 64 * 2**20) -> Path:
    """Write the allocated risk map of a VT0007 run in the form :func:`allocated_baseline` reads (COG, atomic).

    Parameters
    ----------
    path : path
        Output GeoTIFF (Cloud-Optimized, deflate); refused when it exists unless ``overwrite``.
    density_path : path
        The benchmark's fitted density [ha pixel-1 yr-1] (``density_vp.tif``), before the adjustment.
    adjustment_ratios : sequence of float [-]
        :math:`AR_t` of each year (``[a.ratio for a in AllocationResult.adjustments]``).
    years : sequence of int
        The year of each ratio. When every year has the same ratio the map has one band (tag
        ``YEARS``); otherwise one band per year (band tag ``YEAR``).
    expected_ha_per_year : sequence of float [ha/yr], optional
        The jurisdiction's expected deforestation of each year (recorded as a band tag).
    validity_period : str, optional
        E.g. ``"2021-2026"`` (recorded as a tag).
    source : str
        Provenance tag.

    Returns
    -------
    Path

    Notes
    -----
    .. math:: \\hat d_{i,t} = \\min(AR_t\\,\\delta_i,\\ a)

    References
    ----------
    1. VT0007 v1.0, benchmark step 6 and section 5.6 (see :func:`allocated_density`).
    """
    import rasterio

    from reddplus.raster import BlockWriter
    from reddplus.risk.tools import GDAL_CACHE_BYTES

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    ratios = [float(r) for r in adjustment_ratios]
    yrs = [int(y) for y in years]
    if len(ratios) != len(yrs) or not yrs:
        raise InputDataError(f"need one adjustment ratio per year; got {len(ratios)} ratios for {len(yrs)} years",
                             column="adjustment_ratio")
    if len(set(yrs)) != len(yrs):
        raise InputDataError(f"years repeat: {yrs}", column="years")
    for y, r in zip(yrs, ratios):
        if not (np.isfinite(r) and r >= 0):
            raise InputDataError(f"the adjustment ratio of {y} must be finite and >= 0; got {r!r}",
                                 column="adjustment_ratio")
    expected = [float(e) for e in expected_ha_per_year] if expected_ha_per_year is not None else None
    if expected is not None and len(expected) != len(yrs):
        raise InputDataError("need one expected deforestation per year", column="expected_ha_per_year")
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
        grid = read_grid(density_path)
        area = grid.pixel_area_ha
        single = len(set(ratios)) == 1
        band_ratios = ratios[:1] if single else ratios
        tags = {"REDDPLUS_PRODUCT": PRODUCT, "UNITS": UNITS, "SOURCE": source,
                "METHOD": "allocated = min(adjustment_ratio x fitted density, pixel area); VT0007 v1.0 step 6, "
                          "section 5.6; VMD0055 v1.1"}
        if validity_period:
            tags["VALIDITY_PERIOD"] = validity_period
        if single:
            tags["YEARS"] = ",".join(str(y) for y in yrs)
            band_tags = [{"ADJUSTMENT_RATIO": repr(ratios[0])}
                         | ({"EXPECTED_HA_PER_YEAR": repr(expected[0])} if expected and len(set(expected)) == 1
                            else {})]
            descriptions = [f"allocated deforestation {yrs[0]}-{yrs[-1]}" if len(yrs) > 1
                            else f"allocated deforestation {yrs[0]}"]
        else:
            band_tags = [{"YEAR": str(y), "ADJUSTMENT_RATIO": repr(r)}
                         | ({"EXPECTED_HA_PER_YEAR": repr(expected[i])} if expected else {})
                         for i, (y, r) in enumerate(zip(yrs, ratios))]
            descriptions = [f"allocated deforestation {y}" for y in yrs]
        blocks = iter_blocks(grid.shape, memory_limit_bytes=memory_limit_bytes,
                             bytes_per_pixel=8 * len(band_ratios) + 16, block_size=block_size)

        def task(block):
            with open_raster(density_path) as ds:
                d = ds.read(1, window=block.window, masked=True).astype(np.float64).filled(0.0)
            return np.stack([allocated_density(d, r, area) for r in band_ratios]).astype(np.float32)

        with BlockWriter(path, grid, dtype="float32", nodata=None, count=len(band_ratios), overwrite=overwrite,
                         band_descriptions=descriptions, tags=tags, band_tags=band_tags,
                         band_units=[UNITS] * len(band_ratios)) as w:
            for block, arr in map_blocks(task, blocks, scheduler=scheduler):
                w.write(block, arr)
    return path


def write_allocated_outputs(allocation, density_path: str | os.PathLike, map_path: str | os.PathLike,
                            csv_path: str | os.PathLike | None = None, *, validity_period: str | None = None,
                            overwrite: bool = False, scheduler: str | None = None,
                            block_size: int | None = None) -> dict[str, Path]:
    """Write a VT0007 run's allocation as an allocated map (+ activity-data CSV) for another run to read.

    Parameters
    ----------
    allocation : reddplus.baseline.allocation.AllocationResult
        The run's allocation (its years, adjustment ratios, expected deforestation and zone sums).
    density_path : path
        The density the allocation used (``RiskResult.density_path``).
    map_path, csv_path : path
        Outputs (the CSV holds the zones named in :data:`AREAS`).

    Returns
    -------
    dict {"map": Path, "csv": Path}
    """
    for p in (map_path, csv_path):
        if p is not None and Path(p).exists() and not overwrite:
            raise OutputExistsError(f"{p} exists; pass overwrite=True (--overwrite) to replace it")
    data = {z: dict(zip(allocation.years, v)) for z, v in allocation.zone_ha_per_year.items() if z in AREAS}
    if csv_path is not None:
        _csv_table(data)  # checked before anything is written
    out = {"map": write_allocated_map(map_path, density_path, [a.ratio for a in allocation.adjustments],
                                      allocation.years, expected_ha_per_year=allocation.expected_ha_per_year,
                                      validity_period=validity_period, overwrite=overwrite, scheduler=scheduler,
                                      block_size=block_size)}
    if csv_path is not None:
        out["csv"] = write_allocated_activity_data(csv_path, data, overwrite=overwrite)
    return out
