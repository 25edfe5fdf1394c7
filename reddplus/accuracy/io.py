"""Reading accuracy-assessment tables and writing sample points (I/O at the edge).

Formats
-------
Error matrix (``read_error_matrix``), the format of Olofsson 2013 example 1::

    map\\reference,1,2,3,mapped_area
    1,97,0,3,22353
    2,3,279,18,1122543
    3,2,1,97,610228

The first column holds the map classes; then one column per reference class with the same
labels (any order); then ``mapped_area`` (pixels, hectares or proportions).

Point sample (``read_samples``): columns ``stratum,map,reference``, one row per sample unit.
Strata table (``read_strata``): columns ``stratum,size`` (size in pixels).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reddplus.errors import InputDataError, OutputExistsError

__all__ = ["ErrorMatrixTable", "read_error_matrix", "read_samples", "read_strata", "read_text_table", "write_points",
           "write_strata"]

#: columns of the exported points, in order: ``map`` is the map class and ``reference`` is left
#: empty for the interpreters, so that the filled-in CSV is a valid ``--samples`` input
POINT_COLUMNS = ["point_id", "x", "y", "lon", "lat", "stratum", "map", "reference"]

MAPPED_AREA = "mapped_area"


@dataclass(frozen=True)
class ErrorMatrixTable:
    """An error matrix read from CSV: classes (row order), counts [samples] and mapped areas."""

    classes: tuple[str, ...]
    sample_counts: np.ndarray
    mapped_area: np.ndarray
    path: str


def read_text_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a small CSV table as text (BOM stripped, ',' ';' or tab sniffed, cells and headers trimmed).

    Raises :class:`~reddplus.errors.InputDataError` naming the file when it is missing or unparsable.
    """
    p = Path(path)
    if not p.is_file():
        raise InputDataError("file not found", path=str(p))
    try:
        # utf-8-sig: files saved by spreadsheets start with a byte-order mark; sep=None sniffs ',' ';' or tab
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True, sep=None, engine="python",
                         encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as err:
        raise InputDataError(f"cannot parse CSV: {err}", path=str(p)) from err
    df.columns = [str(c).strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip())


def _label(v: str) -> str:
    """Canonical class label: '1', '1.0' and ' 1' are the same class."""
    v = str(v).strip()
    try:
        f = float(v)
    except ValueError:
        return v
    return str(int(f)) if np.isfinite(f) and f == int(f) else v


def _number(value: str, *, path: str, row: int, column: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InputDataError(f"expected a number, got {value!r}", path=path, row=row, column=column) from None
    if not np.isfinite(f):
        raise InputDataError(f"expected a finite number, got {value!r}", path=path, row=row, column=column)
    return f


def read_error_matrix(path: str | os.PathLike) -> ErrorMatrixTable:
    """Read an error matrix of sample counts with a ``mapped_area`` column.

    Raises :class:`~reddplus.errors.InputDataError` (with file, row and column) for a missing
    ``mapped_area`` column, reference columns whose labels differ from the map classes in the
    rows, duplicate labels, and empty, non-numeric, negative or non-integer counts.
    """
    path = str(path)
    df = read_text_table(path)
    if df.shape[1] < 3:
        raise InputDataError("expected a map-class column, one column per reference class and 'mapped_area'",
                             path=path)
    if MAPPED_AREA not in df.columns:
        raise InputDataError(f"missing column {MAPPED_AREA!r} (area mapped as each class: pixels with "
                             "--pixel-area-ha, hectares otherwise)", path=path, column=MAPPED_AREA)
    first = df.columns[0]
    row_labels = [_label(v) for v in df[first]]
    ref_cols = [c for c in df.columns[1:] if c != MAPPED_AREA]
    col_labels = [_label(c) for c in ref_cols]
    for kind, labels in (("map class (row)", row_labels), ("reference class (column)", col_labels)):
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise InputDataError(f"duplicate {kind} labels {dup}", path=path)
        if "" in labels:
            raise InputDataError(f"empty {kind} label", path=path)
    if set(row_labels) != set(col_labels):
        only_rows = [x for x in row_labels if x not in col_labels]
        only_cols = [x for x in col_labels if x not in row_labels]
        raise InputDataError(
            "class labels differ between rows (map) and columns (reference): "
            f"only in rows {only_rows}, only in columns {only_cols}; the error matrix must be square with the "
            "same labels (add an all-zero column for a class never observed in the reference data, or an "
            "all-zero row with mapped_area 0 for a class never mapped)", path=path)
    order = [ref_cols[col_labels.index(lab)] for lab in row_labels]
    q = len(row_labels)
    counts = np.zeros((q, q))
    area = np.zeros(q)
    for i in range(q):
        for j, col in enumerate(order):
            v = _number(df[col].iloc[i], path=path, row=i + 1, column=col)
            if v < 0 or v != int(v):
                raise InputDataError(f"sample counts must be non-negative integers, got {df[col].iloc[i]!r}",
                                     path=path, row=i + 1, column=col)
            counts[i, j] = v
        area[i] = _number(df[MAPPED_AREA].iloc[i], path=path, row=i + 1, column=MAPPED_AREA)
        if area[i] < 0:
            raise InputDataError("mapped area must be non-negative", path=path, row=i + 1, column=MAPPED_AREA)
    return ErrorMatrixTable(tuple(row_labels), counts, area, path)


def _require(df: pd.DataFrame, columns: list[str], path: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputDataError(f"missing column(s) {missing}; found {list(df.columns)}", path=path, column=missing[0])
    for c in columns:
        empty = np.flatnonzero(df[c].to_numpy() == "")
        if len(empty):
            raise InputDataError("empty value", path=path, row=int(empty[0]) + 1, column=c)


def _one_period(df: pd.DataFrame, period: str | None, path: str, what: str) -> pd.DataFrame:
    """The rows of one period of a table that may hold several (a ``period`` column, as ``accuracy design``
    writes for two or more periods): the named one, or the only one; several without a choice is an error,
    since their points or strata must not be pooled (Olofsson et al. 2014 estimate one map at a time)."""
    if "period" not in df.columns:
        if period is not None:
            raise InputDataError(f"the {what} has no period column, so period {period!r} cannot be chosen",
                                 path=path, column="period")
        return df
    labels = df["period"].astype(str).str.strip()
    periods = sorted(set(labels))
    if period is None:
        if len(periods) > 1:
            raise InputDataError(f"the {what} holds {len(periods)} periods ({', '.join(periods)}): estimate one at "
                                 "a time (--period)", path=path, column="period")
        return df
    if str(period) not in periods:
        raise InputDataError(f"the {what} has no row of period {period!r} (it holds {', '.join(periods)})",
                             path=path, column="period")
    return df[labels == str(period)].reset_index(drop=True)


def read_samples(path: str | os.PathLike, *, period: str | None = None) -> pd.DataFrame:
    """Read a point sample with columns ``stratum,map,reference`` (labels kept as text), of one ``period``
    when it holds several (:func:`_one_period`)."""
    path = str(path)
    df = read_text_table(path)
    _require(df, ["stratum", "map", "reference"], path)
    if len(df) == 0:
        raise InputDataError("the sample has no rows", path=path)
    df = _one_period(df, period, path, "sample")
    out = pd.DataFrame({c: [_label(v) for v in df[c]] for c in ("stratum", "map", "reference")})
    return out


def read_strata(path: str | os.PathLike, *, period: str | None = None) -> dict[str, float]:
    """Read a strata table with columns ``stratum,size`` [pixels], of one ``period`` when it holds several;
    returns {stratum: size}."""
    path = str(path)
    df = read_text_table(path)
    _require(df, ["stratum", "size"], path)
    df = _one_period(df, period, path, "strata table")
    sizes: dict[str, float] = {}
    for i, (s, v) in enumerate(zip(df["stratum"], df["size"])):
        lab = _label(s)
        if lab in sizes:
            raise InputDataError(f"duplicate stratum {lab!r}", path=path, row=i + 1, column="stratum")
        size = _number(v, path=path, row=i + 1, column="size")
        if size <= 0:
            raise InputDataError(f"stratum size must be positive, got {v!r}", path=path, row=i + 1, column="size")
        sizes[lab] = size
    if not sizes:
        raise InputDataError("the strata table has no rows", path=path)
    return sizes


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


def write_points(points: pd.DataFrame, crs, gpkg_path: str | os.PathLike, csv_path: str | os.PathLike | None = None,
                 *, overwrite: bool = False, layer: str = "samples") -> dict[str, str]:
    """Write sample points to a GeoPackage (raster CRS) and optionally a CSV, atomically.

    ``points`` needs columns ``point_id, x, y, lon, lat, stratum, map_class`` (and optionally
    ``period``). The outputs have the columns :data:`POINT_COLUMNS` (``map_class`` exported as
    ``map``, an empty ``reference`` for the interpreters; ``period`` after ``point_id`` when given),
    so that the interpreted CSV is a ``--samples`` input of ``reddplus accuracy estimate`` and a
    reference sample (:mod:`reddplus.accuracy.reference`). Both outputs are checked before anything is written; each is
    written to a temporary file, then renamed.
    """
    import geopandas as gpd

    targets = [Path(gpkg_path)] + ([Path(csv_path)] if csv_path is not None else [])
    for t in targets:
        if t.exists() and not overwrite:
            raise OutputExistsError(f"{t} exists; pass overwrite=True (--overwrite) to replace it")
        t.parent.mkdir(parents=True, exist_ok=True)
    columns = POINT_COLUMNS if "period" not in points.columns else POINT_COLUMNS[:1] + ["period"] + POINT_COLUMNS[1:]
    keep = [c for c in ("point_id", "period", "x", "y", "lon", "lat", "stratum", "map_class") if c in points.columns]
    table = points[keep].rename(columns={"map_class": "map"})
    table["reference"] = ""
    table = table[columns]
    written: dict[str, str] = {}
    tmps: list[Path] = []
    try:
        gdf = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["x"], table["y"]), crs=crs)
        tmp = _tmp_beside(targets[0])
        tmps.append(tmp)
        gdf.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
        if csv_path is not None:
            tmp_csv = _tmp_beside(targets[1])
            tmps.append(tmp_csv)
            table.to_csv(tmp_csv, index=False, quoting=csv.QUOTE_MINIMAL, float_format="%.10g")
        for key, tmp, t in zip(("gpkg", "csv"), tmps, targets):
            os.replace(tmp, t)
            written[key] = str(t)
    finally:
        for tmp in tmps:
            for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
                if p.exists():
                    p.unlink()
    return written


def write_strata(strata: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False) -> str:
    """Write the strata table ``stratum,size`` [pixels] (the ``--strata`` input), atomically.

    A ``period`` column of ``strata`` (reference designs of several periods) is written first.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(path)
    try:
        table = pd.DataFrame({"stratum": strata["stratum"], "size": strata["mapped_pixels"]})
        if "period" in strata.columns:
            table.insert(0, "period", strata["period"])
        table.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return str(path)
