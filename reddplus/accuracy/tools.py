"""Path-level tools: read the tables / raster, call the pure estimators, write outputs.

Each tool is the guts of one ``reddplus accuracy`` command minus its argument parsing.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from reddplus.accuracy.design import SampleDesign, design_sample
from reddplus.accuracy.io import read_error_matrix, read_samples, read_strata, write_points, write_strata
from reddplus.accuracy.olofsson import estimate_from_error_matrix
from reddplus.accuracy.result import AreaAccuracyEstimate
from reddplus.accuracy.stehman import estimate_from_samples
from reddplus.errors import InputDataError, OutputExistsError

log = logging.getLogger(__name__)

__all__ = ["design_reference_files", "estimate_counts_file", "estimate_samples_files", "sample_map"]


def estimate_counts_file(path: str | os.PathLike, *, pixel_area_ha: float | None = None,
                         confidence: float = 0.90) -> AreaAccuracyEstimate:
    """Olofsson et al. (2014) estimates from an error-matrix CSV (see :mod:`reddplus.accuracy.io`).

    ``mapped_area`` is in pixels when ``pixel_area_ha`` [ha] is given (areas are then returned
    in hectares), otherwise in the unit of the file (hectares expected).
    """
    _check_pixel_area(pixel_area_ha)
    table = read_error_matrix(path)
    area = table.mapped_area
    unit = "input"
    if pixel_area_ha is not None:
        area = area * pixel_area_ha
        unit = "ha"
    try:
        return estimate_from_error_matrix(table.sample_counts, area, table.classes, confidence=confidence,
                                          area_unit=unit)
    except InputDataError as err:
        if err.path is None:
            raise InputDataError(str(err), path=str(path)) from err
        raise


def estimate_samples_files(samples_path: str | os.PathLike, strata_path: str | os.PathLike, *,
                           confidence: float = 0.90, finite_population_correction: bool = True,
                           pixel_area_ha: float | None = None, period: str | None = None) -> AreaAccuracyEstimate:
    """Stehman (2014) estimates from a point-sample CSV and a strata-size CSV [pixels].

    Areas are in pixels, or in hectares when ``pixel_area_ha`` [ha] is given. Tables that hold several
    periods (a ``period`` column) are estimated for the one named by ``period`` ("START-END").
    """
    _check_pixel_area(pixel_area_ha)
    samples = read_samples(samples_path, period=period)
    sizes = read_strata(strata_path, period=period)
    try:
        est = estimate_from_samples(samples["stratum"], samples["map"], samples["reference"], sizes,
                                    confidence=confidence, finite_population_correction=finite_population_correction,
                                    area_unit="pixels")
    except InputDataError as err:
        if err.path is None:
            raise InputDataError(str(err), path=str(samples_path)) from err
        raise
    if pixel_area_ha is not None:
        est = replace(est, total_area=est.total_area * pixel_area_ha, area_unit="ha")
    return est


def _check_pixel_area(pixel_area_ha: float | None) -> None:
    if pixel_area_ha is not None and not (np.isfinite(pixel_area_ha) and pixel_area_ha > 0):
        raise InputDataError(f"pixel area must be positive, got {pixel_area_ha!r} ha", column="pixel_area_ha")


def sample_map(path: str | os.PathLike, out_gpkg: str | os.PathLike, *, expected_ua: Mapping[int, float],
               target_se: float = 0.01, min_per_stratum: int = 50, seed: int | None = None,
               n_total: int | None = None, exclude: Iterable[int] = (), default_ua: float | None = None,
               out_csv: str | os.PathLike | None = None, out_strata: str | os.PathLike | None = None,
               overwrite: bool = False, block_size: int | None = None,
               memory_limit_bytes: int = 256 * 2**20, progress=None,
               write_run_manifest: bool = True) -> tuple[SampleDesign, dict[str, str]]:
    """Design a stratified random sample of a change map and write the points (GPKG [+ CSV]).

    ``out_strata`` also writes the ``stratum,size`` table; with the interpreted points CSV it is
    the input of :func:`estimate_samples_files`. A run manifest (input hash, settings, seed,
    versions; :mod:`reddplus.manifest`) is written beside the GeoPackage as
    ``<name>.manifest.json``. Outputs are checked before the (two-pass) raster work, and
    written atomically.
    """
    manifest_path = Path(out_gpkg).with_suffix(".manifest.json") if write_run_manifest else None
    for p in (out_gpkg, out_csv, out_strata, manifest_path):
        if p is not None and os.path.exists(p) and not overwrite:
            raise OutputExistsError(f"{p} exists; pass overwrite=True (--overwrite) to replace it")
    design = design_sample(path, expected_ua, target_se=target_se, min_per_stratum=min_per_stratum, seed=seed,
                           n_total=n_total, exclude=exclude, default_ua=default_ua, block_size=block_size,
                           memory_limit_bytes=memory_limit_bytes, progress=progress)
    written = write_points(design.points, design.crs, out_gpkg, out_csv, overwrite=overwrite)
    if out_strata is not None:
        written["strata"] = write_strata(design.strata, out_strata, overwrite=overwrite)
    if manifest_path is not None:
        from reddplus.manifest import build_manifest, write_manifest

        config = {"command": "accuracy sample", "expected_ua": {str(k): v for k, v in expected_ua.items()},
                  "default_ua": default_ua, "target_se": target_se, "min_per_stratum": min_per_stratum,
                  "n_total": n_total, "exclude": sorted(int(v) for v in exclude), "block_size": block_size,
                  "memory_limit_bytes": memory_limit_bytes}
        write_manifest(build_manifest({"map": Path(path)}, config, design.seed), manifest_path, overwrite=True)
        written["manifest"] = str(manifest_path)
    return design, written


def period_seeds(seed: int, n: int) -> list[int]:
    """Independent seeds for ``n`` periods from one seed (numpy ``SeedSequence([seed, k])``)."""
    return [int(np.random.SeedSequence([int(seed), k]).generate_state(1, np.uint64)[0] % (2**63)) for k in range(n)]


def design_reference_files(forest_change, out_gpkg: str | os.PathLike, *, periods, jurisdiction,
                           project=None, leakage_belt=None, expected_ua: Mapping[str, float],
                           default_ua: float | None = None, target_se: float = 0.01, min_per_stratum: int = 50,
                           n_total: int | None = None, date_buffers: bool = False, seed: int | None = None,
                           out_csv: str | os.PathLike | None = None, out_strata: str | os.PathLike | None = None,
                           overwrite: bool = False, block_size: int | None = None, progress=None,
                           write_run_manifest: bool = True) -> tuple[list[SampleDesign], dict[str, str]]:
    """Design the reference sample of one or more periods and write its points (GPKG [+ CSV, strata]).

    The points of every period go into one file with a ``period`` column and an empty
    ``reference`` column: once interpreted, the CSV is the ``[activity_data] reference_sample`` of a
    project (:mod:`reddplus.accuracy.reference`). Each period has its own seed, derived from
    ``seed`` (recorded in the manifest ``<name>.manifest.json`` beside the GeoPackage). Outputs are
    checked before the raster work and written atomically.

    Parameters
    ----------
    forest_change : ForestChange
    periods : sequence of (start, end) [year]
    jurisdiction, project, leakage_belt : path
    expected_ua, default_ua, target_se, min_per_stratum, n_total, date_buffers
        As :func:`reddplus.accuracy.design.design_reference_sample` (``n_total`` per period).
    """
    import pandas as pd

    from reddplus.accuracy.design import design_reference_sample

    manifest_path = Path(out_gpkg).with_suffix(".manifest.json") if write_run_manifest else None
    for p in (out_gpkg, out_csv, out_strata, manifest_path):
        if p is not None and os.path.exists(p) and not overwrite:
            raise OutputExistsError(f"{p} exists; pass overwrite=True (--overwrite) to replace it")
    periods = [(int(a), int(b)) for a, b in periods]
    if not periods or len(set(periods)) != len(periods):
        raise InputDataError(f"give one or more distinct periods; got {periods}", column="period")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    designs = []
    for (a, b), s in zip(periods, period_seeds(seed, len(periods))):
        designs.append(design_reference_sample(forest_change, (a, b), jurisdiction=jurisdiction, project=project,
                                               leakage_belt=leakage_belt, expected_ua=expected_ua,
                                               default_ua=default_ua, target_se=target_se,
                                               min_per_stratum=min_per_stratum, n_total=n_total,
                                               date_buffers=date_buffers, seed=s,
                                               block_size=block_size, progress=progress))
    points = pd.concat([d.points for d in designs], ignore_index=True)
    points["point_id"] = np.arange(1, len(points) + 1)
    strata = pd.concat([d.strata.assign(period=f"{a}-{b}") for d, (a, b) in zip(designs, periods)],
                       ignore_index=True)
    written = write_points(points, designs[0].crs, out_gpkg, out_csv, overwrite=overwrite)
    if out_strata is not None:
        written["strata"] = write_strata(strata, out_strata, overwrite=overwrite)
    if manifest_path is not None:
        from reddplus.manifest import build_manifest, write_manifest

        config = {"command": "accuracy design", "periods": [list(p) for p in periods],
                  "period_seeds": [d.seed for d in designs], "expected_ua": dict(expected_ua),
                  "default_ua": default_ua, "target_se": target_se, "min_per_stratum": min_per_stratum,
                  "n_total": n_total, "date_buffers": date_buffers, "block_size": block_size,
                  "zones": {"jurisdiction": str(jurisdiction), "project": str(project) if project else None,
                            "leakage_belt": str(leakage_belt) if leakage_belt else None}}
        inputs = {f"forest_change[{i}]": Path(p) for i, p in enumerate(forest_change.paths)}
        inputs |= {k: Path(v) for k, v in (("jurisdiction", jurisdiction), ("project", project),
                                           ("leakage_belt", leakage_belt)) if v is not None}
        write_manifest(build_manifest(inputs, config, seed), manifest_path, overwrite=True)
        written["manifest"] = str(manifest_path)
    return designs, written
