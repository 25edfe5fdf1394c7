"""Read and validate a ``ccb/`` folder: every problem at once, each naming its file, row, column or key.

:func:`validate_ccb` returns a :class:`CcbValidation` (the outcome of ``reddplus ccb validate``);
:func:`read_ccb` returns a :class:`CcbDataset` or raises :class:`CcbValidationError` carrying all
problems. Relative paths in ``ccb.toml`` are resolved against the folder. Rows are numbered as a
user sees them in a spreadsheet: 1 = the first data row under the header.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from reddplus.ccb.model import (CcbSettings, ChangeNode, CommunityGroup, Engagement, Grievance, HcvArea,
                                HcvStatus, Indicator, IndicatorValue, Stakeholder, TenureRight, parse_period)
from reddplus.errors import InputDataError, validation_message

if TYPE_CHECKING:

    from reddplus.project import ProjectConfig

log = logging.getLogger(__name__)

__all__ = ["CcbDataset", "CcbValidation", "CcbValidationError", "Problem", "TABLES", "ZONE_METRICS", "ROAD_METRICS",
           "read_ccb", "validate_ccb"]

#: table file -> (row model, required?)
TABLES: dict[str, tuple[type[BaseModel], bool]] = {
    "communities.csv": (CommunityGroup, True),
    "stakeholders.csv": (Stakeholder, False),
    "engagement.csv": (Engagement, False),
    "grievances.csv": (Grievance, False),
    "tenure.csv": (TenureRight, False),
    "hcv.csv": (HcvArea, False),
    "hcv_status.csv": (HcvStatus, False),
    "theory_of_change.csv": (ChangeNode, False),
    "indicators.csv": (Indicator, True),
    "indicator_values.csv": (IndicatorValue, False),
}
#: landscape metrics computed for any zone (see :mod:`reddplus.ccb.landscape`)
ZONE_METRICS = ("forest_area_ha", "forest_cover_percent", "core_area_ha", "number_of_patches",
                "edge_density_m_per_ha", "mean_patch_area_ha", "effective_mesh_size_ha", "forest_loss_ha")
#: access metrics (zone: the project area)
ROAD_METRICS = ("road_km", "road_entries")
#: share of an HCV polygon's area allowed outside the project zone (digitising tolerance)
HCV_OUTSIDE_TOLERANCE = 0.01


@dataclass(frozen=True)
class Problem:
    """One problem of a CCB folder, located as precisely as known."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.key:
            where.append(f"key {self.key}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{': '.join([', '.join(where), self.message])}"

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "key": self.key, "message": self.message}


@dataclass(frozen=True)
class CcbValidation:
    """The outcome of ``reddplus ccb validate``: every problem found (none = valid)."""

    folder: Path
    problems: tuple[Problem, ...]
    files_read: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "valid": self.ok, "n_problems": len(self.problems),
                "problems": [p.to_dict() for p in self.problems], "files_read": list(self.files_read)}


class CcbValidationError(InputDataError):
    """A CCB folder has problems; ``problems`` lists all of them."""

    def __init__(self, validation: CcbValidation):
        self.validation = validation
        self.problems = validation.problems
        head = "; ".join(str(p) for p in validation.problems[:5])
        more = f" (and {len(validation.problems) - 5} more)" if len(validation.problems) > 5 else ""
        super().__init__(f"{len(validation.problems)} problem(s) in the CCB folder: {head}{more}",
                         path=str(validation.folder))


@dataclass(frozen=True, eq=False)
class CcbDataset:
    """A validated CCB folder: settings, tables (tuples of row models) and the zone geometries."""

    folder: Path
    settings: CcbSettings
    groups: tuple[CommunityGroup, ...]
    stakeholders: tuple[Stakeholder, ...]
    engagement: tuple[Engagement, ...]
    grievances: tuple[Grievance, ...]
    tenure: tuple[TenureRight, ...]
    hcvs: tuple[HcvArea, ...]
    hcv_status: tuple[HcvStatus, ...]
    theory_of_change: tuple[ChangeNode, ...]
    indicators: tuple[Indicator, ...]
    values: tuple[IndicatorValue, ...]
    zone: Any = field(repr=False)            # GeoDataFrame: kind, name, group_id
    hcv_geometry: Any = field(repr=False)    # GeoDataFrame: hcv_id
    validation: CcbValidation = field(repr=False, default=None)

    def path(self, p: Path | None) -> Path | None:
        """A path of ``ccb.toml`` resolved against the folder."""
        if p is None:
            return None
        return p if p.is_absolute() else (self.folder / p).resolve()

    @property
    def monitoring_periods(self) -> tuple[tuple[int, int], ...]:
        return tuple(tuple(p) for p in self.settings.periods.monitoring)

    def indicator(self, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.indicator_id == indicator_id:
                return i
        raise KeyError(indicator_id)


# ------------------------------------------------------------------------------------------ readers
def _pydantic_problems(err: ValidationError, file: str, row: int | None = None, key_prefix: str = "") -> list[Problem]:
    out = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"]]
        msg = validation_message(e)
        if row is None:
            out.append(Problem(file, msg, key=key_prefix + ".".join(loc) if loc else None))
        else:
            out.append(Problem(file, ("unknown column" if e["type"] == "extra_forbidden" else msg), row=row,
                               column=loc[0] if loc else None))
    return out


def _read_table(path: Path, model: type[BaseModel], problems: list[Problem], invalid: list | None = None) -> list:
    import pandas as pd

    import io

    name = path.name
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        while lines and lines[0].lstrip().startswith("#"):  # leading comment lines (e.g. a GENERATED banner)
            lines.pop(0)
        df = pd.read_csv(io.StringIO("".join(lines)), dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as err:  # pandas.errors.ParserError, UnicodeDecodeError, EmptyDataError
        problems.append(Problem(name, f"cannot read the CSV: {err}"))
        return []
    df.columns = [str(c).strip() for c in df.columns]
    fields = model.model_fields
    required = [n for n, f in fields.items() if f.is_required()]
    missing = [c for c in required if c not in df.columns]
    unknown = [c for c in df.columns if c not in fields]
    for c in missing:
        problems.append(Problem(name, "required column is missing", column=c))
    for c in unknown:
        problems.append(Problem(name, f"unknown column (expected {', '.join(fields)})", column=c))
    if missing or unknown:
        return []
    rows = []
    for i, rec in enumerate(df.to_dict(orient="records"), start=1):
        data = {k: v for k, v in rec.items() if not (isinstance(v, str) and v.strip() == "")
                or (model is IndicatorValue and k == "value")}
        try:
            rows.append((i, model.model_validate(data)))
        except ValidationError as err:
            problems.extend(_pydantic_problems(err, name, row=i))
            if invalid is not None:
                invalid.append(rec)
    return rows


def _read_settings(folder: Path, problems: list[Problem]) -> CcbSettings | None:
    path = folder / "ccb.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem("ccb.toml", "file not found (every CCB folder has a ccb.toml)"))
        return None
    except tomllib.TOMLDecodeError as err:
        problems.append(Problem("ccb.toml", f"invalid TOML: {err}"))
        return None
    try:
        return CcbSettings.model_validate(raw)
    except ValidationError as err:
        problems.extend(_pydantic_problems(err, "ccb.toml"))
        return None


def _read_layer(path: Path, key: str, problems: list[Problem]):
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as err:  # pyogrio DataSourceError
        problems.append(Problem(path.name, f"cannot read the layer: {err}", key=key))
        return None
    if gdf.crs is None:
        problems.append(Problem(path.name, "layer has no CRS", key=key))
        return None
    if gdf.crs.is_geographic:
        problems.append(Problem(path.name, f"layer is in a geographic CRS ({gdf.crs.name}); use a projected CRS in "
                                "metres", key=key))
        return None
    return gdf


def validate_ccb(folder: str | os.PathLike, *, project: ProjectConfig | None = None) -> CcbValidation:
    """Check a CCB folder and return every problem found (see :func:`read_ccb`)."""
    return _load(Path(folder), project)[1]


def read_ccb(folder: str | os.PathLike, *, project: ProjectConfig | None = None) -> CcbDataset:
    """Read and validate a CCB folder (see :mod:`reddplus.ccb.model` for its files).

    Parameters
    ----------
    folder : path
        The ``ccb/`` folder (holds ``ccb.toml``).
    project : ProjectConfig, optional
        When given, its crediting and monitoring periods must agree with ``ccb.toml``'s.

    Raises
    ------
    CcbValidationError
        Carrying every problem (file, row, column or key of each).
    """
    ds, val = _load(Path(folder), project)
    if not val.ok:
        raise CcbValidationError(val)
    return ds


def _load(folder: Path, project) -> tuple[CcbDataset | None, CcbValidation]:
    folder = folder.resolve()
    problems: list[Problem] = []
    read: list[str] = []
    if not folder.is_dir():
        problems.append(Problem(str(folder), "CCB folder not found"))
        return None, CcbValidation(folder, tuple(problems))
    settings = _read_settings(folder, problems)
    read.append("ccb.toml")
    tables: dict[str, list] = {}
    invalid: dict[str, list] = {}
    for name, (model, required) in TABLES.items():
        p = folder / name
        if not p.exists():
            if required:
                problems.append(Problem(name, "required file is missing"))
            tables[name] = []
            continue
        invalid[name] = []
        tables[name] = _read_table(p, model, problems, invalid[name])
        read.append(name)
    zone = hcv_gdf = None
    if settings is not None:
        zone, hcv_gdf = _check_files(folder, settings, tables, problems, read)
        # ids of rows that failed validation are still known: no second problem for their references
        known = {"indicator_id": {str(r.get("indicator_id", "")) for r in invalid.get("indicators.csv", [])}}
        _cross_check(settings, tables, problems, folder, known)
        if project is not None:
            _check_project(settings, project, problems)
    val = CcbValidation(folder, tuple(problems), tuple(read))
    if settings is None:
        return None, val

    def rows(name):
        return tuple(r for _, r in tables[name])

    ds = CcbDataset(folder, settings, rows("communities.csv"), rows("stakeholders.csv"), rows("engagement.csv"),
                    rows("grievances.csv"), rows("tenure.csv"), rows("hcv.csv"), rows("hcv_status.csv"),
                    rows("theory_of_change.csv"), rows("indicators.csv"), rows("indicator_values.csv"), zone, hcv_gdf,
                    val)
    return ds, val


def _resolve(folder: Path, p: Path | None) -> Path | None:
    if p is None:
        return None
    return p if p.is_absolute() else (folder / p).resolve()


def _check_files(folder: Path, s: CcbSettings, tables, problems: list[Problem], read: list[str]):
    paths = {"zone": s.zone, "hcv_geometry": s.hcv_geometry, "water.intakes": s.water.intakes,
             "water.catchments": s.water.catchments, "water.dem": s.water.dem, "water.rivers": s.water.rivers,
             "isolated_peoples.reserve": s.isolated_peoples.reserve}
    for i, r in enumerate(s.isolated_peoples.roads):
        paths[f"isolated_peoples.roads.{i}.path"] = r.path
    ok = {}
    for key, p in paths.items():
        if p is None:
            continue
        rp = _resolve(folder, p)
        if key == "hcv_geometry" and not tables["hcv.csv"] and not rp.exists():
            continue
        if not rp.exists():
            problems.append(Problem("ccb.toml", f"file not found: {rp}", key=key))
        else:
            ok[key] = rp

    def layer(key):
        if key not in ok:
            return None
        read.append(ok[key].name)
        return _read_layer(ok[key], key, problems)

    zone = layer("zone")
    if zone is not None:
        name = ok["zone"].name
        for col in ("kind", "name"):
            if col not in zone.columns:
                problems.append(Problem(name, "required attribute is missing", column=col))
        if "kind" in zone.columns:
            for i, k in enumerate(zone["kind"], start=1):
                if k not in ("project_area", "community_area"):
                    problems.append(Problem(name, f"kind {k!r}: use project_area or community_area", row=i,
                                            column="kind"))
            if not (zone["kind"] == "project_area").any():
                problems.append(Problem(name, "no feature of kind project_area", column="kind"))
            groups = {r.group_id for _, r in tables["communities.csv"]}
            if "group_id" in zone.columns:
                for i, (k, g) in enumerate(zip(zone["kind"], zone["group_id"]), start=1):
                    if k == "community_area" and g and str(g) not in groups:
                        problems.append(Problem(name, f"group_id {g!r} is not in communities.csv", row=i,
                                                column="group_id"))

    hcv_gdf = layer("hcv_geometry")
    if hcv_gdf is not None:
        name = ok["hcv_geometry"].name
        if "hcv_id" not in hcv_gdf.columns:
            problems.append(Problem(name, "required attribute is missing", column="hcv_id"))
        else:
            ids = {r.hcv_id for _, r in tables["hcv.csv"]}
            geo_ids = [str(v) for v in hcv_gdf["hcv_id"]]
            for i, h in enumerate(geo_ids, start=1):
                if h not in ids:
                    problems.append(Problem(name, f"hcv_id {h!r} is not in hcv.csv", row=i, column="hcv_id"))
            for row, r in tables["hcv.csv"]:
                if r.hcv_id not in geo_ids:
                    problems.append(Problem("hcv.csv", f"HCV {r.hcv_id!r} has no geometry in {name}", row=row,
                                            column="hcv_id"))
            if zone is not None and "kind" in zone.columns:
                pz = zone.geometry.union_all()
                g = hcv_gdf.to_crs(zone.crs) if hcv_gdf.crs != zone.crs else hcv_gdf
                for i, (h, geom) in enumerate(zip(geo_ids, g.geometry), start=1):
                    if geom is None or geom.is_empty or geom.area <= 0:
                        problems.append(Problem(name, f"HCV {h!r} has an empty geometry", row=i, column="geometry"))
                        continue
                    outside = geom.difference(pz).area / geom.area
                    if outside > HCV_OUTSIDE_TOLERANCE:
                        problems.append(Problem(name, f"HCV {h!r} polygon lies {outside:.0%} outside the project zone "
                                                f"({ok['zone'].name}); HCVs are identified within the project zone "
                                                "(CCB v3.1 B1.2, CM1.2)", row=i, column="geometry"))
    for key in ("water.intakes", "water.catchments"):
        if key in ok:
            gdf = layer(key)
            if gdf is not None and "intake_id" not in gdf.columns:
                problems.append(Problem(ok[key].name, "required attribute is missing", column="intake_id", key=key))
    return zone, hcv_gdf


def _known_zones(s: CcbSettings, tables, folder: Path) -> set[str]:
    zones = {"project_zone", "project_area"} | {r.hcv_id for _, r in tables["hcv.csv"]}
    zones |= {f"community:{r.group_id}" for _, r in tables["communities.csv"]}
    if s.isolated_peoples.reserve is not None:
        zones.add("reserve_buffer")
    if s.water.rivers is not None:
        zones.add("riparian")
    src = s.water.catchments or s.water.intakes
    rp = _resolve(folder, src)
    if rp is not None and rp.exists():
        try:
            import geopandas as gpd

            zones |= {f"catchment:{v}" for v in gpd.read_file(rp)["intake_id"].astype(str)}
        except Exception:  # reported by _check_files
            pass
    return zones


def _cross_check(s: CcbSettings, tables, problems: list[Problem], folder: Path, known: dict | None = None) -> None:
    c0, c1 = s.periods.crediting
    monitoring = {f"{a}-{b}" for a, b in s.periods.monitoring}

    def unique(name, attr):
        seen: dict[str, int] = {}
        for row, r in tables[name]:
            v = getattr(r, attr)
            if v in seen:
                problems.append(Problem(name, f"duplicate {attr} {v!r} (first at row {seen[v]})", row=row, column=attr))
            seen.setdefault(v, row)
        return set(seen)

    groups = unique("communities.csv", "group_id")
    stakeholders = unique("stakeholders.csv", "stakeholder_id")
    hcvs = unique("hcv.csv", "hcv_id")
    indicators = unique("indicators.csv", "indicator_id")
    nodes = unique("theory_of_change.csv", "node_id")
    unique("grievances.csv", "grievance_id")
    unique("tenure.csv", "right_id")
    parties = groups | stakeholders

    for row, g in tables["communities.csv"]:
        if g.kind == "women" and g.part_of not in groups:
            problems.append(Problem("communities.csv", f"part_of {g.part_of!r} is not a community group", row=row,
                                    column="part_of"))
    for name in ("engagement.csv", "grievances.csv"):
        for row, e in tables[name]:
            if e.group_id not in parties:
                problems.append(Problem(name, f"group_id {e.group_id!r} is neither a community group nor an offsite "
                                        "stakeholder", row=row, column="group_id"))

    def period_problem(name, row, text):
        a, b = parse_period(text)
        if a < c0 or b > c1:
            problems.append(Problem(name, f"period {text} lies outside the crediting period {c0}-{c1}", row=row,
                                    column="period"))
        elif f"{a}-{b}" not in monitoring:
            problems.append(Problem(name, f"period {text} is not a monitoring period of ccb.toml "
                                    f"({', '.join(sorted(monitoring)) or 'none declared'})", row=row, column="period"))

    for row, h in tables["hcv_status.csv"]:
        if h.hcv_id not in hcvs:
            problems.append(Problem("hcv_status.csv", f"hcv_id {h.hcv_id!r} is not in hcv.csv", row=row,
                                    column="hcv_id"))
        period_problem("hcv_status.csv", row, h.period)

    zones = _known_zones(s, tables, folder)
    by_id = {r.indicator_id: r for _, r in tables["indicators.csv"]}
    for row, ind in tables["indicators.csv"]:
        for g in ind.disaggregation:
            if g not in groups:
                problems.append(Problem("indicators.csv", f"disaggregation group {g!r} is not a community group",
                                        row=row, column="disaggregation"))
        comp = ind.computed
        if comp is not None:
            metric, zone = comp
            if metric not in ZONE_METRICS + ROAD_METRICS:
                problems.append(Problem("indicators.csv", f"unknown computed metric {metric!r}; choose one of "
                                        f"{', '.join(ZONE_METRICS + ROAD_METRICS)}", row=row, column="source"))
            if metric in ROAD_METRICS and zone != "project_area":
                problems.append(Problem("indicators.csv", f"{metric} is computed for the project_area (the concession)",
                                        row=row, column="source"))
            elif zone not in zones:
                problems.append(Problem("indicators.csv", f"unknown zone {zone!r}; known: {', '.join(sorted(zones))}",
                                        row=row, column="source"))
            if metric in ROAD_METRICS and not s.isolated_peoples.roads:
                problems.append(Problem("indicators.csv", f"{metric} needs isolated_peoples.roads in ccb.toml",
                                        row=row, column="source"))
    seen_vals: dict[tuple, int] = {}
    for row, v in tables["indicator_values.csv"]:
        ind = by_id.get(v.indicator_id)
        if ind is None and v.indicator_id in (known or {}).get("indicator_id", ()):
            continue  # its indicators.csv row is invalid and already reported
        if ind is None:
            problems.append(Problem("indicator_values.csv", f"indicator {v.indicator_id!r} is not in indicators.csv",
                                    row=row, column="indicator_id"))
            continue
        period_problem("indicator_values.csv", row, v.period)
        if ind.computed is not None:
            problems.append(Problem("indicator_values.csv", f"indicator {v.indicator_id!r} is computed from the maps "
                                    f"({ind.source}); remove its rows", row=row, column="indicator_id"))
        if v.group and v.group not in ind.disaggregation:
            problems.append(Problem("indicator_values.csv", f"group {v.group!r} is not in the disaggregation of "
                                    f"{v.indicator_id} ({', '.join(ind.disaggregation) or 'none'})", row=row,
                                    column="group"))
        k = (v.indicator_id, parse_period(v.period), v.scenario, v.group)
        if k in seen_vals:
            problems.append(Problem("indicator_values.csv", f"duplicate value (first at row {seen_vals[k]})", row=row))
        seen_vals.setdefault(k, row)

    order = {"activity": 0, "output": 1, "outcome": 2, "impact": 3}
    levels = {r.node_id: r.level for _, r in tables["theory_of_change.csv"]}
    for row, n in tables["theory_of_change.csv"]:
        for t in n.leads_to:
            if t not in nodes:
                problems.append(Problem("theory_of_change.csv", f"leads_to {t!r} is not a node", row=row,
                                        column="leads_to"))
            elif order[levels[t]] <= order[n.level]:
                problems.append(Problem("theory_of_change.csv", f"{n.level} {n.node_id} leads to {levels[t]} {t}: "
                                        "links go activity -> output -> outcome -> impact", row=row,
                                        column="leads_to"))
        for i in n.indicators:
            if i not in indicators:
                problems.append(Problem("theory_of_change.csv", f"indicator {i!r} is not in indicators.csv", row=row,
                                        column="indicators"))


def _check_project(s: CcbSettings, cfg, problems: list[Problem]) -> None:
    c0 = cfg.project.crediting_start
    c1 = c0 + cfg.project.crediting_years - 1
    if tuple(s.periods.crediting) != (c0, c1):
        problems.append(Problem("ccb.toml", f"crediting period {s.periods.crediting[0]}-{s.periods.crediting[1]} "
                                f"differs from the project's {c0}-{c1} (project.crediting_start, crediting_years)",
                                key="periods.crediting"))
    proj = {tuple(p) for p in cfg.periods.monitoring}
    for i, p in enumerate(s.periods.monitoring):
        if tuple(p) not in proj:
            problems.append(Problem("ccb.toml", f"monitoring period {p[0]}-{p[1]} is not one of the project's "
                                    f"periods.monitoring", key=f"periods.monitoring.{i}"))
