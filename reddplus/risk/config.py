"""The alternative risk models' definitions as a project config holds them (pydantic, no heavy imports).

``[baseline.alternatives.NAME]`` tables (:class:`AlternativeModel`) with their drivers
(:data:`DriverSpec`) and planned roads (:class:`PlannedRoad`), and the ``[baseline] risk_model``
choice (``"benchmark"`` or ``"alternative:NAME"``, :func:`resolve_risk_model`). The tools that
build the drivers and fit the models are :mod:`reddplus.risk.drivers` and :mod:`reddplus.risk.models`;
this module only validates, so loading a project stays fast.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal, Mapping, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

from reddplus.errors import ConfigError

CONFIG_TABLE = "baseline.alternatives"


# --------------------------------------------------------------------------- drivers
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ForestEdgeDriver(_Spec):
    """Distance [m] to the forest edge (nearest non-forest pixel) at the date of the map (VT0007 step 1)."""

    kind: Literal["forest_edge"]


class DistanceDriver(_Spec):
    """Distance [m] to the features of a vector layer (lines, points or polygons).

    With ``opening_year_field`` a feature counts from its opening year on (a road paved in 2011 is
    absent from the 2010 map); without it every feature counts at every date.
    """

    kind: Literal["distance"]
    path: Path
    layer: str | None = None
    opening_year_field: str | None = Field(None, description="attribute holding each feature's opening year")


class RasterDriver(_Spec):
    """A continuous driver raster on the forest-change grid, used as it is (e.g. elevation [m])."""

    kind: Literal["raster"]
    path: Path


class SlopeDriver(_Spec):
    """Slope [deg] computed by blocks from an elevation raster [m] on the forest-change grid."""

    kind: Literal["slope"]
    elevation: Path


DriverSpec = Annotated[Union[ForestEdgeDriver, DistanceDriver, RasterDriver, SlopeDriver],
                       Field(discriminator="kind")]


class PlannedRoad(_Spec):
    """A planned road (or any planned feature) that joins a distance driver from its opening year.

    ``opening_year`` applies to every feature of the layer; without it each feature's year is read
    from ``opening_year_field``.
    """

    path: Path = Field(..., description='planned road lines, a vector file in any CRS')
    opening_year: StrictInt | None = Field(
        None, description=("year the road opens [yr], for every line of the layer; none = each line's "
                           'opening_year_field'))
    opening_year_field: str = Field(
        "opening_year", description="attribute giving each line's opening year [yr] when opening_year is not set")
    driver: str = Field("distance_to_road", description="the distance driver the planned features join")


# --------------------------------------------------------------------------- the alternative model
class AlternativeModel(BaseModel):
    """An alternative VT0007 risk model as a project config holds it (``[baseline.alternatives.NAME]``).

    The same definition is fitted on the calibration period and assessed against the benchmark, and
    refitted on the HRP for the validity period (VT0007 v1.0 sections 5.4-5.5 [1]): same drivers, same
    form, same sample size and seed.

    Example (TOML)::

        [baseline.alternatives.roads]
        model = "logistic"
        sample_size = 20000
        drivers.distance_to_edge = { kind = "forest_edge" }
        drivers.distance_to_road = { kind = "distance", path = "roads.gpkg" }
        drivers.distance_to_river = { kind = "distance", path = "rivers.gpkg" }
        drivers.elevation = { kind = "raster", path = "elevation.tif" }
        drivers.slope = { kind = "slope", elevation = "elevation.tif" }
        planned_roads = [{ path = "planned_roads.gpkg", opening_year = 2023 }]
        use_planned_roads_in_baseline = false
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, description="the NAME of [baseline.alternatives.NAME] (filled from the key)")
    model: Literal["logistic", "random_forest"] = Field(
        ..., description='the model type: logistic (statsmodels Logit) or random_forest (scikit-learn)')
    drivers: dict[str, DriverSpec] = Field(..., min_length=1,
                                           description="driver name -> forest_edge | distance | raster | slope")
    planned_roads: list[PlannedRoad] = Field(default_factory=list,
                                             description="features joining a distance driver from their opening "
                                             "year; their effect is fitted on the roads open in the data periods")
    use_planned_roads_in_baseline: StrictBool = Field(False, description="a road opening after the confirmation period "
                                                "enters the validity-period prediction only when true")
    sample_size: StrictInt = Field(20_000, gt=0, description="training pixels per fit (stratified by outcome, seeded)")
    seed: StrictInt | None = Field(None, description="sampling and model seed (default: the project seed)")
    max_distance_m: StrictFloat = Field(10_000.0, gt=0, description="cap of every distance driver [m] (the block halo)")
    modelling_regions: Literal["admin_divisions", "jurisdiction"] = Field(
        "admin_divisions", description="VT0007 step 4 regions of the fitted density: class x admin division "
        "(as the benchmark) or class alone over the jurisdiction")

    @model_validator(mode="after")
    def _planned_roads_join_distance_drivers(self):
        for i, pr in enumerate(self.planned_roads):
            if not isinstance(self.drivers.get(pr.driver), DistanceDriver):
                dist = sorted(k for k, d in self.drivers.items() if isinstance(d, DistanceDriver))
                raise ValueError(f"planned_roads[{i}].driver {pr.driver!r} is not a distance driver of this model "
                                 f"(distance drivers: {dist})")
        return self

    def key(self, field_name: str) -> str:
        """Dotted config key of one of this model's fields, for error messages."""
        return f"{CONFIG_TABLE}.{self.name}.{field_name}" if self.name else field_name

    @property
    def choice(self) -> str:
        """The ``[baseline] risk_model`` value that selects this model."""
        return f"alternative:{self.name}"

    def resolved(self, base_dir: str | os.PathLike) -> "AlternativeModel":
        """A copy whose relative paths are resolved against ``base_dir`` (the TOML file's folder)."""
        base = Path(base_dir)

        def fix(m: BaseModel) -> BaseModel:
            upd = {k: (base / p).resolve() for k, p in m if isinstance(p, Path) and not p.is_absolute()}
            return m.model_copy(update=upd)

        return self.model_copy(update={"drivers": {k: fix(d) for k, d in self.drivers.items()},
                                       "planned_roads": [fix(p) for p in self.planned_roads]})

    def input_files(self) -> dict[str, Path]:
        """Every input file of this model by its dotted config key (for the manifest and existence checks)."""
        out = {}
        for k, d in self.drivers.items():
            for f, p in d:
                if isinstance(p, Path):
                    out[self.key(f"drivers.{k}.{f}")] = p
        for i, pr in enumerate(self.planned_roads):
            out[self.key(f"planned_roads[{i}].path")] = pr.path
        return out


def _name_alternatives(table: dict[str, AlternativeModel]) -> dict[str, AlternativeModel]:
    out = {}
    for key, alt in table.items():
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", key):
            raise ValueError(f"alternative name {key!r}: use letters, digits, '_' or '-'")
        if alt.name is not None and alt.name != key:
            raise ValueError(f"alternative {key!r} has name = {alt.name!r}; leave it out or make it {key!r}")
        out[key] = alt.model_copy(update={"name": key})
    return out


#: the ``[baseline.alternatives]`` table: each model gets its NAME from its key
AlternativesTable = Annotated[dict[str, AlternativeModel], AfterValidator(_name_alternatives)]

_CHOICE = re.compile(r"benchmark|alternative:([A-Za-z0-9_\-]+)")


def parse_risk_model(value: str, *, key: str = "baseline.risk_model") -> str | None:
    """``"benchmark"`` -> None; ``"alternative:NAME"`` -> ``NAME``; anything else: a ConfigError naming the key."""
    m = _CHOICE.fullmatch(str(value))
    if not m:
        raise ConfigError(f"{value!r} is not 'benchmark' or 'alternative:NAME'", key=key)
    return m.group(1)


def resolve_risk_model(value: str, alternatives: Mapping[str, AlternativeModel], *,
                       key: str = "baseline.risk_model") -> AlternativeModel | None:
    """The alternative named by ``[baseline] risk_model`` (None for the benchmark).

    Raises
    ------
    ConfigError
        Bad syntax, or an alternative that is named but not defined in ``[baseline.alternatives]``.
    """
    name = parse_risk_model(value, key=key)
    if name is None:
        return None
    if name not in alternatives:
        raise ConfigError(f"alternative {name!r} is named but not defined in [{CONFIG_TABLE}] "
                          f"(defined: {sorted(alternatives) or 'none'})", key=key)
    alt = alternatives[name]
    return alt if alt.name == name else alt.model_copy(update={"name": name})


