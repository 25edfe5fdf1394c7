"""The GENERATED sample's reference sample: interpreted points whose truth is known.

The sample landscape (:mod:`reddplus.sample.landscape`) knows, pixel by pixel, the year each pixel
lost its forest. This module draws the reference sample a data provider would draw on its map
(:func:`reddplus.accuracy.design.design_reference_sample`: map classes within the project, the
leakage belt and the rest of the jurisdiction, with the date-buffer strata), and labels every point
as a simulated interpreter would, with a KNOWN error process, so that the sample-based activity data
(:mod:`reddplus.accuracy.reference`) can be checked against the truth.

The simulated interpreter (documented, not real)
------------------------------------------------
It identifies forest and non-forest without error but misdates losses across a period boundary:

* at the period's start, a loss of the interval just before it (map: ``non_forest_recent``) is
  labelled ``deforestation`` with probability :math:`r_{before}`, and a loss of the period's first
  interval is labelled ``non_forest`` with probability :math:`r_{first}`;
* at the period's end, a loss of its last interval is labelled ``forest`` with probability
  :math:`r_{last}`, and a loss of the interval just after it (map: ``forest_next``) is labelled
  ``deforestation`` with probability :math:`r_{after}`.

At each boundary and in each zone the two directions move the same expected area,
:math:`f = \\rho\\,\\min(N_{before}, N_{first})` with :math:`r_{before} = f/N_{before}` and
:math:`r_{first} = f/N_{first}` (likewise at the end), with the dating error rate
:math:`\\rho` = :data:`DATING_ERROR_RATE`. No rate exceeds :math:`\\rho`; a boundary at the first or
last forest-change date has no misdating (there is no interval beyond it). The expected deforestation
of the labelled points is therefore the true deforestation in every zone, and the stratified estimate's
interval covers the truth at its nominal rate (``tests/sample/test_reference_sample.py`` checks it over
repeated samples). Symmetric per-pixel errors would not do this: a rate :math:`e` applied to the large
stable-forest stratum biases the estimate by about :math:`e\\,(F - D)`.

Files written next to the project (``project.toml`` does not name them: the run reads them once the
lead wires ``[activity_data] reference_sample``):

* ``reference_sample.csv``: ``point_id, period, x, y, lon, lat, stratum, map, reference, source``
  (``source`` = ``GENERATED`` on every row);
* ``reference_sample_truth.json``: ``GENERATED: true``, the design, the dating rates per period and
  zone, and the true deforestation [ha] of the jurisdiction, project and leakage belt per period.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["DATING_ERROR_RATE", "EXPECTED_UA", "MIN_PER_STRATUM", "dating_error_rates", "label_points",
           "true_codes", "write_generated_reference_sample"]

#: largest probability that the simulated interpreter dates a loss on the wrong side of a period boundary
DATING_ERROR_RATE = 0.2
#: conjectured user's accuracies of the design (Olofsson et al. 2014 eq. 13)
EXPECTED_UA = {"deforestation": 0.8, "forest": 0.95, "non_forest": 0.95}
#: minimum points per stratum (Olofsson et al. 2014 section 5.1.2: 50-100)
MIN_PER_STRATUM = 50
CSV_NAME = "reference_sample.csv"
TRUTH_NAME = "reference_sample_truth.json"
ZONE_NAMES = ("project", "leakage_belt", "other")


def true_codes(loss: np.ndarray, forest0: np.ndarray, n_dates: int) -> np.ndarray:
    """Canonical forest-change codes of the true process (:mod:`reddplus.landcover.forest_change`).

    Parameters
    ----------
    loss : uint8 array
        Year index of the loss (``k`` = lost in ``first_year + k``; 0 = never lost).
    forest0 : bool array
        Forest at the first date.
    n_dates : int
        Number of annual dates (code ``n_dates`` = forest at every date).
    """
    return np.where(forest0, np.where(loss > 0, loss, n_dates), 0).astype(np.uint8)


def dating_error_rates(codes: np.ndarray, zones: np.ndarray, k0: int, k1: int, n_dates: int,
                       rate: float = DATING_ERROR_RATE) -> dict[str, dict[str, float]]:
    """Misdating probabilities of the simulated interpreter per zone (balanced at each boundary).

    Parameters
    ----------
    codes : uint8 array
        True canonical codes.
    zones : int array
        1 project, 2 leakage belt, 3 other, 0 outside.
    k0, k1 : int
        Date indices of the period.
    rate : float [-]
        :math:`\\rho`, the largest rate.

    Returns
    -------
    {zone: {"before", "first", "last", "after": probability [-]}}

    Notes
    -----
    .. math:: f = \\rho\\,\\min(N_a, N_b), \\quad r_a = f / N_a, \\quad r_b = f / N_b

    for the pixels :math:`N_a, N_b` lost in the two intervals on either side of a boundary.
    """
    c = np.asarray(codes)
    z = np.asarray(zones)
    out: dict[str, dict[str, float]] = {}
    for zi, name in enumerate(ZONE_NAMES, start=1):
        inz = z == zi
        r = {"before": 0.0, "first": 0.0, "last": 0.0, "after": 0.0}
        if k0 >= 1:
            nb, nf = (int(np.count_nonzero(inz & (c == k))) for k in (k0, k0 + 1))
            if nb and nf:
                f = rate * min(nb, nf)
                r["before"], r["first"] = f / nb, f / nf
        if k1 + 1 < n_dates:
            nl, na = (int(np.count_nonzero(inz & (c == k))) for k in (k1, k1 + 1))
            if nl and na:
                f = rate * min(nl, na)
                r["last"], r["after"] = f / nl, f / na
        out[name] = r
    return out


def label_points(codes: np.ndarray, zones: Sequence[str], k0: int, k1: int, rates: Mapping[str, Mapping[str, float]],
                 rng: np.random.Generator) -> np.ndarray:
    """Reference labels of the simulated interpreter for points with true codes ``codes``.

    Parameters
    ----------
    codes : uint8 array
        True canonical code of each point.
    zones : sequence of str
        Zone of each point (``project``, ``leakage_belt``, ``other``).
    k0, k1 : int
        Date indices of the period.
    rates : {zone: {"before", "first", "last", "after"}}
        From :func:`dating_error_rates`.
    rng : numpy Generator

    Returns
    -------
    array of str
        ``deforestation``, ``forest`` or ``non_forest``.
    """
    c = np.asarray(codes).astype(np.int64)
    truth = np.where(c > k1, "forest", np.where(c > k0, "deforestation", "non_forest")).astype(object)
    u = rng.random(len(c))
    out = truth.copy()
    for i, (code, zone) in enumerate(zip(c, zones)):
        r = rates[zone]
        if code == k0 and k0 >= 1 and u[i] < r["before"]:
            out[i] = "deforestation"
        elif code == k1 + 1 and u[i] < r["after"]:
            out[i] = "deforestation"
        elif k0 < code <= k1:
            p_first = r["first"] if code == k0 + 1 else 0.0
            p_last = r["last"] if code == k1 else 0.0
            if u[i] < p_first:
                out[i] = "non_forest"
            elif u[i] < p_first + p_last:
                out[i] = "forest"
    return out


def write_generated_reference_sample(out_dir: str | os.PathLike, *, loss: np.ndarray, forest0: np.ndarray,
                                     project: np.ndarray, leakage_belt: np.ndarray, grid, first_year: int,
                                     last_year: int, periods: Sequence[tuple[int, int]], seed: int,
                                     overwrite: bool = True) -> dict[str, Path]:
    """Draw, label and write the GENERATED reference sample of the sample landscape into ``out_dir``.

    Parameters
    ----------
    loss, forest0 : arrays
        The landscape's true loss-year index and forest at ``first_year``.
    project, leakage_belt : bool arrays
        Pixel-centre masks of the project and the belt (the jurisdiction is the whole grid).
    grid : Grid
    first_year, last_year : int [year]
        The annual forest-change dates run from ``first_year`` to ``last_year``.
    periods : sequence of (start, end) [year]
        The periods to sample (e.g. the HRP and the monitoring period, as forest-change dates).
    seed : int
        The landscape seed; the design's per-period seeds and the labels derive from it.

    Returns
    -------
    dict {"reference_sample": Path, "reference_sample_truth": Path}
    """
    from reddplus.accuracy.design import design_reference_sample_arrays
    from reddplus.accuracy.tools import period_seeds
    from reddplus.raster import atomic_path

    out_dir = Path(out_dir)
    dates = tuple(range(int(first_year), int(last_year) + 1))
    n = len(dates)
    codes = true_codes(loss, forest0, n)
    zones = np.full(codes.shape, 3, np.int64)
    zones[leakage_belt] = 2
    zones[project] = 1
    area = grid.pixel_area_ha
    frames, truth_periods, designs = [], {}, {}
    for k, ((a, b), s) in enumerate(zip(periods, period_seeds(seed, len(periods)))):
        d = design_reference_sample_arrays(codes, zones, grid, dates, (a, b), zoned=True, expected_ua=EXPECTED_UA,
                                           min_per_stratum=MIN_PER_STRATUM, date_buffers=True, seed=s)
        k0, k1 = dates.index(a), dates.index(b)
        rates = dating_error_rates(codes, zones, k0, k1, n)
        pts = d.points
        zone_of = np.array(ZONE_NAMES, dtype=object)[zones[pts["row"], pts["col"]] - 1]
        labels = label_points(codes[pts["row"], pts["col"]], zone_of, k0, k1, rates,
                              np.random.default_rng([int(seed), 7, k]))
        frames.append(pts.assign(reference=labels))
        defo = (codes > k0) & (codes <= k1)
        truth_periods[f"{a}-{b}"] = {
            "years": b - a,
            "true_deforestation_ha": {"jurisdiction": float(np.count_nonzero(defo)) * area,
                                      "project": float(np.count_nonzero(defo & (zones == 1))) * area,
                                      "leakage_belt": float(np.count_nonzero(defo & (zones == 2))) * area},
            "dating_error_rates": rates,
            "points": int(len(pts)),
            "points_labelled_unlike_the_map": int(np.count_nonzero(labels != pts["map_class"].to_numpy())),
        }
        designs[f"{a}-{b}"] = {"seed": d.seed, "n_required_eq13": d.n_required,
                               "strata": d.strata[["stratum", "mapped_pixels", "n"]].to_dict(orient="records")}
    table = pd.concat(frames, ignore_index=True)
    table["point_id"] = np.arange(1, len(table) + 1)
    table = table.rename(columns={"map_class": "map"})
    table["source"] = "GENERATED"
    table = table[["point_id", "period", "x", "y", "lon", "lat", "stratum", "map", "reference", "source"]]
    truth = {
        "GENERATED": True,
        "description": "reddplus sample landscape: a generated reference sample labelled by a simulated "
                       "interpreter who misdates losses across period boundaries (reddplus.sample.reference_sample); "
                       "not real interpretation",
        "seed": int(seed), "pixel_area_ha": area, "dating_error_rate": DATING_ERROR_RATE,
        "design": {"stratification": "zones_by_map_class_with_date_buffers", "expected_ua": EXPECTED_UA,
                   "min_per_stratum": MIN_PER_STRATUM, "target_se": 0.01, "periods": designs},
        "periods": truth_periods,
    }
    csv_path, json_path = out_dir / CSV_NAME, out_dir / TRUTH_NAME
    with atomic_path(csv_path, overwrite=overwrite, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    with atomic_path(json_path, overwrite=overwrite, suffix=".json") as tmp:
        tmp.write_text(json.dumps(truth, indent=2, default=float))
    return {"reference_sample": csv_path, "reference_sample_truth": json_path}
