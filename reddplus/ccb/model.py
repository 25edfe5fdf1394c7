"""The CCB data model: one pydantic model per file of a ``ccb/`` folder (``extra="forbid"``, frozen).

A CCB folder holds the community, biodiversity and High Conservation Value (HCV) data a CCB v3.1
project description and monitoring report rest on. Its files (see :mod:`reddplus.ccb.io` for the
reader, which names the file, row, column or key of every problem):

==========================  ====================================================================
file                        content (CCB v3.1 criterion)
==========================  ====================================================================
``ccb.toml``                settings (:class:`CcbSettings`): periods, file names, gold levels
                            claimed, evidence per criterion
``project_zone.gpkg``       project zone = the project area and the community areas (G1)
``communities.csv``         community groups (:class:`CommunityGroup`; G1, CM1): women as a group
                            where their values differ, indigenous peoples
``stakeholders.csv``        offsite stakeholders (:class:`Stakeholder`; CM3)
``engagement.csv``          engagement / FPIC log (:class:`Engagement`; G3)
``grievances.csv``          grievances: received, response, closed (:class:`Grievance`; G3)
``tenure.csv``              statutory and customary rights, disputes (:class:`TenureRight`; G5)
``hcv.csv`` + ``hcv.gpkg``  HCV register and geometries (:class:`HcvArea`; B1, CM1)
``hcv_status.csv``          HCV status per monitoring period (:class:`HcvStatus`; B2, CM2)
``theory_of_change.csv``    activities -> outputs -> outcomes -> impacts (:class:`ChangeNode`; G1)
``indicators.csv``          the monitoring plan (:class:`Indicator`; CM4, B4)
``indicator_values.csv``    without- and with-project values (:class:`IndicatorValue`)
==========================  ====================================================================

"Not measured" is not zero: an empty value, ``NA`` or ``not measured`` in ``indicator_values.csv``
is kept as missing (``None``) and flagged, never coerced to 0.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from reddplus.ccb.criteria import parse_criterion

__all__ = ["AccessSettings", "CcbPeriods", "CcbSettings", "ChangeNode", "CommunityGroup", "Engagement", "Grievance",
           "HCV_TYPES", "HcvArea", "HcvStatus", "Indicator", "IndicatorValue", "LandscapeSettings", "MISSING_VALUES",
           "RoadsAt", "Stakeholder", "TenureRight", "WaterSettings", "frequency_years", "parse_period"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


#: HCV types -> (HCV number of the HCV Resource Network common guidance, CCB section that identifies it)
HCV_TYPES: dict[str, tuple[int, str]] = {
    "biodiversity_concentrations": (1, "B1.2"),
    "threatened_species": (1, "B1.2"),
    "endemic_species": (1, "B1.2"),
    "landscape_level": (2, "B1.2"),
    "threatened_ecosystems": (3, "B1.2"),
    "ecosystem_services": (4, "CM1.2"),
    "community_livelihood": (5, "CM1.2"),
    "cultural": (6, "CM1.2"),
}
#: cell texts read as "not measured" (kept as missing, never 0)
MISSING_VALUES = ("", "na", "n/a", "nan", "not measured", "not_measured", "-")
_PERIOD = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")


def parse_period(text: str) -> tuple[int, int]:
    """``"2021-2024"`` -> ``(2021, 2024)`` (inclusive calendar years); ``ValueError`` otherwise."""
    m = _PERIOD.match(str(text))
    if not m:
        raise ValueError(f"period {text!r} is not START-END years (e.g. 2021-2024)")
    a, b = int(m.group(1)), int(m.group(2))
    if a > b:
        raise ValueError(f"period {text!r} starts after it ends")
    return a, b


def frequency_years(text: str) -> int | None:
    """Monitoring frequency -> years between measurements; ``None`` = once per monitoring period.

    Accepted: ``annual``, ``biennial``, ``every N years``, ``per monitoring period``.
    """
    t = str(text).strip().lower().replace("_", " ")
    if t in ("annual", "annually", "yearly", "every year"):
        return 1
    if t in ("biennial", "every 2 years"):
        return 2
    m = re.match(r"^every (\d+) years$", t)
    if m and int(m.group(1)) >= 1:
        return int(m.group(1))
    if t in ("per monitoring period", "per period", "each monitoring period"):
        return None
    raise ValueError(f"frequency {text!r}: use annual, biennial, 'every N years' or 'per monitoring period'")


def _valid_period(v: str) -> str:
    parse_period(v)
    return v


def _split(v) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(x.strip() for x in v.split(";") if x.strip())
    return tuple(v)


#: a ``START-END`` period cell (inclusive years)
PeriodText = Annotated[str, AfterValidator(_valid_period)]
#: a ``;``-separated list cell
IdList = Annotated[tuple[str, ...], BeforeValidator(_split)]


# ------------------------------------------------------------------------------------------ ccb.toml
class CcbPeriods(_Model):
    crediting: tuple[int, int] = Field(..., description="first and last year of the crediting period (inclusive)")
    monitoring: list[tuple[int, int]] = Field(default_factory=list, description="monitoring periods [start, end] "
                                              "(inclusive years)")

    @model_validator(mode="after")
    def _inside(self):
        c0, c1 = self.crediting
        if c0 > c1:
            raise ValueError(f"crediting period {c0}-{c1} starts after it ends")
        for i, (a, b) in enumerate(self.monitoring):
            if a > b:
                raise ValueError(f"monitoring[{i}]: {a}-{b} starts after it ends")
            if a < c0 or b > c1:
                raise ValueError(f"monitoring[{i}]: {a}-{b} lies outside the crediting period {c0}-{c1}")
        ordered = sorted(self.monitoring)
        for (a0, b0), (a1, b1) in zip(ordered, ordered[1:]):
            if a1 <= b0:
                raise ValueError(f"monitoring periods {a0}-{b0} and {a1}-{b1} overlap")
        return self


class LandscapeSettings(_Model):
    core_edge_depth_m: float = Field(..., gt=0, description="edge depth of the core-area metric [m]: forest pixels "
                                     "closer than this to a non-forest pixel are edge (FRAGSTATS CORE; edge effects "
                                     "reach 100-300 m in Amazonian forest, Laurance et al. 2002)")


class WaterSettings(_Model):
    intakes: Path | None = Field(None, description="points of water intakes or villages (attribute intake_id)")
    catchments: Path | None = Field(None, description="catchment polygons (attribute intake_id); else delineated "
                                    "from the DEM")
    dem: Path | None = Field(None, description="DEM [m] for catchment delineation (projected metre CRS)")
    snap_upstream_km2: float = Field(1.0, ge=0, description="intakes are snapped to the nearest cell draining at "
                                     "least this area [km2] (a stream), within snap_distance_m")
    snap_distance_m: float = Field(1000.0, ge=0)
    rivers: Path | None = Field(None, description="river lines for the riparian buffers")
    riparian_buffer_m: float | None = Field(None, gt=0, description="riparian buffer half-width [m]")

    @model_validator(mode="after")
    def _sources(self):
        if self.intakes is not None and self.catchments is None and self.dem is None:
            raise ValueError("water.intakes needs water.catchments (polygons) or water.dem (to delineate them)")
        if self.rivers is not None and self.riparian_buffer_m is None:
            raise ValueError("water.rivers needs water.riparian_buffer_m")
        return self


class RoadsAt(_Model):
    path: Path
    date: int = Field(..., ge=1900, le=2200, description="year of the roads layer [yr]")


class AccessSettings(_Model):
    reserve: Path | None = Field(None, description="territorial reserve of indigenous peoples in isolation (polygon)")
    buffer_m: float | None = Field(None, gt=0, description="width of the monitored buffer outside the reserve [m]")
    roads: list[RoadsAt] = Field(default_factory=list, description="roads and access layers, one per date")

    @model_validator(mode="after")
    def _buffer(self):
        if self.reserve is not None and self.buffer_m is None:
            raise ValueError("isolated_peoples.reserve needs isolated_peoples.buffer_m")
        dates = [r.date for r in self.roads]
        if dates != sorted(set(dates)):
            raise ValueError("isolated_peoples.roads dates must be strictly increasing")
        return self


class CcbSettings(_Model):
    """``ccb.toml``: everything that is not a table."""

    standard: Literal["CCB v3.1"] = "CCB v3.1"
    project_name: str
    climate_via_vcs: bool = Field(True, description="CL1-CL4 are met through the VCS baseline and monitoring "
                                  "(CCB Program Rules v3.1: recognised GHG programme)")
    gold_levels_claimed: list[Literal["GL1", "GL2", "GL3"]] = Field(default_factory=list)
    as_of: int = Field(..., ge=1990, le=2200, description="reporting year: indicators are overdue against it [yr]")
    generated: bool = Field(False, description="the folder is a GENERATED sample, not real project data")
    periods: CcbPeriods
    zone: Path = Field(Path("project_zone.gpkg"), description="project zone: features with kind = project_area | "
                       "community_area")
    hcv_geometry: Path = Field(Path("hcv.gpkg"), description="HCV polygons with attribute hcv_id")
    landscape: LandscapeSettings
    water: WaterSettings = WaterSettings()
    isolated_peoples: AccessSettings = AccessSettings()
    evidence: dict[str, list[str]] = Field(default_factory=dict, description="per criterion (G1 ... GL3): where its "
                                           "evidence is (documents, sections, files)")

    @field_validator("evidence")
    @classmethod
    def _evidence_codes(cls, v):
        return {parse_criterion(k): list(x) for k, x in v.items()}


# ------------------------------------------------------------------------------------------ tables
class CommunityGroup(_Model):
    group_id: str = Field(..., min_length=1)
    name: str = Field(..., min_length=1)
    kind: Literal["community", "women", "indigenous", "isolated_indigenous", "other"]
    population: int | None = Field(None, ge=0)
    households: int | None = Field(None, ge=0)
    part_of: str | None = Field(None, description="women: the community whose women they are")
    values_differ: bool | None = Field(None, description="women: do they derive different income, livelihood or "
                                       "cultural values from the project area (CCB v3.1 G1: then a separate group)")
    description: str = ""

    @model_validator(mode="after")
    def _women(self):
        if self.kind == "women" and not self.part_of:
            raise ValueError("a women's group needs part_of (the community it belongs to)")
        return self


class Stakeholder(_Model):
    stakeholder_id: str = Field(..., min_length=1)
    name: str = Field(..., min_length=1)
    kind: str = Field(..., min_length=1)
    location: str = ""
    interest: str = ""


class Engagement(_Model):
    date: dt.date
    group_id: str = Field(..., min_length=1, description="a community group or an offsite stakeholder id")
    topic: str = Field(..., min_length=1)
    outcome: str = Field(..., min_length=1)
    evidence: str = Field(..., min_length=1, description="minutes, attendance list, recording (file or reference)")
    fpic: bool = Field(False, description="a free, prior and informed consent step")


class Grievance(_Model):
    grievance_id: str = Field(..., min_length=1)
    group_id: str = Field(..., min_length=1)
    received: dt.date
    description: str = Field(..., min_length=1)
    response: dt.date | None = None
    closed: dt.date | None = None
    resolution: str = ""

    @model_validator(mode="after")
    def _order(self):
        if self.response is not None and self.response < self.received:
            raise ValueError("response is before received")
        if self.closed is not None and self.closed < self.received:
            raise ValueError("closed is before received")
        return self


class TenureRight(_Model):
    right_id: str = Field(..., min_length=1)
    holder: str = Field(..., min_length=1, description="community group id, the state, the proponent...")
    kind: Literal["statutory", "customary"]
    right: str = Field(..., min_length=1, description="e.g. conservation concession, Brazil-nut harvesting, fishing")
    area: str = ""
    evidence: str = ""
    dispute: str = ""
    dispute_status: Literal["none", "unresolved", "in_mediation", "resolved"] = "none"

    @model_validator(mode="after")
    def _dispute(self):
        if self.dispute and self.dispute_status == "none":
            raise ValueError("a dispute needs dispute_status (unresolved, in_mediation or resolved)")
        return self


class HcvArea(_Model):
    hcv_id: str = Field(..., min_length=1)
    type: Literal[tuple(HCV_TYPES)]  # type: ignore[valid-type]
    name: str = Field(..., min_length=1)
    evidence: str = Field(..., min_length=1)
    threats: str = Field(..., min_length=1)
    species: str = Field("", description="threatened / endemic species: scientific name")
    iucn_category: Literal["", "CR", "EN", "VU", "NT", "LC", "DD"] = ""
    restricted_range: bool | None = Field(None, description="endemic species with a restricted range "
                                          "(irreplaceability, GL3)")

    @property
    def hcv_number(self) -> int:
        return HCV_TYPES[self.type][0]

    @property
    def section(self) -> str:
        return HCV_TYPES[self.type][1]


class HcvStatus(_Model):
    hcv_id: str = Field(..., min_length=1)
    period: PeriodText
    status: Literal["maintained", "enhanced", "degraded", "not_assessed"]
    evidence: str = ""


class ChangeNode(_Model):
    node_id: str = Field(..., min_length=1)
    level: Literal["activity", "output", "outcome", "impact"]
    description: str = Field(..., min_length=1)
    leads_to: IdList = Field((), description="node ids of the next level (';'-separated in the CSV)")
    indicators: IdList = Field((), description="indicator ids (';'-separated in the CSV)")


#: what a computed indicator may name: metric at zone (see :mod:`reddplus.ccb.indicators`)
COMPUTED = re.compile(r"^computed:(?P<metric>[a-z_0-9]+)@(?P<zone>[A-Za-z0-9_:\-]+)$")


class Indicator(_Model):
    indicator_id: str = Field(..., min_length=1)
    criterion: str
    name: str = Field(..., min_length=1)
    unit: str = Field(..., min_length=1, description="unit of the values ('count', 'ha', '%', 'persons'...)")
    method: str = Field(..., min_length=1)
    frequency: str
    responsible: str = Field(..., min_length=1)
    source: str = Field("reported", description="'reported' (values in indicator_values.csv) or "
                        "'computed:METRIC@ZONE' (from the maps)")
    disaggregation: IdList = Field((), description="community group ids the values are split by "
                                   "(';'-separated in the CSV)")

    @field_validator("criterion")
    @classmethod
    def _criterion(cls, v):
        return parse_criterion(v)

    @field_validator("frequency")
    @classmethod
    def _frequency(cls, v):
        frequency_years(v)
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v):
        if v != "reported" and not COMPUTED.match(v):
            raise ValueError(f"source {v!r}: use 'reported' or 'computed:METRIC@ZONE'")
        return v

    @property
    def computed(self) -> tuple[str, str] | None:
        """``(metric, zone)`` of a computed indicator, else ``None``."""
        m = COMPUTED.match(self.source)
        return (m.group("metric"), m.group("zone")) if m else None

    @property
    def frequency_years(self) -> int | None:
        return frequency_years(self.frequency)


class IndicatorValue(_Model):
    indicator_id: str = Field(..., min_length=1)
    period: PeriodText
    scenario: Literal["without_project", "with_project"]
    group: str = Field("", description="community group id of a disaggregated value; empty = all")
    value: float | None = Field(None, description="None = not measured (never 0)")
    note: str = ""

    @field_validator("value", mode="before")
    @classmethod
    def _missing(cls, v):
        if v is None or (isinstance(v, str) and v.strip().lower() in MISSING_VALUES):
            return None
        if isinstance(v, float) and v != v:
            return None
        return v
