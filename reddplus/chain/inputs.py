"""The inputs of a crediting run, read and checked once: :class:`RunInputs`.

Everything the steps share is here: the forest change (streamed; only the window around the
project and its leakage belt is held in memory), the map dates, the periods as years and as date
indices, the project / belt masks and the stratum codes in that window. Arrays are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reddplus.errors import ConfigError, ZoneError
from reddplus.landcover import ForestChange
from reddplus.project import ProjectConfig
from reddplus.raster import Block, Grid, block_around, check_same_grid, open_raster, polygon_area_ha, read_block, \
    read_grid, zone_mask
from reddplus.raster.zones import layer_union, zone_layout_problems
from reddplus.risk.tools import Periods


@dataclass(frozen=True)
class RunPeriods:
    """The run's periods. Map dates (HRP, calibration, confirmation) are years of the forest-change
    dates; crediting and monitoring years are vintages (calendar years).

    Attributes
    ----------
    dates : tuple of int [yr]
        Forest-change dates.
    historical_reference : (int, int) [yr]
        HRP start and end dates; the HRP's years are ``start + 1 .. end``.
    risk : reddplus.risk.tools.Periods
        VT0007 calibration, confirmation, HRP and validity-period start as date indices.
    crediting_years : tuple of int
        Vintages of the crediting period.
    monitoring : tuple of (int, int)
        First and last vintage of each monitoring period.
    """

    dates: tuple[int, ...]
    historical_reference: tuple[int, int]
    risk: Periods
    crediting_years: tuple[int, ...]
    monitoring: tuple[tuple[int, int], ...]

    @property
    def hrp_years(self) -> tuple[int, ...]:
        h0, h1 = self.historical_reference
        return tuple(range(h0 + 1, h1 + 1))

    @property
    def hrp_index(self) -> tuple[int, int]:
        return self.risk.hrp


def period_problems(cfg: ProjectConfig, dates: tuple[int, ...]) -> list[ConfigError]:
    """Every configured period checked against the forest-change dates ``dates`` [yr], all at once.

    HRP, calibration and confirmation years are map dates; a monitoring period ``(a, b)`` is vintages,
    so it needs the maps of ``a - 1`` and ``b`` (the loss of year y lies between the maps of y-1 and y;
    VT0007 v1.0 section 4, VM0048 v1.0 section 5). The HRP must end by the crediting start. Each error
    names its key.
    """
    out = []
    per = cfg.periods
    for key, years in (("periods.historical_reference", per.historical_reference),
                       ("periods.calibration", per.calibration), ("periods.confirmation", per.confirmation)):
        for y in years or ():
            if y not in dates:
                out.append(ConfigError(f"year {y} is not one of the forest-change dates {dates[0]}..{dates[-1]} "
                                       "(these periods are map dates)", key=key))
    for i, (a, b) in enumerate(per.monitoring):
        missing = [y for y in (a - 1, b) if y not in dates]
        if missing:
            out.append(ConfigError(f"monitoring period {a}-{b} needs forest-change maps dated {a - 1} and {b}, and "
                                   f"the data have no {' or '.join(map(str, missing))} ({dates[0]}-{dates[-1]}; "
                                   "monitoring periods are vintages: the loss of year y lies between the maps of "
                                   "y-1 and y)", key=f"periods.monitoring.{i}"))
    c0 = cfg.project.crediting_start
    if per.historical_reference[1] > c0:
        out.append(ConfigError(f"the HRP ends in {per.historical_reference[1]}, after the crediting period starts "
                               f"({c0})", key="periods.historical_reference"))
    return out


def run_periods(cfg: ProjectConfig, dates: tuple[int, ...]) -> RunPeriods:
    """Check the configured periods against the forest-change dates (:func:`period_problems`; the first
    problem is raised) and index them (VT0007 v1.0 section 4)."""
    problems = period_problems(cfg, dates)
    if problems:
        raise problems[0]
    per = cfg.periods
    h0, h1 = per.historical_reference
    cal = per.calibration or (h0, h1)
    cnf = per.confirmation
    risk = Periods(cal=(dates.index(cal[0]), dates.index(cal[1])),
                   cnf=None if cnf is None else (dates.index(cnf[0]), dates.index(cnf[1])),
                   hrp=(dates.index(h0), dates.index(h1)), vp_start=dates.index(h1))
    c0, n = cfg.project.crediting_start, cfg.project.crediting_years
    return RunPeriods(dates, (h0, h1), risk, tuple(range(c0, c0 + n)), tuple(tuple(p) for p in per.monitoring))


@dataclass(frozen=True)
class RunInputs:
    """What every step of a run reads: see the module docstring.

    Attributes
    ----------
    forest_change : ForestChange
        Canonical codes, streamed by blocks (:mod:`reddplus.landcover`).
    periods : RunPeriods
    window : Block
        The grid window around the project and its leakage belt (one pixel of margin).
    codes : array of uint8
        Forest-change codes in ``window``.
    project, leakage_belt : array of bool
        Masks in ``window`` (pixel-centre rule); the belt is None without one.
    strata : array of int, optional
        Stratum codes in ``window`` (``areas.strata``); None with a single stratum.
    project_area_ha : float [ha]
        Area of the project polygons (not of the pixels).
    """

    forest_change: ForestChange
    periods: RunPeriods
    window: Block
    codes: np.ndarray
    project: np.ndarray
    leakage_belt: np.ndarray | None
    strata: np.ndarray | None
    project_area_ha: float

    @property
    def grid(self) -> Grid:
        return self.forest_change.grid

    @property
    def dates(self) -> tuple[int, ...]:
        return self.periods.dates

    @property
    def pixel_area_ha(self) -> float:
        return self.grid.pixel_area_ha


def _read_strata(cfg: ProjectConfig, grid: Grid, window: Block) -> np.ndarray | None:
    if cfg.areas.strata is None:
        return None
    check_same_grid({"forest change": grid, f"areas.strata ({cfg.areas.strata})": read_grid(cfg.areas.strata)})
    with open_raster(cfg.areas.strata) as ds:
        return read_block(ds, window, with_halo=False)


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    if a is not None:
        a.flags.writeable = False
    return a


def prepare_inputs(cfg: ProjectConfig) -> RunInputs:
    """Open the forest change, check the periods and areas, and read the project's window.

    Raises
    ------
    ConfigError
        A period outside the forest-change dates (naming the key).
    ZoneError
        The project or the belt lies more than 1 % outside the jurisdiction, the belt overlaps the project
        (:func:`reddplus.raster.zones.zone_layout_problems`), or the project covers no pixel.
    """
    fc = cfg.forest_change.open()
    grid = fc.grid
    periods = run_periods(cfg, tuple(int(d) for d in fc.dates))
    a = cfg.areas
    problems = zone_layout_problems(layer_union(a.project, grid.crs), layer_union(a.jurisdiction, grid.crs),
                                    layer_union(a.leakage_belt, grid.crs) if a.leakage_belt else None,
                                    tolerance_m=max(grid.res))
    if problems:
        key, message = problems[0]
        raise ZoneError(message, path=str(getattr(a, key.split(".")[1])))
    window = block_around([p for p in (cfg.areas.project, cfg.areas.leakage_belt) if p is not None], grid)
    codes = fc.read_codes(window, with_halo=False)
    project = zone_mask(cfg.areas.project, grid, window)
    if not project.any():
        raise ZoneError("the project polygon covers no pixel of the forest-change raster", path=str(cfg.areas.project))
    belt = zone_mask(cfg.areas.leakage_belt, grid, window) if cfg.areas.leakage_belt else None
    return RunInputs(fc, periods, window, _frozen(codes), _frozen(project), _frozen(belt),
                     _frozen(_read_strata(cfg, grid, window)), polygon_area_ha(cfg.areas.project, grid.crs))
