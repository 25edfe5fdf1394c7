"""Reading tree inventories (CSV, CSV.gz, Parquet) and plot areas, at the I/O edge.

External column names are mapped to canonical roles here; everything downstream uses
``plot``, ``tree``, ``diameter`` [cm], ``height`` [m], ``family``, ``genus``, ``species``,
``x``, ``y``. Bad input raises :class:`~reddplus.errors.InputDataError` naming the file, the
1-based data row and the column as the user wrote it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from reddplus.errors import InputDataError

log = logging.getLogger(__name__)

#: column roles a user may map with ``--column ROLE=NAME``
ROLES = ("plot", "tree", "diameter", "height", "family", "genus", "species", "x", "y")
#: other column names recognised when a role is not mapped (BIOMASS / ForestGEO conventions)
ALIASES = {"diameter": ("d", "dbh"), "height": ("h",), "plot": ("plotid",), "tree": ("treeid",)}
#: diameter units and their factor to cm
DIAMETER_UNITS = {"cm": 1.0, "mm": 0.1}
#: largest plausible stem diameter [cm]; beyond it the value (or its unit) is wrong
MAX_DIAMETER_CM = 500.0
#: largest plausible median diameter of an inventory [cm]; beyond it diameters are probably mm
MAX_MEDIAN_DIAMETER_CM = 80.0
#: breast height [m]: a tree with a DBH cannot be shorter
BREAST_HEIGHT_M = 1.3
#: tallest plausible tree [m]: the tallest measured trees are a coast redwood of 115.9 m (Hyperion,
#: California) and, in the tropics, a yellow meranti of 100.8 m (Menara, Sabah; Shenkin et al. 2019,
#: Front. For. Glob. Change 2:32, doi:10.3389/ffgc.2019.00032); a taller height is a unit or typing error
MAX_HEIGHT_M = 120.0


@dataclass(frozen=True)
class Inventory:
    """A validated tree list with canonical columns, plus where each column came from."""

    trees: pd.DataFrame
    path: str | None
    columns: dict[str, str]  # role -> external column name
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_trees(self) -> int:
        return len(self.trees)


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputDataError("file not found", path=str(path))
    if path.stat().st_size == 0:
        raise InputDataError("empty file", path=str(path))
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, sep=None if name.endswith((".txt", ".tsv")) else ",", engine="python"
                             if name.endswith((".txt", ".tsv")) else "c")
    except pd.errors.EmptyDataError as err:
        raise InputDataError("empty file", path=str(path)) from err
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputDataError(f"cannot read table: {err}", path=str(path)) from err
    if df.empty:
        raise InputDataError("the file has a header but no data rows", path=str(path))
    return df


def _resolve_columns(df: pd.DataFrame, columns: dict[str, str] | None, required: tuple[str, ...],
                     path: str | None) -> dict[str, str]:
    columns = dict(columns or {})
    for role in columns:
        if role not in ROLES:
            raise InputDataError(f"unknown column role {role!r}; roles are {', '.join(ROLES)}", path=path)
    lower = {c.lower(): c for c in df.columns}
    for role in ROLES:  # unmapped roles default to a column named like the role (case-insensitive)
        for alias in (role, *ALIASES.get(role, ())):
            if role not in columns and alias in lower and lower[alias] not in columns.values():
                columns[role] = lower[alias]
    for role, name in columns.items():
        if name not in df.columns:
            raise InputDataError(f"column {name!r} (role {role}) not in the file; columns are "
                                 f"{', '.join(map(str, df.columns))}", column=name, path=path)
    for role in required:
        if role not in columns:
            raise InputDataError(f"no column for role {role!r}: map one with --column {role}=NAME", path=path)
    return columns


def _numeric(df: pd.DataFrame, name: str, path: str | None) -> np.ndarray:
    values = pd.to_numeric(df[name], errors="coerce")
    bad = values.isna() & df[name].notna() & (df[name].astype(str).str.strip().str.upper() != "NA")
    bad &= df[name].astype(str).str.strip() != ""
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(f"not a number: {df[name].iloc[i]!r}", row=i + 1, column=name, path=path)
    return values.to_numpy(dtype=float)


def validate_trees(trees: pd.DataFrame, columns: dict[str, str], path: str | None = None) -> None:
    """Check canonical tree columns; raise InputDataError naming the first bad row and column."""
    d = trees["diameter"].to_numpy()
    dname = columns.get("diameter", "diameter")
    for test, what in ((~np.isfinite(d), "missing diameter"), (np.isfinite(d) & (d <= 0), "zero or negative diameter")):
        if test.any():
            i = int(np.flatnonzero(test)[0])
            raise InputDataError(f"{what} ({int(test.sum())} trees)", row=i + 1, column=dname, path=path)
    big = d > MAX_DIAMETER_CM
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise InputDataError(f"implausible diameter {d[i]:g} cm (> {MAX_DIAMETER_CM:g} cm) in {int(big.sum())} "
                             f"trees; are diameters in mm? declare diameter_unit='mm' (--diameter-unit mm)",
                             row=i + 1, column=dname, path=path)
    med = float(np.median(d))
    if med > MAX_MEDIAN_DIAMETER_CM:
        raise InputDataError(f"median diameter {med:g} cm is implausible (> {MAX_MEDIAN_DIAMETER_CM:g} cm); "
                             f"are diameters in mm? declare diameter_unit='mm' (--diameter-unit mm)",
                             column=dname, path=path)
    if "height" in trees:
        h = trees["height"].to_numpy()
        low = np.isfinite(h) & (h < BREAST_HEIGHT_M)
        if low.any():
            i = int(np.flatnonzero(low)[0])
            raise InputDataError(f"height {h[i]:g} m below breast height {BREAST_HEIGHT_M} m ({int(low.sum())} "
                                 f"trees)", row=i + 1, column=columns.get("height", "height"), path=path)
        tall = np.isfinite(h) & (h > MAX_HEIGHT_M)
        if tall.any():
            i = int(np.flatnonzero(tall)[0])
            raise InputDataError(f"implausible height {h[i]:g} m (> {MAX_HEIGHT_M:g} m, taller than any tree "
                                 f"measured) in {int(tall.sum())} trees; are heights in dm or cm, or mistyped?",
                                 row=i + 1, column=columns.get("height", "height"), path=path)
    if "tree" in columns:
        dup = trees.duplicated(["plot", "tree"], keep="first").to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise InputDataError(f"duplicate tree id {trees['tree'].iloc[i]!r} in plot {trees['plot'].iloc[i]!r} "
                                 f"({int(dup.sum())} duplicates)", row=i + 1, column=columns["tree"], path=path)


def inventory_from_frame(df: pd.DataFrame, columns: dict[str, str] | None = None, diameter_unit: str = "cm",
                         path: str | None = None, min_diameter: float | None = None,
                         single_plot: bool = False) -> Inventory:
    """Map, convert and validate an in-memory table (see :func:`read_inventory`)."""
    if diameter_unit not in DIAMETER_UNITS:
        raise InputDataError(f"diameter unit must be one of {', '.join(DIAMETER_UNITS)}, got {diameter_unit!r}")
    if df.empty:
        raise InputDataError("no data rows", path=path)
    cols = _resolve_columns(df, columns, ("diameter",), path)
    if "plot" not in cols and not single_plot:
        raise InputDataError(f"no plot column: every tree would be pooled into one plot; map it with --column "
                             f"plot=NAME (columns are {', '.join(map(str, df.columns))}), or declare the file one "
                             f"plot (--single-plot)", path=path)
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    out["plot"] = df[cols["plot"]].astype(str).to_numpy() if "plot" in cols else "all"
    out["tree"] = df[cols["tree"]].astype(str).to_numpy() if "tree" in cols else np.arange(1, len(df) + 1).astype(str)
    out["diameter"] = _numeric(df, cols["diameter"], path) * DIAMETER_UNITS[diameter_unit]
    out["height"] = _numeric(df, cols["height"], path) if "height" in cols else np.nan
    for role in ("family", "genus", "species"):
        out[role] = df[cols[role]].to_numpy() if role in cols else None
    for role in ("x", "y"):
        if role in cols:
            out[role] = _numeric(df, cols[role], path)
    validate_trees(out, cols, path)
    notes = []
    if min_diameter is not None:
        keep = out["diameter"].to_numpy() >= min_diameter
        notes.append(f"{int((~keep).sum())} trees below {min_diameter:g} cm excluded")
        out = out[keep].reset_index(drop=True)
        if out.empty:
            raise InputDataError(f"no tree with diameter >= {min_diameter:g} cm", path=path)
    if "height" in cols:
        n_h = int(np.isfinite(out["height"]).sum())
        notes.append(f"{n_h} of {len(out)} trees have a measured height")
    return Inventory(out, path, cols, tuple(notes))


def read_inventory(path: str | Path, columns: dict[str, str] | None = None, diameter_unit: str = "cm",
                   min_diameter: float | None = None, single_plot: bool = False) -> Inventory:
    """Read a tree list from CSV, CSV.gz or Parquet and map its columns to canonical roles.

    Parameters
    ----------
    path : path of the table
    columns : dict role -> column name (roles: plot, tree, diameter, height, family, genus,
        species, x, y); unmapped roles default to a column named like the role
    diameter_unit : {"cm", "mm"}
    min_diameter : float [cm], optional (trees below are excluded, and the count reported)
    single_plot : bool
        The file is one plot: without a plot column, its trees form the plot ``"all"``. Otherwise
        a missing plot column is an error (trees of several plots would be pooled silently).

    Returns
    -------
    Inventory
        ``trees`` with canonical columns (``diameter`` [cm], ``height`` [m], NaN when missing).

    Raises
    ------
    InputDataError
        Empty file; no plot column (unless ``single_plot``); missing, zero or negative diameters;
        diameters implausible in cm (probably mm); heights below 1.3 m or above 120 m; duplicate
        (plot, tree) ids — naming the row and column.
    """
    path = Path(path)
    return inventory_from_frame(_read_table(path), columns, diameter_unit, str(path), min_diameter, single_plot)


@dataclass(frozen=True)
class PlotAreas:
    """Plot areas [ha] and optional stratum labels."""

    area_ha: dict[str, float]
    stratum: dict[str, str] | None = None


def read_plot_areas(path: str | Path, columns: dict[str, str] | None = None) -> PlotAreas:
    """Read a plot table with columns ``plot``, ``area_ha`` [ha] and optionally ``stratum``.

    ``columns`` maps the roles plot, area_ha, stratum to the file's column names.
    """
    path = Path(path)
    df = _read_table(path)
    cols = {"plot": "plot", "area_ha": "area_ha", "stratum": "stratum", **(columns or {})}
    for role in ("plot", "area_ha"):
        if cols[role] not in df.columns:
            raise InputDataError(f"no column {cols[role]!r} (role {role}) in the plot table", column=cols[role],
                                 path=str(path))
    area = _numeric(df, cols["area_ha"], str(path))
    bad = ~np.isfinite(area) | (area <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError("missing, zero or negative plot area", row=i + 1, column=cols["area_ha"], path=str(path))
    plots = df[cols["plot"]].astype(str).to_numpy()
    dup = pd.Series(plots).duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError(f"duplicate plot {plots[i]!r}", row=i + 1, column=cols["plot"], path=str(path))
    stratum = None
    if cols["stratum"] in df.columns:
        labels = df[cols["stratum"]]
        blank = (labels.isna() | (labels.astype(str).str.strip() == "")).to_numpy()
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputDataError(f"plot {plots[i]!r} has no stratum (every plot needs one to scale the stocks up)",
                                 row=i + 1, column=cols["stratum"], path=str(path))
        stratum = dict(zip(plots, labels.astype(str).str.strip()))
    return PlotAreas(dict(zip(plots, map(float, area))), stratum)
