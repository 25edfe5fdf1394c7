"""Rebuild the tables shipped in ``reddplus/data`` from the public sources (maintainers only).

Run ``python -m reddplus.data.build SHARED_DATA_DIR``. It is never imported at run time.
Every output and its license is described in ``reddplus/data/PROVENANCE.md``:

* ``gwdd_v1_taxon_region.csv.gz`` — mean wood density per (family, genus, species, region)
  aggregated from the Global Wood Density Database v1 records (Zanne et al. 2009, CC0);
* ``chave2014_eq4_draws.csv`` / ``chave2014_eq7_draws.csv`` — 1,001 posterior draws of the
  Chave et al. 2014 eq. 4 and eq. 7 coefficients, re-derived here (conjugate Bayesian linear
  regression, Jeffreys prior) from the Chave et al. 2014 harvest database;
* ``sample_inventory.csv`` / ``sample_plots.csv`` — a synthetic 6-plot demo inventory generated
  from summary statistics of the Nouragues inventory (see PROVENANCE.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
SEED = 20140601


def posterior_draws(X: np.ndarray, y: np.ndarray, names: list[str], n: int, rng) -> pd.DataFrame:
    """Draws from the posterior of y = X b + e, e ~ N(0, s^2), Jeffreys prior p(b, s) ∝ 1/s."""
    n_obs, p = X.shape
    xtx_inv = np.linalg.inv(X.T @ X)
    b_hat = xtx_inv @ X.T @ y
    resid = y - X @ b_hat
    s2 = resid @ resid / (n_obs - p)
    sigma2 = (n_obs - p) * s2 / rng.chisquare(n_obs - p, size=n)
    chol = np.linalg.cholesky(xtx_inv)
    b = b_hat + np.sqrt(sigma2)[:, None] * (rng.standard_normal((n, p)) @ chol.T)
    out = pd.DataFrame(b, columns=names)
    out["sd"] = np.sqrt(sigma2)
    return out


def build_allometry(shared: Path, rng) -> None:
    d = shared / "allometry_chave2014_feldpausch2012"
    h = pd.read_csv(d / "Chave2014_harvest_database_Allometry-database-2012m_data.csv")
    s = pd.read_csv(d / "Chave2014_sites_Allometry-database-2012n_envsub.csv")
    diameter, height = h["Trunk.diameter..cm."], h["Total.height..m."]
    wd, agb_kg = h["Wood.specific.gravity"], h["Dry.total.AGB..kg."]
    # eq. 4: trees with D, H >= 1.3 m, WD and AGB (4,015 trees, 58 sites)
    m = diameter.notna() & height.notna() & wd.notna() & agb_kg.notna() & (height >= 1.3)
    X = np.column_stack([np.ones(m.sum()), np.log(wd[m] * diameter[m] ** 2 * height[m])])
    eq4 = posterior_draws(X, np.log(agb_kg[m]).to_numpy(), ["intercept", "logagbt"], 1001, rng)
    eq4.to_csv(HERE / "chave2014_eq4_draws.csv", index=False, float_format="%.10g")
    # eq. 7: E of each site from Chave et al. 2014 eq. 6b, trees with D, WD and AGB (4,350 trees)
    s = s.assign(E=1e-3 * (0.178 * s["Temp.Seasonality..SD.100."] - 0.938 * s["CWD"]
                           - 6.61 * s["Precip.Seasonality..CV."]))
    e = h["Locality"].map(s.set_index("Locality")["E"])
    m = diameter.notna() & wd.notna() & agb_kg.notna() & e.notna()
    ld = np.log(diameter[m])
    X = np.column_stack([np.ones(m.sum()), e[m], np.log(wd[m]), ld, ld ** 2])
    eq7 = posterior_draws(X, np.log(agb_kg[m]).to_numpy(), ["intercept", "E", "logwsg", "logdbh", "logdbh2"],
                          1001, rng)
    eq7.to_csv(HERE / "chave2014_eq7_draws.csv", index=False, float_format="%.10g")


def build_wood_density(shared: Path) -> None:
    w = pd.read_csv(shared / "wood_density" / "GWDD_v1_wdData_Zanne2009.csv.gz")
    g = (w.groupby(["family", "genus", "species", "regionId"], as_index=False)
         .agg(wd_mean=("wd", "mean"), n_records=("wd", "size"), wd_sd=("wd", "std")))
    g.to_csv(HERE / "gwdd_v1_taxon_region.csv.gz", index=False, float_format="%.6g",
             compression={"method": "gzip", "mtime": 0})  # byte-reproducible


def build_sample(shared: Path, rng) -> None:
    trees = pd.read_csv(shared / "biomass_nouragues" / "NouraguesTrees.csv")
    # summary statistics only: stems per ha and a 2-parameter Weibull of (D - 10 cm)
    shape, _, scale = stats.weibull_min.fit(trees["D"] - 10.0, floc=0.0)
    stems_per_ha = len(trees) / trees["Plot"].nunique()
    w = pd.read_csv(HERE / "gwdd_v1_taxon_region.csv.gz")
    pool = w[w["regionId"] == "SouthAmericaTrop"].drop_duplicates(["genus", "species"])
    rows = []
    plots = [("P1", 1.0, "terra_firme"), ("P2", 1.0, "terra_firme"), ("P3", 1.0, "terra_firme"),
             ("P4", 0.5, "swamp"), ("P5", 0.5, "swamp"), ("P6", 0.5, "swamp")]
    for plot, area, stratum in plots:
        n = int(rng.poisson(stems_per_ha * area * (0.6 if stratum == "swamp" else 1.0)))
        d = np.round(10.0 + stats.weibull_min.rvs(shape, scale=scale, size=n, random_state=rng), 1)
        taxa = pool.sample(n, replace=True, random_state=rng)
        # log2 H-D model of NouraguesHD (BIOMASS vignette) with its residual SD; every tree has a height
        # so that ``reddplus stocks agb sample_inventory.csv`` needs no height model
        ld = np.log(d)
        h = np.exp(0.51694978 + 1.14188111 * ld - 0.09854285 * ld ** 2 + rng.normal(0, 0.224, n))
        h = np.round(np.maximum(h, 2.0), 1)
        unknown = rng.random(n) < 0.05  # a few unidentified trees exercise the fallback chain
        rows.append(pd.DataFrame({
            "plot": plot, "tree": [f"{plot}-{i + 1:04d}" for i in range(n)], "diameter": d, "height": h,
            "family": np.where(unknown, "Indet", taxa["family"].to_numpy()),
            "genus": np.where(unknown, "Indet", taxa["genus"].to_numpy()),
            "species": np.where(unknown, "indet", taxa["species"].to_numpy()),
        }))
    pd.concat(rows).to_csv(HERE / "sample_inventory.csv", index=False)
    pd.DataFrame(plots, columns=["plot", "area_ha", "stratum"]).to_csv(HERE / "sample_plots.csv", index=False)
    print(f"sample: Weibull shape {shape:.4f} scale {scale:.4f} cm, {stems_per_ha:.1f} stems/ha")


def main(shared: str) -> None:
    shared_dir = Path(shared)
    rng = np.random.default_rng(SEED)
    build_allometry(shared_dir, rng)
    build_wood_density(shared_dir)
    build_sample(shared_dir, rng)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
