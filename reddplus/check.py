"""``reddplus check``: every problem a run would meet in its inputs, found at once and before any computing.

:func:`check_project` reads a project TOML and reports, in one pass:

* the schema: every unknown key, missing key and wrong type (:func:`reddplus.project.validate_project`);
* the files: each exists, is not empty, is a file (or the folder its key needs); vector layers are
  readable, hold features and a CRS;
* the forest change: it opens under its format, in a projected CRS in metres;
* the periods against the data's dates: the HRP, calibration and confirmation are map dates, the
  monitoring periods vintages whose bounding dates the maps hold (VT0007 v1.0 section 4);
* the areas: each polygon layer overlaps the forest-change raster (else a hint at a wrong CRS
  label), the project and the leakage belt lie inside the jurisdiction, the belt does not overlap
  the project, and the project covers a pixel;
* rasters that must share the forest-change grid: strata, the allocated risk map (and its metadata:
  an allocation, not a density before the adjustment; its units; a year per band), raster drivers;
* the reference sample (readable, its periods) and the NPRT v4.2 answers
  (:func:`reddplus.accounting.check_answers`);
* the tree inventory (it reads, its H-D model fits, each plot has a stratum: the stocks step on a
  10-draw Monte Carlo) and the CCB folder (as ``reddplus ccb validate`` checks it).

When the schema fails, the named files and the NPRT answers are still checked on the raw TOML; the
data wait for a schema that loads. Each problem names its config key and what to do. ``reddplus run``
calls the same check first. The check reads headers, polygons and tables only (no raster is read
whole): seconds on the sample.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reddplus.errors import ReddplusError
from reddplus.project import ProjectConfig, validate_project

__all__ = ["CheckResult", "Problem", "check_project"]


@dataclass(frozen=True)
class Problem:
    """One problem: the config key it concerns (None for the file as a whole), and what is wrong."""

    key: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check_project` found: ``ok`` when nothing; ``notes`` are facts read on the way."""

    path: Path
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    config: ProjectConfig | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"project_toml": str(self.path), "ok": self.ok, "problems": [asdict(p) for p in self.problems],
                "notes": list(self.notes)}


def _message(err: BaseException) -> str:
    """An error's text without the ``key:`` prefix a ConfigError adds (the problem carries the key)."""
    text = str(err)
    key = getattr(err, "key", None)
    return text[len(key) + 2:] if key and text.startswith(f"{key}: ") else text


def check_project(path: str | Path) -> CheckResult:
    """Check a project TOML and its inputs without computing (module docstring: what is checked).

    Parameters
    ----------
    path : path
        The project TOML.

    Returns
    -------
    CheckResult
        Every problem found; the loaded config when the schema and files hold.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return CheckResult(path, (Problem(None, f"config file not found: {path}"),))
    except tomllib.TOMLDecodeError as err:
        return CheckResult(path, (Problem(None, f"invalid TOML: {err}"),))
    cfg, found = validate_project(raw, base_dir=path.parent.resolve(), source=str(path))
    problems = [Problem(p.key, p.message) for p in found]
    notes: list[str] = []
    if cfg is not None:
        bad_files = {p.key for p in found}
        problems += _data_problems(cfg, bad_files, notes)
        problems += _stock_problems(cfg, bad_files)
        problems += _ccb_problems(cfg, bad_files)
    else:
        problems += _raw_problems(raw, path.parent.resolve(), {p.key for p in found})
        notes.append("the schema has problems: the data (rasters, polygons, tables) are checked once it loads")
    return CheckResult(path, tuple(problems), tuple(notes), cfg if not problems else None)


# --------------------------------------------------------------------------------------------- the raw TOML
#: file keys checked for existence even when the schema fails (the others wait for a valid schema)
RAW_FILE_KEYS = ("areas.project", "areas.jurisdiction", "areas.leakage_belt", "areas.protected_areas",
                 "areas.strata", "forest_change.path", "stocks.inventory", "stocks.plot_areas",
                 "activity_data.reference_sample", "baseline.allocated_risk_map", "baseline.allocated_activity_data")


def _raw_problems(raw: dict, base: Path, known: set) -> list[Problem]:
    """What can be checked on a TOML whose schema fails: the named files exist and the NPRT answers are the
    tool's, so that one call lists these with the schema's problems."""
    out = []
    for key in RAW_FILE_KEYS:
        section, name = key.split(".")
        value = raw.get(section, {}).get(name) if isinstance(raw.get(section), dict) else None
        if isinstance(value, str) and key not in known and not (base / value).exists():
            out.append(Problem(key, f"file not found: {base / value}"))
    d = raw.get("deductions") if isinstance(raw.get("deductions"), dict) else {}
    version = d.get("nprt_version", "4.2")
    if isinstance(d.get("nprt"), dict) and version in ("4.2", "4.0"):
        out += [p for p in _nprt_problems(d["nprt"], version, None) if p.key not in known]
    return out


def _nprt_problems(answers, version: str, registration_requested) -> list[Problem]:
    """The NPRT answers against the tool (:func:`reddplus.accounting.check_answers`), with the allowed ones."""
    from reddplus.accounting import check_answers

    return [Problem(p.key, p.message + (f" (allowed: {', '.join(p.allowed)})" if p.allowed
                                        and ", ".join(p.allowed) not in p.message else ""))
            for p in check_answers(answers, version=version, registration_requested=registration_requested)]


# --------------------------------------------------------------------------------------------- the data
def _stock_problems(cfg: ProjectConfig, bad_files: set) -> list[Problem]:
    """The tree inventory reads, its H-D model fits and every plot has a stratum: the stocks step on a
    10-draw Monte Carlo (a second or so), so what would stop the run stops the check."""
    st = cfg.stocks
    if st.inventory is None or any(k.startswith("stocks.") for k in bad_files):
        return []
    from reddplus.chain.steps.stocks import stratum_stocks_from_inventory

    try:
        stratum_stocks_from_inventory(st.model_copy(update={"monte_carlo": 10}), cfg.project.seed)
    except ReddplusError as err:
        table = st.plot_areas is not None and getattr(err, "path", None) == str(st.plot_areas)
        return [Problem(getattr(err, "key", None) or ("stocks.plot_areas" if table else "stocks.inventory"),
                        _message(err))]
    return []


def _ccb_problems(cfg: ProjectConfig, bad_files: set) -> list[Problem]:
    """The CCB folder, as ``reddplus ccb validate`` checks it against the project's periods."""
    if cfg.ccb is None or "ccb" in bad_files:
        return []
    from reddplus.ccb.io import validate_ccb

    return [Problem("ccb", str(p)) for p in validate_ccb(cfg.ccb, project=cfg).problems]


def _data_problems(cfg: ProjectConfig, bad_files: set, notes: list[str]) -> list[Problem]:
    from reddplus.chain.inputs import period_problems

    out: list[Problem] = []
    if any(k.startswith("forest_change.") for k in bad_files):
        return out
    try:
        fc = cfg.forest_change.open()
    except ReddplusError as err:
        key = getattr(err, "key", None) or ("forest_change.dates" if getattr(err, "column", None) == "dates"
                                            else "forest_change.path")
        return [Problem(key, _message(err).replace(" (column 'dates')", ""))]
    grid, dates = fc.grid, tuple(int(d) for d in fc.dates)
    notes.append(f"forest change: {grid.shape[1]} x {grid.shape[0]} pixels of {grid.res[0]:g} m, dates "
                 f"{', '.join(map(str, dates))}")
    out += [Problem(err.key, _message(err)) for err in period_problems(cfg, dates)]
    out += _area_problems(cfg, grid, bad_files, notes)
    out += _grid_problems(cfg, grid, bad_files)
    out += _table_problems(cfg, dates, bad_files)
    return out


def _area_problems(cfg: ProjectConfig, grid, bad_files: set, notes: list[str]) -> list[Problem]:
    """Each polygon layer overlaps the raster (a CRS hint otherwise); the project and the belt inside the
    jurisdiction, the belt around the project, not over it."""
    import geopandas as gpd
    from shapely.geometry import box

    from reddplus.raster.zones import covers_a_pixel_centre, zone_layout_problems

    out = []
    extent = box(*grid.bounds)
    shapes = {}
    for key in ("areas.project", "areas.jurisdiction", "areas.leakage_belt", "areas.protected_areas"):
        p = getattr(cfg.areas, key.split(".")[1])
        if p is None or key in bad_files:
            continue
        g = gpd.read_file(p)
        native = g.crs
        try:
            g = g.to_crs(grid.crs)
            bounds = tuple(float(v) for v in g.total_bounds)
        except (ValueError, OverflowError, ArithmeticError):     # coordinates the CRS cannot hold
            bounds = (math.nan,) * 4
        finite = all(math.isfinite(v) for v in bounds)
        geom = g.geometry.union_all() if finite else None
        if geom is None or geom.is_empty or not geom.intersects(extent):
            hint = (f"its CRS is {native.to_string()}: if the coordinates are really in the raster's CRS "
                    f"({grid.crs.to_string()}), the file's CRS label is wrong") if native != grid.crs else \
                "it lies elsewhere on the same CRS"
            where = (f"layer bounds {tuple(round(v) for v in bounds)}" if finite else
                     "its coordinates have no place in the raster's CRS")
            out.append(Problem(key, f"{p.name} does not overlap the forest-change raster (raster bounds "
                               f"{tuple(round(v) for v in grid.bounds)}, {where}); {hint}"))
            continue
        shapes[key] = geom
    prj, jur = shapes.get("areas.project"), shapes.get("areas.jurisdiction")
    if prj is not None:
        if not covers_a_pixel_centre(prj, grid):
            out.append(Problem("areas.project", "the project covers no pixel centre of the forest-change raster"))
        notes.append(f"project: {prj.area / 1e4:,.1f} ha")
        if jur is not None:
            out += [Problem(key, message) for key, message in
                    zone_layout_problems(prj, jur, shapes.get("areas.leakage_belt"), tolerance_m=max(grid.res))]
    return out


def _grid_problems(cfg: ProjectConfig, grid, bad_files: set) -> list[Problem]:
    """Rasters that must lie on the forest-change grid (CRS, transform, shape)."""
    from reddplus.raster import check_same_grid, read_grid

    rasters = {"areas.strata": cfg.areas.strata}
    if cfg.baseline.source == "allocated":
        rasters["baseline.allocated_risk_map"] = cfg.baseline.allocated_risk_map
    for name, alt in cfg.baseline.alternatives.items():
        for d, spec in alt.drivers.items():
            if getattr(spec, "kind", None) in ("raster", "slope"):
                p = getattr(spec, "path", None) or getattr(spec, "elevation", None)
                rasters[f"baseline.alternatives.{name}.drivers.{d}"] = p
    out = []
    for key, p in rasters.items():
        if p is None or any(b.startswith(key) for b in bad_files):
            continue
        try:
            check_same_grid({"forest change": grid, f"{key} ({Path(p).name})": read_grid(p)})
        except ReddplusError as err:
            out.append(Problem(key, _message(err)))
    b = cfg.baseline
    if b.source == "allocated" and b.allocated_risk_map is None:
        out.append(Problem("baseline.allocated_risk_map", "source 'allocated' needs the delivered allocated risk map"))
    elif b.source == "allocated" and "baseline.allocated_risk_map" not in bad_files:
        from reddplus.baseline.allocated import check_allocated_map

        try:
            check_allocated_map(b.allocated_risk_map, b.allocated_units)
        except ReddplusError as err:
            out.append(Problem(getattr(err, "key", None) or "baseline.allocated_risk_map", _message(err)))
    return out


def _table_problems(cfg: ProjectConfig, dates: tuple[int, ...], bad_files: set) -> list[Problem]:
    """The reference sample and the NPRT answers."""
    out = []
    ref = cfg.activity_data.reference_sample
    if ref is not None and "activity_data.reference_sample" not in bad_files:
        from reddplus.accuracy.reference import read_reference_sample

        try:
            sample = read_reference_sample(ref)
            for a, b in sample.periods:
                for y in (a, b):
                    if y not in dates:
                        out.append(Problem("activity_data.reference_sample", f"period {a}-{b} of the sample: "
                                           f"{y} is not a forest-change date ({dates[0]}-{dates[-1]})"))
        except ReddplusError as err:
            out.append(Problem("activity_data.reference_sample", _message(err)))
    d = cfg.deductions
    return out + _nprt_problems(d.nprt, d.nprt_version, d.registration_requested)
