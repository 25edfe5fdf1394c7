"""Design -> interpretation -> estimation, on a synthetic map whose true areas are known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner
from affine import Affine

from reddplus.cli.main import cli


def test_sample_then_estimate_recovers_true_areas(tmp_path):
    """A map with commission (20 % of mapped loss is forest) and omission (5 % of mapped forest is
    loss): pixel counting is biased; the sample-based estimates (Olofsson 2014 / Stehman 2014) must
    cover the true areas. Points are labelled from the 'truth' raster, as an interpreter would."""
    rng = np.random.default_rng(123)
    shape = (400, 300)
    mapped = np.where(rng.random(shape) < 0.5, 3, 4).astype(np.uint8)  # 3 forest, 4 non-forest
    mapped[rng.random(shape) < 0.03] = 1  # 1 loss
    truth = mapped.copy()
    truth[(mapped == 1) & (rng.random(shape) < 0.20)] = 3
    truth[(mapped == 3) & (rng.random(shape) < 0.05)] = 1
    path = tmp_path / "map.tif"
    with rasterio.open(path, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="uint8",
                       crs="EPSG:6933", transform=Affine(30, 0, 0, 0, -30, 3_000_000), nodata=0) as ds:
        ds.write(mapped, 1)
    pts, strata = tmp_path / "pts.csv", tmp_path / "strata.csv"
    runner = CliRunner()
    res = runner.invoke(cli, ["accuracy", "sample", str(path), "--expected-ua", "1=0.8", "--expected-ua", "3=0.95",
                              "--expected-ua", "4=0.99", "--target-se", "0.005", "--min-per-stratum", "100",
                              "--seed", "99", "--out", str(tmp_path / "pts.gpkg"), "--csv", str(pts),
                              "--strata-out", str(strata), "--json"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(pts)
    with rasterio.open(path) as ds:
        rows, cols = rasterio.transform.rowcol(ds.transform, table["x"], table["y"])
    table["reference"] = truth[rows, cols]
    table.to_csv(pts, index=False)

    res = runner.invoke(cli, ["accuracy", "estimate", "--samples", str(pts), "--strata", str(strata),
                              "--confidence", "0.99", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    true_p = {str(k): float((truth == k).mean()) for k in (1, 3, 4)}
    mapped_p = float((mapped == 1).mean())
    est = {c["class"]: c for c in doc["classes"]}
    for k, p in true_p.items():
        assert abs(est[k]["area_proportion"] - p) <= est[k]["area_proportion_ci_halfwidth"], k
    # the loss estimate corrects the map's bias (mapped loss over-states the truth here)
    assert abs(est["1"]["area_proportion"] - true_p["1"]) < abs(mapped_p - true_p["1"])

    # the same sample as an error matrix (strata = map classes) gives the Olofsson estimates
    counts = pd.crosstab(table["map"], table["reference"]).reindex(index=[1, 3, 4], columns=[1, 3, 4], fill_value=0)
    sizes = pd.read_csv(strata).set_index("stratum")["size"]
    counts["mapped_area"] = sizes.reindex(counts.index).to_numpy()
    counts.index.name = "map"
    counts.to_csv(tmp_path / "counts.csv")
    res = runner.invoke(cli, ["accuracy", "estimate", str(tmp_path / "counts.csv"), "--pixel-area-ha", "0.09",
                              "--json"])
    assert res.exit_code == 0, res.output
    ol = {c["class"]: c for c in json.loads(res.output)["classes"]}
    for k in true_p:
        assert ol[k]["area"] == pytest.approx(est[k]["area_proportion"] * mapped.size * 0.09, rel=1e-9)
