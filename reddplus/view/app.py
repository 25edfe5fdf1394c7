"""The map viewer of a run folder: a FastAPI app over the run's own COGs and outlines.

* ``/`` the map page (Leaflet, vendored; no CDN), ``/report/`` the run's ``report.html`` and its figures;
* ``/api/layers`` the raster and vector layers with their legends, ``/api/vectors/{name}.geojson``
  the project, leakage belt and jurisdiction outlines in EPSG:4326;
* ``/raster/...`` tiles, point values and metadata from titiler.core's ``TilerFactory`` (rio-tiler):
  reddplus writes no tile server. Its path dependency takes a layer *name* and maps it to a file of
  ``RUN_DIR/rasters`` found when the app starts, so only the run's own rasters can be read.

:func:`discover_layers` (a tool: reads the run folder) finds the layers; :func:`create_app` builds the
app; :func:`reddplus.view.serve` runs it on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
from titiler.core.factory import TilerFactory

from reddplus.errors import InputDataError

log = logging.getLogger(__name__)

# rio-tiler renders a float raster whose nodata is NaN through a masked array whose NaN fill value numpy
# cannot cast to the PNG's bytes; the masked pixels are transparent either way, so the warning says nothing
warnings.filterwarnings("ignore", message="invalid value encountered in cast", category=RuntimeWarning,
                        module=r"numpy\.ma\.core")

HERE = Path(__file__).resolve().parent
#: Leaflet 1.9.4, vendored once for the whole package (the registry's public pages use the same files)
LEAFLET_DIR = HERE.parent / "registry" / "static" / "leaflet"

#: known rasters of a run: file stem -> (label, kind, unit); other COGs of rasters/ are listed by name
KNOWN_RASTERS: dict[str, tuple[str, str, str]] = {
    "classes_vp": ("Risk classes, validity period (VT0007)", "classes", "class"),
    "density_vp": ("Deforestation density, validity period", "density", "ha/pixel/yr"),
    "forest_change": ("Forest change", "codes", "code"),
    "classes_cal": ("Risk classes, calibration period start", "classes", "class"),
    "classes_cnf": ("Risk classes, confirmation period start", "classes", "class"),
    "classes_without_planned_roads": ("Risk classes without the planned roads", "classes", "class"),
    "classes_with_planned_roads": ("Risk classes with the planned roads", "classes", "class"),
}
#: the layers shown when the page opens
DEFAULT_VISIBLE = ("forest_change", "project", "leakage_belt", "jurisdiction")
#: outlines of the run's config: config key -> (layer name, label, colour)
VECTOR_KEYS = (("areas.jurisdiction", "jurisdiction", "Jurisdiction", "#444444"),
               ("areas.leakage_belt", "leakage_belt", "Leakage belt", "#d95f02"),
               ("areas.project", "project", "Project", "#1b9e77"))
CLASS_COLORMAP = "ylorrd"
DENSITY_COLORMAP = "viridis"


@dataclass(frozen=True)
class RasterLayer:
    """One COG of ``RUN_DIR/rasters`` as the viewer draws it.

    ``kind`` is ``codes`` (the forest-change codes, drawn with the file's colour table), ``classes``
    (integer risk classes, a colour ramp over ``vmin .. vmax``) or ``density`` / ``values``
    (continuous, a colour ramp over ``vmin .. vmax``).
    """

    name: str
    path: Path
    label: str
    kind: str
    unit: str
    description: str
    vmin: float
    vmax: float
    legend: tuple[dict, ...] = ()
    tile_params: dict = field(default_factory=dict)
    bounds: tuple[float, float, float, float] | None = None    # west, south, east, north [deg]

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "kind": self.kind, "unit": self.unit,
                "description": self.description, "vmin": self.vmin, "vmax": self.vmax, "legend": list(self.legend),
                "tile_params": self.tile_params, "bounds": self.bounds, "file": f"rasters/{self.path.name}"}


@dataclass(frozen=True)
class RunLayers:
    """The layers of a run folder: rasters by name, outline files by name, the run's title."""

    run_dir: Path
    title: str
    rasters: dict[str, RasterLayer]
    vectors: dict[str, tuple[Path, str, str]]   # name -> (file, label, colour)
    notes: tuple[str, ...] = ()


def _ramp(name: str, values: list[float], vmin: float, vmax: float) -> list[str]:
    from rio_tiler.colormap import cmap

    table = cmap.get(name)
    out = []
    for v in values:
        i = 0 if vmax <= vmin else int(round((v - vmin) / (vmax - vmin) * 255))
        r, g, b, _ = table[min(255, max(0, i))]
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return out


def _raster_layer(path: Path) -> RasterLayer:
    from dataclasses import replace

    from rio_tiler.io import Reader

    with Reader(str(path)) as r:
        bounds = tuple(float(b) for b in r.get_geographic_bounds(r.tms.rasterio_geographic_crs))
    return replace(_styled_layer(path), bounds=bounds)


def _styled_layer(path: Path) -> RasterLayer:
    import rasterio
    from rasterio.enums import Resampling

    name = path.stem
    label, kind, unit = KNOWN_RASTERS.get(name, (name.replace("_", " "), "values", ""))
    with rasterio.open(path) as ds:
        desc = ds.descriptions[0] or ""
        unit = ds.units[0] or unit
        nodata = ds.nodata
        tags = ds.tags()
        step = max(1, int(math.ceil(max(ds.width, ds.height) / 1024)))
        a = ds.read(1, out_shape=(max(1, ds.height // step), max(1, ds.width // step)), masked=True,
                    resampling=Resampling.nearest)
        cmap = ds.colormap(1) if kind == "codes" else None
    vals = np.asarray(a.compressed(), dtype=float)
    vals = vals[np.isfinite(vals)]
    if kind == "codes":
        codes = sorted({int(k.split("_")[1]) for k in tags if k.startswith("CODE_")})
        legend = tuple({"value": c, "label": tags[f"CODE_{c}"],
                        "color": "#{:02x}{:02x}{:02x}".format(*cmap[c][:3])} for c in codes if c != nodata)
        return RasterLayer(name, path, label, kind, unit, desc, 0.0, float(max(codes or [0])), legend, {})
    if kind == "classes":
        vmin, vmax = (float(vals.min()), float(vals.max())) if vals.size else (1.0, 30.0)
        vmin = max(1.0, vmin)
        values = list(range(int(vmax), int(vmin) - 1, -max(1, int((vmax - vmin) // 6) or 1)))
        legend = tuple({"value": v, "label": f"class {v}" + (" (highest risk)" if v == int(vmax) else
                                                              " (lowest risk)" if v == int(vmin) else ""),
                        "color": c} for v, c in zip(values, _ramp(CLASS_COLORMAP, values, vmin, vmax)))
        return RasterLayer(name, path, label, kind, unit or "class", desc, vmin, vmax, legend,
                           {"colormap_name": CLASS_COLORMAP, "rescale": f"{vmin:g},{vmax:g}"})
    positive = vals[vals > 0]
    vmin = 0.0
    vmax = float(np.quantile(positive, 0.99)) if positive.size else 1.0
    stops = [vmin + (vmax - vmin) * t for t in (0, 0.25, 0.5, 0.75, 1.0)]
    legend = tuple({"value": v, "label": f"{v:.3g}" + (" or more" if i == 4 else ""), "color": c}
                   for i, (v, c) in enumerate(zip(stops, _ramp(DENSITY_COLORMAP, stops, vmin, vmax))))
    params = {"colormap_name": DENSITY_COLORMAP, "rescale": f"{vmin:g},{vmax:g}"}
    if nodata is None:
        params["nodata"] = "0"      # display only: zero density (no expected loss) is left transparent
    return RasterLayer(name, path, label, kind, unit, desc, vmin, vmax, legend, params)


def _config_paths(run_dir: Path) -> tuple[dict[str, Path], str, list[str]]:
    """The outline files named by the run's config (``manifest.json``: ``base_dir`` + relative paths)."""
    notes: list[str] = []
    manifest = run_dir / "manifest.json"
    if not manifest.exists():
        return {}, run_dir.name, [f"{manifest} not found: no outlines"]
    m = json.loads(manifest.read_text(encoding="utf-8"))
    cfg = m.get("config") or {}
    title = (cfg.get("project") or {}).get("name") or run_dir.name
    base = Path(m.get("base_dir") or run_dir)
    if not base.is_dir() and (run_dir / base.name).is_dir():   # a run folder moved with its project inside
        base = run_dir / base.name
    out = {}
    for key, *_ in VECTOR_KEYS:
        section, k = key.split(".")
        rel = (cfg.get(section) or {}).get(k)
        if not rel:
            continue
        p = Path(rel) if Path(rel).is_absolute() else base / rel
        if p.exists():
            out[key] = p
        else:
            notes.append(f"{key}: {p} not found")
    return out, title, notes


def discover_layers(run_dir: str | Path) -> RunLayers:
    """The rasters (``RUN_DIR/rasters/*.tif``) and outlines (from ``manifest.json``) of a run folder.

    Raises
    ------
    InputDataError
        ``run_dir`` is not a run folder (no ``rasters`` folder and no ``report.html``).
    """
    run_dir = Path(run_dir).resolve()
    if not run_dir.is_dir() or not ((run_dir / "rasters").is_dir() or (run_dir / "report.html").exists()):
        raise InputDataError("not a reddplus run folder (no rasters/ and no report.html)", path=str(run_dir))
    rasters = {}
    names = sorted((run_dir / "rasters").glob("*.tif")) if (run_dir / "rasters").is_dir() else []
    order = list(KNOWN_RASTERS)
    for p in sorted(names, key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem)):
        try:
            rasters[p.stem] = _raster_layer(p)
        except Exception as err:  # noqa: BLE001 - an unreadable raster is left out and said, not fatal
            log.warning("%s: not shown (%s)", p, err)
    files, title, notes = _config_paths(run_dir)
    vectors = {name: (files[key], label, colour) for key, name, label, colour in VECTOR_KEYS if key in files}
    return RunLayers(run_dir, title, rasters, vectors, tuple(notes))


def _geojson(path: Path) -> dict:
    import geopandas as gpd

    gdf = gpd.read_file(path)
    if gdf.crs is None:
        raise InputDataError("vector layer without a CRS", path=str(path))
    gdf = gdf.to_crs(4326)
    keep = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].dtype.kind in "iufbO"][:6]
    out = gdf[keep].astype({c: str for c in keep if gdf[c].dtype.kind == "O"})
    # about a metre of simplification: the outline of a real jurisdiction keeps its shape at any zoom
    # the viewer shows, without megabytes of vertices
    out = gpd.GeoDataFrame(out, geometry=gdf.geometry.simplify(1e-5, preserve_topology=True), crs=4326)
    return json.loads(out.to_json(drop_id=True))


def create_app(run_dir: str | Path):
    """The viewer app for ``run_dir`` (see the module docstring); layers are found once, here."""
    layers = discover_layers(run_dir)
    run = layers.run_dir
    geojson_cache: dict[str, dict] = {}

    def layer_path(layer: str = Query(..., description="a raster layer of the run (GET /api/layers)")) -> str:
        """titiler's path dependency: a layer name of this run -> its file (nothing else can be read)."""
        found = layers.rasters.get(layer)
        if found is None:
            raise HTTPException(404, f"no raster layer {layer!r} in this run; layers: {sorted(layers.rasters)}")
        return str(found.path)

    app = FastAPI(title=f"reddplus view: {layers.title}", docs_url=None, redoc_url=None)
    tiler = TilerFactory(path_dependency=layer_path, router_prefix="/raster", add_preview=False, add_part=False,
                         add_viewer=False)
    app.include_router(tiler.router, prefix="/raster", tags=["raster"])
    add_exception_handlers(app, DEFAULT_STATUS_CODES)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static/leaflet", StaticFiles(directory=str(LEAFLET_DIR)), name="leaflet")
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    if (run / "figures").is_dir():
        app.mount("/report/figures", StaticFiles(directory=str(run / "figures")), name="figures")

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request):
        return templates.TemplateResponse(request, "index.html", {
            "title": layers.title, "run_dir": str(run), "has_report": (run / "report.html").exists()})

    @app.get("/report", include_in_schema=False)
    def report_redirect():
        return RedirectResponse("/report/")

    @app.get("/report/")
    def report():
        p = run / "report.html"
        if not p.exists():
            raise HTTPException(404, "this run has no report.html")
        return FileResponse(p, media_type="text/html")

    @app.get("/api/layers")
    def api_layers():
        # the page opens on the jurisdiction (else the belt, the project, the first raster)
        found = [vector(n).get("bbox") for n in ("jurisdiction", "leakage_belt", "project") if n in layers.vectors]
        found += [r.bounds for r in layers.rasters.values()]
        bounds = next((b for b in found if b), None)
        return JSONResponse({
            "title": layers.title,
            "rasters": [r.to_dict() for r in layers.rasters.values()],
            "vectors": [{"name": n, "label": lab, "color": col} for n, (_, lab, col) in layers.vectors.items()],
            "visible": [n for n in DEFAULT_VISIBLE if n in layers.rasters or n in layers.vectors]
            or ([next(iter(layers.rasters))] if layers.rasters else []),
            "fit": bounds, "notes": list(layers.notes)})

    def vector(name: str) -> dict:
        if name not in layers.vectors:
            raise HTTPException(404, f"no outline {name!r} in this run; outlines: {sorted(layers.vectors)}")
        if name not in geojson_cache:
            gj = _geojson(layers.vectors[name][0])
            xs, ys = _coords(gj)
            gj["bbox"] = [min(xs), min(ys), max(xs), max(ys)] if xs else None
            geojson_cache[name] = gj
        return geojson_cache[name]

    @app.get("/api/vectors/{name}.geojson")
    def api_vector(name: str):
        return JSONResponse(vector(name), media_type="application/geo+json")

    return app


def _coords(gj: dict) -> tuple[list[float], list[float]]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: Any) -> None:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            xs.append(float(c[0]))
            ys.append(float(c[1]))
        elif isinstance(c, (list, tuple)):
            for x in c:
                walk(x)

    for f in gj.get("features", []):
        walk((f.get("geometry") or {}).get("coordinates", []))
    return xs, ys
