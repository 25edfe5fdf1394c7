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
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError,
                      field_validator, model_validator)

from reddplus.accounting.config import (LeakageSettings, PoolsSettings, PostDeforestationClass, UncertaintyRuleName,
                                       UncertaintySettings, ValiditySettings)
from reddplus.errors import ConfigError, validation_message
from reddplus.risk.config import AlternativesTable, resolve_risk_model


class _Model(BaseModel):
    """Numbers and booleans are strict: ``crediting_start = "2021"`` or ``enabled = "yes"`` are refused,
    never coerced (a quoted value in TOML is a string; a float accepts an integer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectInfo(_Model):
    name: str = Field(..., description='project name, as printed in the report')
    id: str = Field("0000", description=('project identifier (e.g. the VCS project ID), recorded with the credits '
                                         "issued into the run's registry"))
    country: str = Field("PE", min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    crediting_start: StrictInt = Field(..., ge=1990, le=2100, description="first year of the crediting period")
    crediting_years: StrictInt = Field(10, ge=1, le=100, description="crediting period length [yr]")
    seed: StrictInt = Field(20061, description=('random seed of every Monte Carlo draw and sample of the run: the '
                                                'same seed gives the same numbers'))


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

    code: StrictInt = Field(..., description=("stratum code: its value in areas.strata (or in the inventory's "
                                              'stratum column)'))
    name: str = Field(..., description='stratum name, as printed in the report')
    agb_tco2e_per_ha: StrictFloat = Field(..., ge=0,
            description=('mean above-ground biomass stock of the stratum [t CO2e/ha]; below-ground biomass is added '
            '(bgb_tco2e_per_ha, or stocks.root_shoot_ratio x this)'))
    agb_tco2e_per_ha_sd: StrictFloat = Field(0.0, ge=0, description="standard error of the stratum mean [t CO2e/ha] "
                                       "(the 90% interval is +-1.645 of it)")
    bgb_tco2e_per_ha: StrictFloat | None = Field(None, ge=0,
            description=('mean below-ground biomass stock [t CO2e/ha]; none = agb_tco2e_per_ha x '
                         'stocks.root_shoot_ratio'))


class Stocks(_Model):
    source: Literal["inventory", "strata"] | None = Field(
        None, description="where the carbon stocks come from: 'inventory' (tree plots, Monte Carlo) or 'strata' "
        "(the per-stratum stock table below, from a previous assessment). Without it: 'inventory' when an "
        "inventory is given (stocks.strata then only names the stratum codes), else 'strata'; the report says so")
    inventory: Path | None = Field(None, description='tree list (CSV, one row per tree; see stocks.columns)')
    plot_areas: Path | None = Field(None, description='plot table (CSV: plot, area_ha, stratum), or give plot_area_ha')
    plot_area_ha: StrictFloat | None = Field(None, gt=0,
            description='area of every plot, when all plots have the same size [ha]')
    columns: dict[str, str] = Field(default_factory=dict,
            description=('the inventory\'s column names for reddplus\'s roles, {role = "column"}: plot, tree, diameter'
                         ' (cm), height (m), family, genus, species, x, y; a role left out is read from the column '
                         'of its name'))
    stratum_column: str = Field("stratum", description="column of the plot table naming each plot's stratum")
    height_model: str | None = Field("best", description="local H-D model for trees without a height: log1, log2, "
                                     "weibull, michaelis_menten, best, feldpausch:REGION or none")
    strata: list[StratumStock] = Field(default_factory=list,
            description=("the strata: per-stratum stocks (source 'strata'), or the code and name of each inventory "
                         'stratum'))
    root_shoot_ratio: StrictFloat = Field(0.37, ge=0, le=1, description="BGB/AGB [-], IPCC 2006 vol. 4 table 4.4, "
                                    "tropical rainforest")
    carbon_fraction: StrictFloat = Field(0.47, gt=0, le=1, description="IPCC 2006 vol. 4 table 4.3")
    pools: PoolsSettings = Field(PoolsSettings(), description="carbon pools included or excluded, each with its "
                                 "reason (reddplus.accounting.pools.POOL_RULES; VM0048 v1.0 section 5.2)")
    post_deforestation: list[PostDeforestationClass] | None = Field(
        None, description="land-use classes that replace the forest, with their shares and long-term stocks "
        "(tco2e_per_ha with its source, or ipcc_default). Without it (and without "
        "post_deforestation_tco2e_per_ha) the IPCC default for annual cropland is used and stated in the report")
    post_deforestation_tco2e_per_ha: StrictFloat | None = Field(
        None, ge=0, description="one post-deforestation stock for all deforestation [t CO2e/ha] (the project's own "
        "figure); an alternative to post_deforestation")
    monte_carlo: StrictInt = Field(1000, ge=10, le=100_000,
            description="Monte Carlo draws of the inventory's stocks")

    @model_validator(mode="after")
    def _one_source(self):
        if self.inventory is None and not self.strata:
            raise ValueError("give either stocks.inventory (a tree list) or stocks.strata (per-stratum stocks)")
        if self.source == "inventory" and self.inventory is None:
            raise ValueError("source = 'inventory' needs stocks.inventory (a tree list)")
        if self.source == "strata" and not self.strata:
            raise ValueError("source = 'strata' needs stocks.strata (per-stratum stocks)")
        if self.post_deforestation is not None and self.post_deforestation_tco2e_per_ha is not None:
            raise ValueError("give post_deforestation (land-use classes) or post_deforestation_tco2e_per_ha, not both")
        return self

    @property
    def post_deforestation_classes(self) -> list[dict]:
        """The post-deforestation classes as used (see ``post_deforestation``)."""
        if self.post_deforestation is not None:
            return [c.model_dump() for c in self.post_deforestation]
        if self.post_deforestation_tco2e_per_ha is not None:
            return [{"name": "post-deforestation land use", "share": 1.0,
                     "tco2e_per_ha": self.post_deforestation_tco2e_per_ha,
                     "source": "the project (stocks.post_deforestation_tco2e_per_ha)"}]
        return [{"name": "annual cropland (default)", "share": 1.0, "ipcc_default": "annual_cropland"}]

    @property
    def stock_source(self) -> str:
        """The stocks' source as used: ``source``, or what the given files leave (see ``source``)."""
        return self.source or ("inventory" if self.inventory is not None else "strata")


class ForestChangeInput(_Model):
    """The forest-change input (see :func:`reddplus.landcover.open_forest_change`).

    ``path`` is the fcc123 raster, the first mask (``masks``: give the others in ``more_paths``), the
    Hansen ``lossyear`` raster (with ``treecover`` and optionally ``datamask``) or the TMF raster.
    """

    path: Path = Field(..., description=('the forest-change raster: the fcc123 raster, the first mask, the Hansen '
                                         'lossyear or the TMF annual-change raster (projected CRS in metres)'))
    format: Literal["fcc123", "masks", "hansen", "tmf"] = Field(
        "fcc123", description=('convention of the raster: fcc123 (riskmapjnr / forestatrisk: 0 non-forest, 1 lost in'
                               ' the first period, 2 lost in the second, 3 forest), masks (a forest mask per date), '
                               'hansen (Global Forest Change lossyear with treecover2000), tmf (JRC Tropical Moist '
                               'Forest annual change, a band per year)'))
    dates: list[StrictInt] | None = Field(None, description=('years of the maps [yr], increasing: fcc123 three (none'
                                                             ' = 2000, 2010, 2020, assumed), masks one per mask '
                                                             '(required), hansen 2000, 2001, ... (none = up to the '
                                                             'last loss year), tmf one per band (none = 1990 + band '
                                                             'index)'))
    more_paths: list[Path] = Field(default_factory=list, description="masks: the rasters after the first (or none: "
                                   "one raster with a band per date)")
    treecover: Path | None = Field(None, description="hansen: treecover2000 [%]")
    datamask: Path | None = Field(None, description="hansen: datamask (1 = land)")
    canopy_threshold: StrictFloat = Field(30.0, ge=0, le=100, description="hansen: forest if treecover >= this [%]")
    mmu_ha: StrictFloat | None = Field(None, ge=0, description="hansen: minimum mapping unit of loss patches [ha]")

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
    historical_reference: tuple[StrictInt, StrictInt] = Field(
        ..., description="historical reference period (HRP), [start, end] map dates [yr]: the baseline rate's period")
    calibration: tuple[StrictInt, StrictInt] | None = Field(
        None, description='VT0007 calibration period, [start, end] map dates [yr]; none = the HRP')
    confirmation: tuple[StrictInt, StrictInt] | None = Field(
        None, description=("VT0007 confirmation period, [start, end] map dates [yr]; none = the risk map's "
                           'prediction is not assessed'))
    monitoring: list[tuple[StrictInt, StrictInt]] = Field(default_factory=list,
            description=('monitoring periods, [[first, last], ...] vintages [yr]: ex-post credits; none = an ex-ante'
                         ' run'))
    validity: ValiditySettings = Field(ValiditySettings(), description="baseline validity periods (VM0048: 6 years, "
                                       "each fitted on the 10 years before)")

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
    path: Path = Field(..., description="planned-road layer (lines)")
    opening_year: StrictInt = Field(..., description="year the road opens [yr]")


class Baseline(_Model):
    """``[baseline]``: who supplies the baseline, and how it is made when the run makes it."""

    source: Literal["vt0007", "allocated"] = Field(
        "vt0007", description="'vt0007': this run makes the VT0007 baseline (a jurisdiction, a data provider or a "
        "pre-feasibility study) and writes the allocated map in the form a project run reads; 'allocated': the "
        "project proponent's run, with the allocated risk map Verra or the jurisdictional programme delivered "
        "(allocated_risk_map)")
    rate_method: Literal["historical_average", "linear_trend", "expected"] = Field(
        "historical_average", description="jurisdictional expected deforestation (VT0007 section 3)")
    expected_ha_per_year: StrictFloat | None = Field(None, ge=0, description="expected deforestation in the "
                                                     "jurisdiction [ha/yr] (rate_method 'expected')")
    risk_model: str = Field("benchmark", description="'benchmark' (the VT0007 benchmark risk map) or "
                            "'alternative:NAME' (the model defined in [baseline.alternatives.NAME]); an alternative "
                            "is used only when it beats the benchmark under VT0007's test, else the benchmark is "
                            "used and the report says why ('vt0007' is read as 'benchmark')")
    alternatives: AlternativesTable = Field(default_factory=dict, description="alternative risk models by name "
                                            "(reddplus.risk.config.AlternativeModel)")
    use_planned_roads_in_baseline: StrictBool | None = Field(
        None, description="a planned road opening after the confirmation period enters the validity period's "
        "prediction only when true (an extrapolation the report shows); sets it for the alternative used")
    vt0007_profile: Literal["reddplus", "udef-arp"] = Field(
        "reddplus", description="rules of the VT0007 benchmark: 'reddplus' (exact) or 'udef-arp' (Verra's reference "
        "tool's NRT binning, class closure, assessment grid, R2 and iterative adjustment ratio)")
    max_iterations: StrictInt = Field(5, ge=1, le=1000, description=('udef-arp profile: iterations of the adjustment'
                                                                     ' ratio'))
    cell_area_ha: StrictFloat = Field(100_000.0, gt=0, description="assessment cell area of the model assessment [ha] "
                                "(VT0007 default 100,000 ha; a small jurisdiction needs smaller cells)")
    allocated_risk_map: Path | None = Field(
        None, description="the delivered allocation (source 'allocated'): raster of allocated deforestation "
        "[ha pixel-1 yr-1] for the validity period on the forest-change grid (reddplus.baseline.allocated)")
    allocated_activity_data: Path | None = Field(
        None, description="the delivered activity data (source 'allocated', optional): CSV year,area,ha (area "
        "project | leakage_belt) compared with the map's sums")
    allocated_units: str | None = Field(None, description="units of a map whose band carries none: must be "
                                        "'ha/pixel/yr'; never assumed")
    allocated_tolerance_percent: StrictFloat = Field(
        1.0, ge=0, le=100, description="largest difference [%] between the "
                                               "map's sums and the CSV before a warning")
    history_ratio_flag: StrictFloat = Field(
        3.0, gt=0, description="flag a baseline that gives the project more than this many times its own "
        "deforestation rate of the HRP (a diagnostic in the report and summary, not a rule)")
    roads: Path | None = Field(None, description="not used by the benchmark: name the layer as a distance driver of "
                               "an alternative ([baseline.alternatives.NAME.drivers]); kept for older configs")
    rivers: Path | None = Field(None, description="as roads")
    settlements: Path | None = Field(None, description="as roads")
    planned_roads: list[PlannedRoad] = Field(default_factory=list, description="as roads: planned roads are a "
                                             "driver of an alternative (its planned_roads)")

    @field_validator("risk_model", mode="before")
    @classmethod
    def _legacy_risk_model(cls, v):
        if v == "vt0007":
            return "benchmark"
        if v in ("logistic", "random_forest"):
            raise ValueError(f"risk_model = {v!r} is no longer a choice: define the model in "
                             f"[baseline.alternatives.NAME] (model = {v!r}, drivers) and set risk_model = "
                             "'alternative:NAME'")
        return v

    @model_validator(mode="after")
    def _choices(self):
        if self.rate_method == "expected" and self.expected_ha_per_year is None:
            raise ValueError("rate_method = 'expected' needs expected_ha_per_year")
        try:
            alt = resolve_risk_model(self.risk_model, self.alternatives)
        except ConfigError as err:
            raise ValueError(str(err)) from None
        if self.source == "allocated" and self.allocated_risk_map is None:
            raise ValueError("source = 'allocated' needs allocated_risk_map (the delivered allocation)")
        if self.allocated_units is not None:
            from reddplus.baseline.allocated import UNITS, normalise_units

            if normalise_units(self.allocated_units) is None:
                raise ValueError(f"allocated_units must be {UNITS!r}; got {self.allocated_units!r}")
        if self.source == "vt0007" and (self.allocated_risk_map or self.allocated_activity_data):
            raise ValueError("allocated_risk_map / allocated_activity_data are read with source = 'allocated' only")
        if self.source == "allocated" and alt is not None:
            raise ValueError("with source = 'allocated' the allocation is given: risk_model must be 'benchmark'")
        if self.use_planned_roads_in_baseline is not None and alt is None:
            raise ValueError("use_planned_roads_in_baseline applies to an alternative: set risk_model = "
                             "'alternative:NAME'")
        if (self.use_planned_roads_in_baseline is not None and alt is not None
                and "use_planned_roads_in_baseline" in alt.model_fields_set
                and alt.use_planned_roads_in_baseline != self.use_planned_roads_in_baseline):
            raise ValueError(f"use_planned_roads_in_baseline is {self.use_planned_roads_in_baseline} here and "
                             f"{alt.use_planned_roads_in_baseline} in [baseline.alternatives.{alt.name}]")
        return self

    @property
    def alternative(self):
        """The alternative named by ``risk_model`` (None for the benchmark), with this table's planned-road choice."""
        alt = resolve_risk_model(self.risk_model, self.alternatives)
        if alt is not None and self.use_planned_roads_in_baseline is not None:
            alt = alt.model_copy(update={"use_planned_roads_in_baseline": self.use_planned_roads_in_baseline})
        return alt


class ActivityDataInput(_Model):
    """``[activity_data]``: activity data from a reference sample instead of map pixel counts."""

    reference_sample: Path | None = Field(
        None, description="CSV of interpreted sample points (stratum, map, reference [, period, x, y]); the HRP and "
        "monitoring activity data then come from its stratified estimates (Olofsson et al. 2014; Stehman 2014), "
        "with their sampling error in the uncertainty deduction (reddplus.accuracy.reference)")
    confidence: StrictFloat = Field(0.90, gt=0.5, lt=1, description="two-sided level of the reported confidence intervals [-]")
    finite_population_correction: StrictBool = Field(False, description="apply 1 - n_h/N_h (Stehman 2014 eq. 25)")


class Deductions(_Model):
    """``[deductions]``: uncertainty, leakage and the non-permanence buffer."""

    uncertainty_rule: UncertaintyRuleName = Field(
        "vcs_halfwidth_excess", description="uncertainty-deduction rule (reddplus.accounting.uncertainty."
        "UNCERTAINTY_RULES); the default is the VCS excess rule, assumed because the VM0048 / VMD0055 v1.1 text "
        "could not be read")
    uncertainty: UncertaintySettings = Field(UncertaintySettings(), description="Monte Carlo and threshold of the "
                                             "uncertainty deduction, per monitoring period")
    leakage: LeakageSettings = Field(..., description="leakage in the belt, beyond it and through markets "
                                     "(VMD0055 v1.1): beyond_belt and market are required, each with its method and "
                                     "value, or not_applicable with a reason")
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
    nprt_override: StrictBool = Field(
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
    enabled: StrictBool = Field(True, description=('run the ex-post pixel-matching counterfactual (it needs '
                                                   'monitoring periods)'))
    repeats: StrictInt = Field(100, ge=1, le=10_000,
            description='repeated matched samples (the spread of the over-crediting ratio)')
    sample_density_per_ha: StrictFloat = Field(0.25, gt=0,
            description='sampled project pixels per hectare [1/ha]')
    buffer_km: StrictFloat = Field(5.0, ge=0,
            description='ring around the project from which no control pixel is drawn [km]')


class ExAnte(_Model):
    """``[ex_ante]``: the proponent's ex-ante projection of the project's own deforestation."""

    project_deforestation_ha_per_year: StrictFloat | None = Field(
        None, ge=0, description="expected deforestation in the project area with the project [ha/yr], as the "
        "proponent projects it ex ante (capped at the baseline in each year); none = the project's own HRP rate, "
        "that is no project effect, which the results flag. Ex-post credits always use the monitored deforestation")


class LossEventInput(_Model):
    """``[[loss_events]]``: a loss event in the project area (fire, illegal clearing...), reported in the
    loss-event report of its monitoring period (VCS Standard v4.5 section 3.2.26)."""

    event: str = Field(..., min_length=1, description="what happened (e.g. 'fire', 'illegal clearing')")
    year: StrictInt = Field(..., description="the vintage in which it occurred")
    area_ha: StrictFloat = Field(..., ge=0, description="area affected [ha]")
    emissions_tco2e: StrictFloat | None = Field(
        None, ge=0, description="its emissions [t CO2e]; default: area x the baseline emission factor. They are "
        "part of the vintage's monitored project emissions")
    date: dt.date | None = Field(None, description="date of the event (in its year)")
    description: str = Field("", description="what happened, in words")


class CcbVerificationRecord(_Model):
    """A CCB verification: the period it covers, the body, the date, the outcome (CCB Program Rules v3.1)."""

    period_start: dt.date = Field(..., description="first day the verification covers")
    period_end: dt.date = Field(..., description="last day it covers")
    body: str = Field(..., min_length=1, description="the validation/verification body")
    date: dt.date = Field(..., description="date of the verification statement")
    outcome: Literal["APPROVED", "GOLD"] = Field(..., description="APPROVED, or GOLD with the levels named")
    gold_levels: list[Literal["GL1", "GL2", "GL3"]] = Field(default_factory=list, description="Gold Levels achieved")


class ProjectConfig(_Model):
    """The whole project: see the module docstring for an example."""

    project: ProjectInfo = Field(..., description='the project and its crediting period')
    areas: Areas = Field(..., description=('the project, the jurisdiction and the other zones (vector files in any '
                                           'CRS, reprojected onto the forest-change grid)'))
    stocks: Stocks = Field(..., description='carbon stocks: from a tree inventory or per-stratum stocks')
    forest_change: ForestChangeInput = Field(..., description=('the forest-change input of the activity data and the'
                                                               ' risk map'))
    periods: Periods = Field(..., description=('the historical reference, calibration, confirmation and monitoring '
                                               'periods'))
    baseline: Baseline = Field(Baseline(), description=('the baseline: who makes it (source: a delivered allocation '
                                                        "or this run's VT0007 benchmark), the rate, the risk model "
                                                        'and its alternatives'))
    activity_data: ActivityDataInput = Field(
        ActivityDataInput(), description=('activity data from a reference sample (stratified estimates with their '
                                          'sampling error, Olofsson et al. 2014) instead of map pixel counts'))
    deductions: Deductions = Field(..., description=('the deductions: NPRT v4.2 answers (buffer), uncertainty rule '
                                                     'and settings, leakage (required: every component explicit)'))
    counterfactual: Counterfactual = Field(Counterfactual(), description=('the ex-post check of the baseline against'
                                                                          ' matched control pixels'))
    ex_ante: ExAnte = Field(ExAnte(), description="the ex-ante projection of the project's deforestation (the "
                            "ex-ante credits; the ex-post credits use the monitoring)")
    ccb: Path | None = Field(None, description="the CCB v3.1 folder (ccb.toml, community / HCV / indicator tables and "
                             "GeoPackages; see reddplus.ccb.model); when set, the run adds the CCB section. Written "
                             "as a section, [ccb] path = \"ccb\", or as a top-level key, ccb = \"ccb\"")
    loss_events: list[LossEventInput] = Field(default_factory=list, description="loss events in the project area, "
                                              "reported with their monitoring period")
    ccb_verification: CcbVerificationRecord | None = Field(
        None, description="a CCB verification of the project ([ccb] verification = {period_start, period_end, body, "
        "date, outcome, gold_levels}): the run's registry labels CCB the vintages it covers (CCB Program Rules)")
    base_dir: Annotated[Path, Field(exclude=True)] = Path(".")

    @model_validator(mode="before")
    @classmethod
    def _ccb_verification(cls, raw):
        """``[ccb] verification = {...}`` is read as ``ccb_verification``."""
        if isinstance(raw, dict) and isinstance(raw.get("ccb"), dict) and "verification" in raw["ccb"]:
            ccb = dict(raw["ccb"])
            raw = {**raw, "ccb": ccb, "ccb_verification": ccb.pop("verification")}
        return raw

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
        last = start + self.project.crediting_years - 1
        for i, (_a, b) in enumerate(self.periods.monitoring):
            if b > last:
                raise ValueError(f"periods.monitoring[{i}] ends in {b}, after the crediting period "
                                 f"{start}-{last} (project.crediting_years = {self.project.crediting_years})")
        return self

    def relocated(self, src: Path, dst: Path) -> "ProjectConfig":
        """The same config with every path under ``src`` (and ``base_dir``) moved under ``dst``
        (a project folder that was published by renaming, as the built-in sample inside its run)."""
        return map_paths(self, lambda p: dst / p.relative_to(src) if p.is_relative_to(src) else p, base_dir=True)

    def input_files(self) -> dict[str, Path]:
        """Every input file named in the config, by its dotted key (for checks and the manifest)."""
        out: dict[str, Path] = {}

        def walk(obj: Any, prefix: str) -> None:
            if isinstance(obj, BaseModel):
                for name in type(obj).model_fields:
                    if name != "base_dir":
                        walk(getattr(obj, name), f"{prefix}.{name}" if prefix else name)
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    walk(v, f"{prefix}.{k}")
            elif isinstance(obj, (list, tuple)):
                for i, v in enumerate(obj):
                    walk(v, f"{prefix}[{i}]")
            elif isinstance(obj, Path):
                out[prefix] = obj

        walk(self, "")
        return out


def map_paths(model: BaseModel, fn, *, base_dir: bool = False) -> Any:
    """A copy of a (frozen) config model with ``fn`` applied to every path in it: fields, lists, tuples and
    dicts of models included; ``base_dir`` only when asked."""

    def conv(v):
        if isinstance(v, Path):
            return fn(v)
        if isinstance(v, BaseModel):
            return map_paths(v, fn)
        if isinstance(v, (list, tuple)):
            return type(v)(conv(x) for x in v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    updates = {name: conv(getattr(model, name)) for name in type(model).model_fields
               if name != "base_dir" or base_dir}
    out = model.model_copy(update=updates)
    # a copy keeps which keys the config set (model_copy would mark every updated field as set)
    object.__setattr__(out, "__pydantic_fields_set__", set(model.model_fields_set))
    return out


#: config keys that name a folder rather than a file
FOLDER_KEYS = ("ccb",)
#: config keys whose file is a vector layer (checked readable, with features and a CRS, at load time)
VECTOR_KEYS = ("areas.project", "areas.jurisdiction", "areas.leakage_belt", "areas.protected_areas",
               "baseline.roads", "baseline.rivers", "baseline.settlements", "baseline.planned_roads")


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
    """Validate a parsed TOML dict (see :func:`load_project`): types, keys, files and vector layers.

    Raises the first problem of :func:`validate_project` (unknown keys first), naming how many more
    there are; ``reddplus check`` lists them all.
    """
    cfg, problems = validate_project(raw, base_dir=base_dir, source=source)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems: reddplus check lists them)" if len(problems) > 1 else ""
        raise ConfigError(f"{first.message}{more}", key=first.key, path=source) from first.cause
    return cfg


@dataclass(frozen=True)
class ConfigProblem:
    """One problem of a project config: the dotted key, what is wrong, and the error behind it."""

    key: str | None
    message: str
    cause: BaseException | None = None

    def error(self, source: str | None = None) -> ConfigError:
        return ConfigError(self.message, key=self.key, path=source)


def _schema_problems(err: ValidationError) -> list[ConfigProblem]:
    """pydantic's errors in words, unknown keys first (a typo'd key also makes its intended key missing)."""
    out = []
    for e in sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden"):
        key = ".".join(str(p) for p in e["loc"]) or None
        msg = validation_message(e)
        named = re.match(r"([a-z_]+(?:\.[a-z_0-9]+)+) ", msg) if key is None else None
        if named:       # a check across keys names the key it is about first
            key = named.group(1)
        if e["type"] in ("int_type", "bool_type", "float_type") and isinstance(e.get("input"), str):
            msg += f", got the string {e['input']!r} (remove the quotes)"
        out.append(ConfigProblem(key, msg, err))
    return out


def validate_project(raw: dict, *, base_dir: Path, source: str | None = None
                     ) -> tuple[ProjectConfig | None, list[ConfigProblem]]:
    """Every problem of a parsed project TOML found without computing: the schema (all of pydantic's
    errors), then each input file (exists, not empty, a file or a folder as its key needs) and each vector
    layer (readable, with features and a CRS; ``areas.admin_field`` among its fields).

    Returns the config with paths resolved against ``base_dir`` (None when the schema fails) and the
    problems (empty when it loads).
    """
    try:
        cfg = ProjectConfig.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as err:
        return None, _schema_problems(err)
    resolved = _with_resolved_paths(cfg, base_dir)
    problems: list[ConfigProblem] = []
    present = {}
    for key, p in resolved.input_files().items():
        if not p.exists():
            problems.append(ConfigProblem(key, f"file not found: {p}"))
        elif key in FOLDER_KEYS:
            if not p.is_dir():
                problems.append(ConfigProblem(key, f"{p} is not a folder"))
        elif p.is_dir():
            problems.append(ConfigProblem(key, f"{p} is a folder, not a file"))
        elif p.stat().st_size == 0:
            problems.append(ConfigProblem(key, f"{p} is empty (0 bytes)"))
        else:
            present[key] = p
    vectors = set()     # the alternatives' distance drivers and planned roads are vector layers too
    for name, alt in resolved.baseline.alternatives.items():
        vectors |= {f"baseline.alternatives.{name}.drivers.{d}.path" for d, spec in alt.drivers.items()
                    if getattr(spec, "kind", None) == "distance"}
        vectors |= {f"baseline.alternatives.{name}.planned_roads[{i}].path" for i in range(len(alt.planned_roads))}
    for key, p in present.items():
        if key.split("[")[0] in VECTOR_KEYS or key in vectors:
            fields, problem = _vector_problem(p)
            if problem:
                problems.append(ConfigProblem(key, problem))
                continue
            if key == "areas.jurisdiction" and resolved.areas.admin_field is not None \
                    and resolved.areas.admin_field not in fields:
                problems.append(ConfigProblem("areas.admin_field", f"field {resolved.areas.admin_field!r} not in {p}; "
                                              f"its fields are {fields}"))
    return resolved, problems


def _vector_problem(path: Path) -> tuple[list[str], str | None]:
    """A vector input must be readable, with at least one feature and a CRS: its field names and the problem
    (None when it has none)."""
    import pyogrio

    try:
        info = pyogrio.read_info(path)
    except Exception as err:  # pyogrio.errors.DataSourceError / DataLayerError
        return [], f"cannot read {path} as a vector layer: {err}"
    if not info.get("features"):
        return [], f"{path} has no features (an empty layer)"
    if info.get("crs") is None:
        return [], f"{path} has no CRS"
    return [str(f) for f in info.get("fields", [])], None


def _with_resolved_paths(model: BaseModel, base: Path) -> Any:
    """Relative paths resolved against ``base`` (the TOML file's folder)."""
    return map_paths(model, lambda p: p if p.is_absolute() else (base / p).resolve())
