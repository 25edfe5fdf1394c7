"""One configuration model for a whole project, read from TOML.

Every key is validated up front with a message that names it (``periods.monitoring[0]``,
``areas.project``...). Relative paths are resolved against the TOML file's folder.
Unknown keys are refused, so a typo never silently falls back to a default.

Example (abridged; ``reddplus demo`` writes a complete one)::

    [project]
    name = "Sample concession (GENERATED)"
    crediting_start = 2011
    crediting_years = 10

    [areas]
    project = "project.gpkg"
    jurisdiction = "jurisdiction.gpkg"
    admin_field = "province"
    leakage_belt = "leakage_belt.gpkg"

    [forest_change]
    path = "lossyear.tif"
    format = "hansen"
    treecover = "treecover2000.tif"

    [periods]
    historical_reference = [2001, 2010]

    [baseline]
    rate_method = "historical_average"
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reddplus.errors import ConfigError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectInfo(_Model):
    name: str = Field(..., description="project name, as printed in the report")
    id: str = Field("0000", description="project identifier (e.g. the VCS project ID), recorded with the credits "
                    "issued into the run's registry")
    country: str = Field("PE", min_length=2, max_length=2, description="country of the project, ISO 3166-1 alpha-2 "
                         "code")
    crediting_start: int = Field(..., ge=1990, le=2100, description="first year (vintage) of the crediting period [yr]")
    crediting_years: int = Field(10, ge=1, le=100, description="crediting period length [yr]")
    seed: int = Field(20061, description="random seed of every Monte Carlo draw and sample of the run: the same "
                      "seed gives the same numbers")


class Areas(_Model):
    project: Path = Field(..., description="project area polygon(s), a vector file (GeoPackage, shapefile, "
                          "GeoJSON...) in any CRS")
    jurisdiction: Path = Field(..., description="jurisdiction (reference region) polygons, a vector file: where the "
                               "baseline rate and the risk map are computed")
    admin_field: str | None = Field(None, description="attribute of the jurisdiction layer naming its "
                                    "administrative divisions (the risk map's regions); none = one region")
    leakage_belt: Path | None = Field(None, description="leakage belt polygon(s), a vector file; none = no belt, so "
                                      "no activity-shifting leakage is counted")
    protected_areas: Path | None = Field(None, description="protected areas, a vector file: the counterfactual "
                                         "draws no control pixels there")
    strata: Path | None = Field(None, description="stratum raster (integer codes) on the forest-change grid")


class StratumStock(_Model):
    """Per-stratum carbon stock when it comes from a previous assessment rather than plots."""

    code: int = Field(..., description="stratum code: its value in areas.strata (or in the inventory's stratum "
                      "column)")
    name: str = Field(..., description="stratum name, as printed in the report")
    agb_tco2e_per_ha: float = Field(..., ge=0, description="mean above-ground biomass stock of the stratum "
                                    "[t CO2e/ha]; below-ground biomass is added (bgb_tco2e_per_ha, or "
                                    "stocks.root_shoot_ratio x this)")
    agb_tco2e_per_ha_sd: float = Field(0.0, ge=0, description="standard error of the stratum mean [t CO2e/ha] "
                                       "(the 90% interval is +-1.645 of it)")
    bgb_tco2e_per_ha: float | None = Field(None, ge=0, description="mean below-ground biomass stock [t CO2e/ha]; "
                                           "none = agb_tco2e_per_ha x stocks.root_shoot_ratio")


class Stocks(_Model):
    source: Literal["inventory", "strata"] | None = Field(
        None, description="where the carbon stocks come from: 'inventory' (tree plots, Monte Carlo) or 'strata' "
        "(the per-stratum stock table below, from a previous assessment). Without it: 'inventory' when an "
        "inventory is given (stocks.strata then only names the stratum codes), else 'strata'; the report says so")
    inventory: Path | None = Field(None, description="tree list (CSV, one row per tree; see stocks.columns)")
    plot_areas: Path | None = Field(None, description="plot table (CSV: plot, area_ha, stratum), or give "
                                    "plot_area_ha")
    plot_area_ha: float | None = Field(None, gt=0, description="area of every plot, when all plots have the same "
                                       "size [ha]")
    columns: dict[str, str] = Field(default_factory=dict, description="the inventory's column names for "
                                    "reddplus's roles, {role = \"column\"}: plot, tree, diameter (cm), height (m), "
                                    "family, genus, species, x, y; a role left out is read from the column of its name")
    stratum_column: str = Field("stratum", description="column of the plot table naming each plot's stratum")
    height_model: str | None = Field("best", description="local H-D model for trees without a height: log1, log2, "
                                     "weibull, michaelis_menten, best, feldpausch:REGION or none")
    strata: list[StratumStock] = Field(default_factory=list, description="the strata: per-stratum stocks "
                                       "(source 'strata'), or the code and name of each inventory stratum")
    root_shoot_ratio: float = Field(0.37, ge=0, le=1, description="BGB/AGB [-], IPCC 2006 vol. 4 table 4.4, "
                                    "tropical rainforest")
    carbon_fraction: float = Field(0.47, gt=0, le=1, description="carbon fraction of dry biomass [-], IPCC 2006 "
                                   "vol. 4 table 4.3")
    post_deforestation_tco2e_per_ha: float = Field(0.0, ge=0, description="carbon stock of the land after "
                                                   "deforestation [t CO2e/ha]; 0 = all the forest's carbon is lost")
    monte_carlo: int = Field(1000, ge=10, le=100_000, description="Monte Carlo draws of the inventory's stocks")

    @model_validator(mode="after")
    def _one_source(self):
        if self.inventory is None and not self.strata:
            raise ValueError("give either stocks.inventory (a tree list) or stocks.strata (per-stratum stocks)")
        if self.source == "inventory" and self.inventory is None:
            raise ValueError("source = 'inventory' needs stocks.inventory (a tree list)")
        if self.source == "strata" and not self.strata:
            raise ValueError("source = 'strata' needs stocks.strata (per-stratum stocks)")
        return self

    @property
    def stock_source(self) -> str:
        """The stocks' source as used: ``source``, or what the given files leave (see ``source``)."""
        return self.source or ("inventory" if self.inventory is not None else "strata")


class ForestChangeInput(_Model):
    """The forest-change input (see :func:`reddplus.landcover.open_forest_change`).

    ``path`` is the fcc123 raster, the first mask (``masks``: give the others in ``more_paths``), the
    Hansen ``lossyear`` raster (with ``treecover`` and optionally ``datamask``) or the TMF raster.
    """

    path: Path = Field(..., description="the forest-change raster: the fcc123 raster, the first mask, the Hansen "
                       "lossyear or the TMF annual-change raster (projected CRS in metres)")
    format: Literal["fcc123", "masks", "hansen", "tmf"] = Field(
        "fcc123", description="convention of the raster: fcc123 (riskmapjnr / forestatrisk: 0 non-forest, 1 lost in "
        "the first period, 2 lost in the second, 3 forest), masks (a forest mask per date), hansen (Global Forest "
        "Change lossyear with treecover2000), tmf (JRC Tropical Moist Forest annual change, a band per year)")
    dates: list[int] | None = Field(None, description="years of the maps [yr], increasing: fcc123 three (none = "
                                    "2000, 2010, 2020, assumed), masks one per mask (required), hansen 2000, 2001, ... "
                                    "(none = up to the last loss year), tmf one per band (none = 1990 + band index)")
    more_paths: list[Path] = Field(default_factory=list, description="masks: the rasters after the first (or none: "
                                   "one raster with a band per date)")
    treecover: Path | None = Field(None, description="hansen: treecover2000 [%]")
    datamask: Path | None = Field(None, description="hansen: datamask (1 = land)")
    canopy_threshold: float = Field(30.0, ge=0, le=100, description="hansen: forest if treecover >= this [%]")
    mmu_ha: float | None = Field(None, ge=0, description="hansen: minimum mapping unit of loss patches [ha]")

    @model_validator(mode="after")
    def _inputs(self):
        if self.format == "hansen" and self.treecover is None:
            raise ValueError("format 'hansen' needs forest_change.treecover (treecover2000)")
        if self.format == "masks" and not self.dates:
            raise ValueError("format 'masks' needs forest_change.dates (one per mask)")
        if self.dates is not None and list(self.dates) != sorted(set(self.dates)):
            raise ValueError("forest_change.dates must be strictly increasing years")
        return self

    def open(self):
        """Open as a canonical ``ForestChange`` (one code per pixel: number of leading forest dates)."""
        from reddplus.landcover import open_forest_change

        dates = tuple(self.dates) if self.dates else None
        if self.format == "hansen":
            paths = [self.treecover, self.path] + ([self.datamask] if self.datamask else [])
            return open_forest_change([str(p) for p in paths], "hansen", dates=dates,
                                      canopy_threshold=self.canopy_threshold, mmu_ha=self.mmu_ha)
        if self.format == "masks":
            return open_forest_change([str(p) for p in [self.path, *self.more_paths]], "masks", dates=dates)
        return open_forest_change(str(self.path), self.format, dates=dates)


class Periods(_Model):
    historical_reference: tuple[int, int] = Field(..., description="historical reference period (HRP), [start, end] "
                                                  "map dates [yr]: the baseline rate's period")
    calibration: tuple[int, int] | None = Field(None, description="VT0007 calibration period, [start, end] map dates "
                                                "[yr]; none = the HRP")
    confirmation: tuple[int, int] | None = Field(None, description="VT0007 confirmation period, [start, end] map "
                                                 "dates [yr]; none = the risk map's prediction is not assessed")
    monitoring: list[tuple[int, int]] = Field(default_factory=list, description="monitoring periods, [[first, last], "
                                              "...] vintages [yr]: ex-post credits; none = an ex-ante run")

    @field_validator("historical_reference", "calibration", "confirmation")
    @classmethod
    def _ordered(cls, v):
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"start {v[0]} must be before end {v[1]}")
        return v

    @field_validator("monitoring")
    @classmethod
    def _monitoring(cls, v):
        for i, (a, b) in enumerate(v):
            if not a <= b:
                raise ValueError(f"monitoring[{i}]: start {a} after end {b}")
        for (a0, b0), (a1, b1) in zip(sorted(v), sorted(v)[1:]):
            if a1 <= b0:
                raise ValueError(f"monitoring periods {a0}-{b0} and {a1}-{b1} overlap")
        return v


class PlannedRoad(_Model):
    path: Path = Field(..., description="planned road lines, a vector file (an opening_year attribute, when "
                       "present, gives each line its own year)")
    opening_year: int = Field(..., description="year the road opens [yr]")


class Baseline(_Model):
    rate_method: Literal["historical_average", "linear_trend", "expected"] = Field(
        "historical_average", description="the jurisdiction's baseline deforestation rate: historical_average (the "
        "HRP's mean annual loss), linear_trend (the HRP's linear trend), expected (expected_ha_per_year)")
    expected_ha_per_year: float | None = Field(None, ge=0, description="expected deforestation in the jurisdiction "
                                               "[ha/yr] (rate_method = 'expected')")
    risk_model: Literal["vt0007", "logistic", "random_forest"] = Field(
        "vt0007", description="the risk map: vt0007 (the benchmark: distance to the forest edge); logistic or "
        "random_forest name the model of the planned-road scenario")
    roads: Path | None = Field(None, description="existing roads, vector lines (a driver of the alternative models)")
    rivers: Path | None = Field(None, description="rivers, vector lines (a driver of the alternative models)")
    settlements: Path | None = Field(None, description="settlements, vector points (a driver of the alternative "
                                     "models)")
    planned_roads: list[PlannedRoad] = Field(default_factory=list, description="planned roads: the baseline "
                                             "scenario in which the road opens")

    @model_validator(mode="after")
    def _expected(self):
        if self.rate_method == "expected" and self.expected_ha_per_year is None:
            raise ValueError("rate_method = 'expected' needs expected_ha_per_year")
        return self

    @property
    def alternative_model(self) -> str:
        """The model type of the planned-road scenario (logistic unless ``risk_model`` names another)."""
        return "logistic" if self.risk_model == "vt0007" else self.risk_model


class Uncertainty(_Model):
    confidence: float = Field(0.90, gt=0.5, lt=1, description="two-sided confidence level of the uncertainty "
                              "interval [-]")
    allowable_halfwidth_percent: float = Field(15.0, ge=0, le=100, description="half-width of that interval "
                                               "[% of the mean] up to which no uncertainty deduction is made")
    draws: int = Field(10_000, ge=100, le=1_000_000, description="Monte Carlo draws of the uncertainty")


class Deductions(_Model):
    market_leakage_percent: float = Field(0.0, ge=0, le=100, description="market leakage [% of the gross emission "
                                          "reductions]")
    uncertainty: Uncertainty = Field(Uncertainty(), description="the uncertainty deduction")
    nprt: dict[str, Any] = Field(
        default_factory=dict,
        description="answers to the VCS AFOLU Non-Permanence Risk Tool: one table per risk category "
                    "(project_management, financial_viability, opportunity_cost, project_longevity, land_tenure, "
                    "stakeholder_engagement, political_risk, natural), one key per question of the tool; the "
                    "questions and allowed answers are listed by reddplus.accounting.answers_reference()")
    nprt_version: Literal["4.2", "4.0"] = Field(
        "4.2",
        description="AFOLU Non-Permanence Risk Tool version: '4.2' (mandatory for registration and verification "
                    "requests from 1 January 2024) or '4.0' (allowed only when registration was requested before "
                    "29 August 2023, and only for vintages up to 2022)")
    nprt_override: bool = Field(
        False,
        description="use nprt_version = '4.0' outside what Verra allows it for; the results and the report flag "
                    "the override")
    registration_requested: dt.date | None = Field(
        None,
        description="date the project requested VCS registration (YYYY-MM-DD); it decides whether NPRT v4.0 may "
                    "apply (before 2023-08-29) and the v4.2 minimum project longevity (40 years when requested on "
                    "or after 2024-01-01, otherwise 30); without it the stricter 40-year minimum is assumed and "
                    "stated in the results")


class Counterfactual(_Model):
    enabled: bool = Field(True, description="run the ex-post pixel-matching counterfactual (it needs monitoring "
                          "periods)")
    repeats: int = Field(100, ge=1, le=10_000, description="repeated matched samples (the spread of the "
                         "over-crediting ratio)")
    sample_density_per_ha: float = Field(0.25, gt=0, description="sampled project pixels per hectare [1/ha]")
    buffer_km: float = Field(5.0, ge=0, description="ring around the project from which no control pixel is drawn "
                             "[km]")


class ProjectConfig(_Model):
    """The whole project: see the module docstring for an example."""

    project: ProjectInfo = Field(..., description="the project and its crediting period")
    areas: Areas = Field(..., description="the project, the jurisdiction and the other zones (vector files in any "
                         "CRS, reprojected onto the forest-change grid)")
    stocks: Stocks = Field(..., description="carbon stocks: from a tree inventory or per-stratum stocks")
    forest_change: ForestChangeInput = Field(..., description="the forest-change input of the activity data and "
                                             "the risk map")
    periods: Periods = Field(..., description="the historical reference, calibration, confirmation and monitoring "
                             "periods")
    baseline: Baseline = Field(Baseline(), description="the baseline rate, the risk map and the scenarios")
    deductions: Deductions = Field(Deductions(), description="leakage, uncertainty and non-permanence deductions")
    counterfactual: Counterfactual = Field(Counterfactual(), description="the ex-post check of the baseline "
                                           "against matched control pixels")
    ccb: Path | None = Field(None, description="the CCB v3.1 folder (ccb.toml, community / HCV / indicator tables and "
                             "GeoPackages; see reddplus.ccb.model); when set, the run adds the CCB section. Written "
                             "as a section, [ccb] path = \"ccb\", or as a top-level key, ccb = \"ccb\"")
    base_dir: Annotated[Path, Field(exclude=True)] = Path(".")

    @field_validator("ccb", mode="before")
    @classmethod
    def _ccb_section(cls, v):
        if isinstance(v, dict):  # the [ccb] section: only its path
            if set(v) != {"path"}:
                raise ValueError(f"[ccb] takes one key, path (got {', '.join(sorted(v)) or 'none'})")
            return v["path"]
        return v

    @model_validator(mode="after")
    def _cross_checks(self):
        start = self.project.crediting_start
        for i, (a, _b) in enumerate(self.periods.monitoring):
            if a < start:
                raise ValueError(f"periods.monitoring[{i}] starts in {a}, before the crediting start {start}")
        if self.periods.historical_reference[1] > start:
            raise ValueError(f"periods.historical_reference ends in {self.periods.historical_reference[1]}, after the "
                             f"crediting start {start}")
        return self

    def relocated(self, src: Path, dst: Path) -> "ProjectConfig":
        """The same config with every path under ``src`` (and ``base_dir``) moved under ``dst``
        (a project folder that was published by renaming, as the built-in sample inside its run)."""

        def move(p: Path) -> Path:
            return dst / p.relative_to(src) if p.is_relative_to(src) else p

        def walk(model: BaseModel) -> BaseModel:
            updates = {}
            for name in type(model).model_fields:
                v = getattr(model, name)
                if isinstance(v, Path):
                    updates[name] = move(v)
                elif isinstance(v, BaseModel):
                    updates[name] = walk(v)
                elif isinstance(v, list) and v and isinstance(v[0], (Path, BaseModel)):
                    updates[name] = [move(x) if isinstance(x, Path) else walk(x) for x in v]
            return model.model_copy(update=updates)

        return walk(self)

    def input_files(self) -> dict[str, Path]:
        """Every input file named in the config, by its dotted key (for checks and the manifest)."""
        out: dict[str, Path] = {}

        def walk(obj: Any, prefix: str) -> None:
            if isinstance(obj, BaseModel):
                for name in type(obj).model_fields:
                    if name == "base_dir":
                        continue
                    walk(getattr(obj, name), f"{prefix}.{name}" if prefix else name)
            elif isinstance(obj, (list, tuple)):
                for i, v in enumerate(obj):
                    walk(v, f"{prefix}[{i}]")
            elif isinstance(obj, Path):
                out[prefix] = obj

        walk(self, "")
        return out


def load_project(path: str | Path) -> ProjectConfig:
    """Read and validate a project TOML; relative paths are resolved against its folder.

    Raises
    ------
    ConfigError
        Naming the key (``periods.monitoring.0``) or the missing file.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError("config file not found", path=str(path)) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"invalid TOML: {err}", path=str(path)) from err
    return project_from_dict(raw, base_dir=path.parent.resolve(), source=str(path))


def project_from_dict(raw: dict, *, base_dir: Path, source: str | None = None) -> ProjectConfig:
    try:
        cfg = ProjectConfig.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        extra = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise ConfigError(f"{msg}{extra}", key=key, path=source) from err
    resolved = _with_resolved_paths(cfg, base_dir)
    for key, p in resolved.input_files().items():
        if not p.exists():
            raise ConfigError(f"file not found: {p}", key=key, path=source)
    return resolved


def _with_resolved_paths(model: BaseModel, base: Path) -> Any:
    updates = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name == "base_dir":
            continue
        if isinstance(value, Path) and not value.is_absolute():
            updates[name] = (base / value).resolve()
        elif isinstance(value, BaseModel):
            updates[name] = _with_resolved_paths(value, base)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            updates[name] = [_with_resolved_paths(v, base) for v in value]
        elif isinstance(value, list) and value and isinstance(value[0], Path):
            updates[name] = [v if v.is_absolute() else (base / v).resolve() for v in value]
    return model.model_copy(update=updates)
